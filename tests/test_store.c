/* test_store.c — the SQLite store: embedded schema in sync with schema/,
 * migrations, files/models/embeddings, and the FAISS wrapper's file format
 * (round trip, damaged and truncated files refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clipsearch.h"
#include "store.h"
#include "testutil.h"
#include "vindex.h"

static void test_schema_in_sync(void)
{
    char cmd[1200];
    size_t gen_n = 0, src_n = 0;
    char *gen, *src;
    char out[700];
    snprintf(out, sizeof out, "%s/schema_sql.c", tu_tmpdir());
    snprintf(cmd, sizeof cmd, "sh '%s/scripts/gen-schema.sh' --stdout > '%s'",
             CLIPSEARCH_SOURCE_DIR, out);
    CHECK(system(cmd) == 0, "gen-schema.sh failed");
    gen = tu_read_file(out, &gen_n);
    snprintf(out, sizeof out, "%s/src/library/schema_sql.c", CLIPSEARCH_SOURCE_DIR);
    src = tu_read_file(out, &src_n);
    CHECK(gen && src && gen_n == src_n && !memcmp(gen, src, gen_n),
          "src/library/schema_sql.c is out of date: run scripts/gen-schema.sh");
    free(gen);
    free(src);
    CHECK(cs_schema_latest_version() >= 1, "no migration");
}

static void test_store(void)
{
    cs_store *s = NULL;
    clipsearch_error err = {0};
    char path[700];
    cs_model_row m, m2;
    cs_file_meta fm;
    int64_t id = 0, id2 = 0, other = 0, *ids = NULL;
    float v[4] = {1, 0, 0, 0}, got[4], *vecs = NULL;
    cs_file_row *rows = NULL;
    size_t n = 0;
    int version = 0;

    snprintf(path, sizeof path, "%s/x.sqlite3", tu_tmpdir());
    CHECK(cs_store_open(path, 1, &s, &err) != CLIPSEARCH_OK, "read-only open of nothing");
    CHECK(cs_store_open(path, 0, &s, &err) == CLIPSEARCH_OK, "%s", err.message);
    if (!s)
        return;
    CHECK(cs_store_schema_version(s, &version, &err) == CLIPSEARCH_OK &&
              version == cs_schema_latest_version(),
          "version %d", version);
    CHECK(cs_store_begin_write(s, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_store_model_get_or_add(s, "tiny", 4, "abc", NULL, &m, &err) == CLIPSEARCH_OK,
          "%s", err.message);
    CHECK(cs_store_model_get_or_add(s, "tiny", 4, "abc", NULL, &m2, &err) == CLIPSEARCH_OK &&
              m2.id == m.id,
          "same fingerprint, same model");
    CHECK(cs_store_model_get_or_add(s, "tiny", 8, "abc", NULL, &m2, &err) == CLIPSEARCH_ERR_MODEL,
          "dimension change accepted");
    memset(&fm, 0, sizeof fm);
    fm.path = "/p/a.jpg";
    fm.size = 10;
    fm.mtime_ns = 5;
    fm.hash = "h1";
    fm.width = 3;
    fm.taken = "2020-01-02 03:04:05";
    CHECK(cs_store_file_put(s, &fm, &id, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_store_embedding_put(s, id, m.id, v, 4, &err) == CLIPSEARCH_OK, "%s", err.message);
    fm.path = "/p/b.jpg";
    fm.hash = "h2";
    CHECK(cs_store_file_put(s, &fm, &id2, &err) == CLIPSEARCH_OK && id2 != id, "%s", err.message);
    fm.path = "/p2/c.jpg";
    CHECK(cs_store_file_put(s, &fm, &other, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_store_model_bump(s, m.id, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_store_commit(s, &err) == CLIPSEARCH_OK, "%s", err.message);

    CHECK(cs_store_files_under(s, "/p", m.id, &rows, &n, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    CHECK(n == 2 && !strcmp(rows[0].path, "/p/a.jpg") && rows[0].has_embedding &&
              !rows[1].has_embedding && !strcmp(rows[0].hash, "h1"),
          "files under /p: %zu", n);
    cs_file_rows_free(rows, n);
    CHECK(cs_store_file_with_hash(s, "h1", m.id, 0, &other, &err) == CLIPSEARCH_OK &&
              other == id,
          "hash lookup");
    CHECK(cs_store_file_with_hash(s, "h1", m.id, id, &other, &err) == CLIPSEARCH_OK &&
              other == 0,
          "hash lookup excluding itself");
    CHECK(cs_store_embedding_copy(s, id, id2, m.id, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_store_embedding_get(s, id2, m.id, got, 4, &err) == CLIPSEARCH_OK && got[0] == 1.0f,
          "copied embedding");
    CHECK(cs_store_embedding_get(s, id2, m.id, got, 8, &err) == CLIPSEARCH_ERR_FORMAT,
          "wrong dim accepted");
    CHECK(cs_store_file_move(s, id, "/p/moved.jpg", 10, 6, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    CHECK(cs_store_file_delete(s, id2, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_store_embeddings_all(s, m.id, 4, &ids, &vecs, &n, &err) == CLIPSEARCH_OK &&
              n == 1 && ids[0] == id,
          "embeddings after delete (cascade): %zu", n);
    free(ids);
    free(vecs);
    CHECK(cs_store_model_by_id(s, m.id, &m2, &err) == CLIPSEARCH_OK &&
              m2.generation == m.generation + 1 && m2.n_embeddings == 1,
          "generation %lld", (long long)m2.generation);
    cs_store_close(s);

    /* Re-open: no migration needed, data kept. */
    CHECK(cs_store_open(path, 1, &s, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(s && cs_store_model_find(s, "abc", &m2, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(s && cs_store_model_find(s, "zzz", &m2, &err) == CLIPSEARCH_ERR_NOT_FOUND, "find");
    cs_store_close(s);

    /* Not a database. */
    snprintf(path, sizeof path, "%s/garbage.sqlite3", tu_tmpdir());
    CHECK(tu_write_file(path, "this is not a database, not at all. really, it is not.", 55) == 0,
          "write");
    s = NULL;
    CHECK(cs_store_open(path, 0, &s, &err) != CLIPSEARCH_OK && s == NULL, "garbage accepted");
    CHECK(strstr(err.message, "garbage.sqlite3") != NULL, "message: %s", err.message);
}

/* Newton's square root: keeps this test free of libm link details. */
static float root(float x)
{
    float r = x > 1 ? x : 1;
    for (int i = 0; i < 40; i++)
        r = 0.5f * (r + x / r);
    return r;
}

static void test_vindex(void)
{
    enum { N = 300, D = 16 };
    static float vecs[N * D];
    int64_t ids[N], got_ids[5];
    float scores[5];
    cs_vindex *v = NULL, *r = NULL;
    cs_vindex_tag tag, tag2;
    clipsearch_error err = {0};
    char path[700];
    int n = 0;
    unsigned seed = 1;
    for (int i = 0; i < N; i++) {
        float norm = 0;
        ids[i] = 1000 + i * 3;
        for (int d = 0; d < D; d++) {
            seed = seed * 1103515245u + 12345u;
            vecs[i * D + d] = (float)((seed >> 8) % 1000) / 500.0f - 1.0f;
            norm += vecs[i * D + d] * vecs[i * D + d];
        }
        for (int d = 0; d < D; d++)
            vecs[i * D + d] /= root(norm);
    }
    CHECK(cs_vindex_build(NULL, D, ids, vecs, N, &v, &err) == CLIPSEARCH_OK, "%s", err.message);
    if (!v)
        return;
    CHECK(cs_vindex_count(v) == N, "count");
    CHECK(cs_vindex_search(v, vecs + 42 * D, 5, scores, got_ids, &n, &err) == CLIPSEARCH_OK &&
              n == 5 && got_ids[0] == ids[42] && scores[0] > 0.999f,
          "self search: id %lld", (long long)got_ids[0]);
    snprintf(path, sizeof path, "%s/v.faiss", tu_tmpdir());
    memset(&tag, 0, sizeof tag);
    tag.model_id = 7;
    tag.generation = 99;
    CHECK(cs_vindex_write(v, path, &tag, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_vindex_read(path, &tag2, &r, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(tag2.model_id == 7 && tag2.generation == 99 && tag2.count == N && tag2.dim == D &&
              !strcmp(tag2.factory, "Flat"),
          "tag round trip");
    if (r) {
        CHECK(cs_vindex_search(r, vecs + 7 * D, 5, scores, got_ids, &n, &err) == CLIPSEARCH_OK &&
                  got_ids[0] == ids[7],
              "search after reload");
        cs_vindex_free(r);
        r = NULL;
    }
    /* Damage anywhere -> refused. */
    {
        size_t size = 0;
        char *data = tu_read_file(path, &size);
        CHECK(data != NULL, "read");
        if (data) {
            data[size / 2] ^= 1;
            tu_write_file(path, data, size);
            CHECK(cs_vindex_read(path, &tag2, &r, &err) == CLIPSEARCH_ERR_FORMAT && !r,
                  "damaged file accepted");
            data[size / 2] ^= 1;
            tu_write_file(path, data, size - 10);
            CHECK(cs_vindex_read(path, &tag2, &r, &err) == CLIPSEARCH_ERR_FORMAT && !r,
                  "truncated file accepted");
            tu_write_file(path, "junk", 4);
            CHECK(cs_vindex_read(path, &tag2, &r, &err) == CLIPSEARCH_ERR_FORMAT && !r,
                  "junk accepted");
            free(data);
        }
        unlink(path);
        CHECK(cs_vindex_read(path, &tag2, &r, &err) == CLIPSEARCH_ERR_NOT_FOUND, "missing");
    }
    cs_vindex_free(v);
    /* Approximate types; too few vectors to train IVF -> Flat. */
    CHECK(cs_vindex_build("HNSW16", D, ids, vecs, N, &v, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    if (v) {
        CHECK(cs_vindex_search(v, vecs + 3 * D, 5, scores, got_ids, &n, &err) == CLIPSEARCH_OK &&
                  got_ids[0] == ids[3],
              "HNSW self search");
        cs_vindex_free(v);
    }
    v = NULL;
    CHECK(cs_vindex_build("IVF1024,PQ4", D, ids, vecs, N, &v, &err) == CLIPSEARCH_OK &&
              v && !strcmp(cs_vindex_factory(v), "Flat"),
          "IVF fallback: %s", err.message);
    cs_vindex_free(v);
    v = NULL;
    CHECK(cs_vindex_build("NotAnIndex", D, ids, vecs, 0, &v, &err) == CLIPSEARCH_OK, "empty");
    cs_vindex_free(v);
}

int main(void)
{
    /* Work-around until CMakeLists.txt links FAISS before OpenBLAS: pull in
     * library.o (and the model code), which keeps libopenblas for FAISS. */
    clipsearch_library_close(NULL);
    test_schema_in_sync();
    test_store();
    test_vindex();
    return tu_finish("test_store");
}
