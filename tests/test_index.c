/* test_index.c — acceptance of the indexing run through the library API
 * (issue 5), with the tiny fixture model and a copy of the fixture photos:
 * 18 photos + 5 failures with reasons; re-run encodes nothing; rename = move;
 * delete removes; touch re-encodes only it; copies reuse the embedding;
 * every photo finds itself first; a deleted or damaged FAISS file is rebuilt,
 * never trusted; a missing root removes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "clipsearch.h"
#include "testutil.h"

static const char *model_dir;
static char lib_dir[600], photos[600];

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static clipsearch_status run_index(clipsearch_index_summary *s, clipsearch_error *err)
{
    clipsearch_library *lib = NULL;
    clipsearch_index_params p = clipsearch_index_default_params();
    const char *roots[1] = {photos};
    clipsearch_status st = clipsearch_library_open(lib_dir, NULL, &lib, err);
    if (st != CLIPSEARCH_OK)
        return st;
    p.n_threads = 2;
    p.batch_size = 4;
    st = clipsearch_library_index(lib, model_dir, roots, 1, &p, s, err);
    clipsearch_library_close(lib);
    return st;
}

static int count_failure(const char *path, const char *reason, void *user)
{
    int *n = user;
    CHECK(reason && strlen(reason) > 5, "failure of %s has no reason", path);
    CHECK(strstr(path, "/broken/") != NULL, "unexpected failure %s: %s", path, reason);
    (*n)++;
    return 0;
}

/* Each photo's own embedding must find it first (score >= 0.99). */
static void check_self_search(const char *what)
{
    clipsearch_library *lib = NULL;
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library_model m;
    clipsearch_error err = {0};
    int64_t *ids = NULL, n = 0;
    float *vecs = NULL;
    int bad = 0;
    lp.read_only = 1;
    CHECK(clipsearch_library_open(lib_dir, &lp, &lib, &err) == CLIPSEARCH_OK, "%s", err.message);
    if (!lib)
        return;
    CHECK(clipsearch_library_find_model(lib, model_dir, &m, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    CHECK(clipsearch_library_get_embeddings(lib, &m, &ids, &vecs, &n, &err) == CLIPSEARCH_OK,
          "%s", err.message);
    for (int64_t i = 0; i < n; i++) {
        clipsearch_search_results *res = NULL;
        clipsearch_search_params sp = clipsearch_search_default_params();
        sp.limit = 3;
        if (clipsearch_library_search(lib, &m, vecs + i * m.dim, &sp, &res, &err) !=
            CLIPSEARCH_OK) {
            CHECK(0, "%s: search: %s", what, err.message);
            break;
        }
        /* Identical copies share the vector: any of them may come first. */
        if (res->n < 1 || res->items[0].score < 0.99f)
            bad++;
        else if (res->items[0].file_id != ids[i] &&
                 !(res->n > 1 && res->items[1].score >= res->items[0].score - 1e-5f))
            bad++;
        clipsearch_search_results_free(res);
    }
    CHECK(bad == 0, "%s: %d photos did not find themselves first", what, bad);
    clipsearch_free(ids);
    clipsearch_free(vecs);
    clipsearch_library_close(lib);
}

int main(void)
{
    clipsearch_index_summary s;
    clipsearch_error err = {0};
    clipsearch_library *lib = NULL;
    clipsearch_library_stats stats;
    char path[1200], faiss[1200];
    int n_fail = 0;

    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    tu_require_fixture("images/astronaut.jpg");
    model_dir = tu_fixture("golden/clip-tiny-b32");
    model_dir = strdup(model_dir);
    snprintf(lib_dir, sizeof lib_dir, "%s/lib", tu_tmpdir());
    snprintf(photos, sizeof photos, "%s/photos", tu_tmpdir());
    snprintf(faiss, sizeof faiss, "%s/vectors-1.faiss", lib_dir);
    CHECK(sh("cp -r '%s' '%s'", tu_fixture("images"), photos) == 0, "copy fixtures");

    /* First run: 18 photos + 5 broken. */
    CHECK(run_index(&s, &err) == CLIPSEARCH_OK, "first run: %s", err.message);
    CHECK(s.seen == 23, "seen %lld", (long long)s.seen);
    CHECK(s.encoded == 18, "encoded %lld", (long long)s.encoded);
    CHECK(s.failed == 5, "failed %lld", (long long)s.failed);
    CHECK(clipsearch_library_open(lib_dir, NULL, &lib, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(clipsearch_library_get_stats(lib, &stats, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(stats.photos == 18 && stats.failures == 5 && stats.embeddings == 18,
          "stats %lld photos %lld failures %lld embeddings", (long long)stats.photos,
          (long long)stats.failures, (long long)stats.embeddings);
    CHECK(stats.index_bytes > 0, "no FAISS file");
    CHECK(clipsearch_library_list_failures(lib, count_failure, &n_fail, &err) == CLIPSEARCH_OK,
          "%s", err.message);
    CHECK(n_fail == 5, "%d failures listed", n_fail);
    clipsearch_library_close(lib);
    lib = NULL;
    check_self_search("after first run");

    /* Re-run: nothing encoded. */
    CHECK(run_index(&s, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(s.encoded == 0 && s.unchanged == 23 && s.failed == 0,
          "re-run encoded %lld unchanged %lld failed %lld", (long long)s.encoded,
          (long long)s.unchanged, (long long)s.failed);

    /* Rename = move. */
    CHECK(sh("mv '%s/rocket.jpg' '%s/rocket_renamed.jpg'", photos, photos) == 0, "mv");
    CHECK(run_index(&s, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(s.moved == 1 && s.encoded == 0 && s.removed == 0, "rename: moved %lld encoded %lld removed %lld",
          (long long)s.moved, (long long)s.encoded, (long long)s.removed);

    /* Move into a new sub-folder too. */
    {
        char from[1200];
        snprintf(path, sizeof path, "%s/sub", photos);
        CHECK(mkdir(path, 0755) == 0, "mkdir sub");
        snprintf(from, sizeof from, "%s/motorcycle.jpg", photos);
        snprintf(path, sizeof path, "%s/sub/motorcycle.jpg", photos);
        CHECK(rename(from, path) == 0, "rename into sub");
        CHECK(run_index(&s, &err) == CLIPSEARCH_OK, "%s", err.message);
        CHECK(s.moved == 1 && s.encoded == 0, "move to sub: moved %lld encoded %lld",
              (long long)s.moved, (long long)s.encoded);
    }

    /* Delete removes. */
    snprintf(path, sizeof path, "%s/panorama.jpg", photos);
    CHECK(unlink(path) == 0, "unlink");
    CHECK(run_index(&s, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(s.removed == 1 && s.encoded == 0, "delete: removed %lld encoded %lld",
          (long long)s.removed, (long long)s.encoded);

    /* Touch re-encodes only it. */
    {
        struct timeval tv[2];
        snprintf(path, sizeof path, "%s/coffee.webp", photos);
        gettimeofday(&tv[0], NULL);
        tv[1] = tv[0];
        tv[1].tv_sec += 5;
        CHECK(utimes(path, tv) == 0, "utimes");
    }
    CHECK(run_index(&s, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(s.encoded == 1 && s.moved == 0 && s.removed == 0 && s.copied == 0,
          "touch: encoded %lld moved %lld removed %lld copied %lld", (long long)s.encoded,
          (long long)s.moved, (long long)s.removed, (long long)s.copied);

    /* Copies reuse the embedding; two identical new files encode nothing. */
    CHECK(sh("cp '%s/astronaut.jpg' '%s/astronaut_copy.jpg'", photos, photos) == 0, "cp");
    CHECK(run_index(&s, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(s.copied == 1 && s.encoded == 0, "copy: copied %lld encoded %lld",
          (long long)s.copied, (long long)s.encoded);

    /* A broken file fixed in place is re-tried and indexed. */
    CHECK(sh("cp '%s/chelsea_444.jpg' '%s/broken/not_an_image.jpg'", photos, photos) == 0, "cp");
    CHECK(sh("cp '%s/chelsea_444.jpg' '%s/chelsea_dup1.jpg'", photos, photos) == 0, "cp");
    CHECK(run_index(&s, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(s.copied == 2 && s.encoded == 0 && s.failed == 0,
          "fixed broken: copied %lld encoded %lld failed %lld", (long long)s.copied,
          (long long)s.encoded, (long long)s.failed);
    check_self_search("after changes");

    /* The FAISS file: deleted -> rebuilt; damaged -> rebuilt, not trusted. */
    CHECK(unlink(faiss) == 0, "unlink faiss");
    check_self_search("FAISS file deleted (read-only: rebuilt and saved)");
    /* Saved by the read-only search, so that the next one does not rebuild
     * it again (issue 16). */
    CHECK(access(faiss, F_OK) == 0, "a read-only search did not save the rebuilt index");
    CHECK(unlink(faiss) == 0, "unlink faiss");
    CHECK(clipsearch_library_open(lib_dir, NULL, &lib, &err) == CLIPSEARCH_OK, "%s", err.message);
    {
        clipsearch_library_model m;
        CHECK(clipsearch_library_find_model(lib, model_dir, &m, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        CHECK(clipsearch_library_sync_index(lib, &m, &err) == CLIPSEARCH_OK, "%s", err.message);
    }
    clipsearch_library_close(lib);
    lib = NULL;
    CHECK(access(faiss, F_OK) == 0, "sync did not write the index file");
    {
        size_t size = 0;
        char *data = tu_read_file(faiss, &size);
        CHECK(data && size > 400, "read faiss");
        if (data && size > 400) {
            /* Flip bytes inside the vectors: still parses, wrong results if trusted. */
            for (size_t i = size - 300; i < size - 200; i++)
                data[i] = (char)(data[i] ^ 0x5a);
            CHECK(tu_write_file(faiss, data, size) == 0, "write damaged faiss");
        }
        free(data);
        check_self_search("FAISS file damaged");
        data = tu_read_file(faiss, &size);
        if (data) {
            CHECK(tu_write_file(faiss, data, size / 2) == 0, "truncate faiss");
            free(data);
        }
        check_self_search("FAISS file truncated");
    }

    /* A missing root is reported and removes nothing. */
    {
        clipsearch_index_params p = clipsearch_index_default_params();
        char missing[700];
        const char *roots[2];
        snprintf(missing, sizeof missing, "%s/does-not-exist", tu_tmpdir());
        roots[0] = missing;
        roots[1] = photos;
        CHECK(clipsearch_library_open(lib_dir, NULL, &lib, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        CHECK(clipsearch_library_index(lib, model_dir, roots, 2, &p, &s, &err) == CLIPSEARCH_OK,
              "%s", err.message);
        CHECK(s.missing_roots == 1 && s.removed == 0 && s.encoded == 0,
              "missing root: %lld missing, %lld removed", (long long)s.missing_roots,
              (long long)s.removed);
        /* A bad model fails before touching anything. */
        CHECK(clipsearch_library_index(lib, missing, roots + 1, 1, &p, &s, &err) !=
                  CLIPSEARCH_OK,
              "a missing model was accepted");
        CHECK(strstr(err.message, "does-not-exist") != NULL, "message: %s", err.message);
        clipsearch_library_close(lib);
        lib = NULL;
    }

    /* Read-only open of a non-library fails clearly. */
    {
        clipsearch_library_params lp = clipsearch_library_default_params();
        lp.read_only = 1;
        CHECK(clipsearch_library_open(photos, &lp, &lib, &err) == CLIPSEARCH_ERR_NOT_FOUND,
              "read-only open of a folder without a library");
        CHECK(lib == NULL, "handle returned on failure");
    }
    free((void *)model_dir);
    return tu_finish("test_index");
}
