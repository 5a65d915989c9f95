/* test_index_scale.c — search at scale (issue 16) on synthetic libraries of
 * clustered embeddings (bench/synth_embeddings.h), without a model:
 *   - the automatic index choice switches where vindex.h documents it;
 *   - a missing or stale index is rebuilt once by a read-only search and
 *     saved (and the search says so when it cannot be saved);
 *   - while an indexer holds indexer.lock, a search uses the last saved
 *     index instead of rebuilding it;
 *   - an approximate library returns each photo first when searched by
 *     itself, re-ranked scores are exact cosines, and --exact equals brute
 *     force;
 *   - an index write never replaces one built from a newer generation;
 *   - searches keep working while another process adds photos and
 *     rebuilds the index;
 *   - an IVF file's lists are not hashed (they are mapped), its structure is. */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clipsearch.h"
#include "testutil.h"
#include "vindex.h"
#include "../bench/synth_embeddings.h"

static const char FP[] = "0123456789abcdef0123456789abcdef";

/* A library of n synthetic photos in a fresh folder under the test's
 * temporary folder; *m gets its model. */
static int make_lib(const char *name, int64_t n, int dim, const char *type, uint64_t seed,
                    char *dir, size_t size, clipsearch_library_model *m)
{
    clipsearch_error err = {0};
    clipsearch_library *lib = NULL;
    char db[1200];
    synth s;
    int64_t id = 0;
    int nm = 0, ok;
    snprintf(dir, size, "%s/%s", tu_tmpdir(), name);
    if (clipsearch_library_open(dir, NULL, &lib, &err) != CLIPSEARCH_OK) {
        CHECK(0, "%s", err.message);
        return -1;
    }
    clipsearch_library_close(lib);
    snprintf(db, sizeof db, "%s/library.sqlite3", dir);
    if (synth_init(&s, dim, 200, seed) != 0)
        return -1;
    ok = synth_write_library(db, "synth", FP, dim, 0, n, type, &s, &id, &err) == CLIPSEARCH_OK;
    synth_free(&s);
    CHECK(ok, "%s", err.message);
    if (!ok || clipsearch_library_open(dir, NULL, &lib, &err) != CLIPSEARCH_OK)
        return -1;
    ok = clipsearch_library_models(lib, m, 1, &nm, &err) == CLIPSEARCH_OK && nm == 1;
    clipsearch_library_close(lib);
    CHECK(ok, "model: %s", err.message);
    return ok ? 0 : -1;
}

static clipsearch_library *open_ro(const char *dir)
{
    clipsearch_library_params p = clipsearch_library_default_params();
    clipsearch_library *lib = NULL;
    clipsearch_error err = {0};
    p.read_only = 1;
    CHECK(clipsearch_library_open(dir, &p, &lib, &err) == CLIPSEARCH_OK, "%s", err.message);
    return lib;
}

/* Top `limit` results of the stored embedding of photo `id` as the query. */
static clipsearch_search_results *search_id(clipsearch_library *lib,
                                            const clipsearch_library_model *m, int64_t id,
                                            int limit, int exact)
{
    clipsearch_search_params sp = clipsearch_search_default_params();
    clipsearch_search_results *res = NULL;
    clipsearch_error err = {0};
    float q[64];
    sp.limit = limit;
    sp.exact = exact;
    if (clipsearch_library_get_embedding_by_id(lib, m, id, q, &err) != CLIPSEARCH_OK ||
        clipsearch_library_search(lib, m, q, &sp, &res, &err) != CLIPSEARCH_OK) {
        CHECK(0, "search by photo %lld: %s", (long long)id, err.message);
        return NULL;
    }
    return res;
}

static void index_path(const char *dir, const clipsearch_library_model *m, char *buf,
                       size_t size)
{
    snprintf(buf, size, "%s/vectors-%lld.faiss", dir, (long long)m->id);
}

static void test_auto_policy(void)
{
    char f[64], dir[1024];
    int np = -1;
    clipsearch_library_model m;
    clipsearch_library *lib;
    clipsearch_index_info info;
    clipsearch_error err = {0};

    cs_vindex_auto(CS_VINDEX_AUTO_FLAT_MAX - 1, f, sizeof f, &np);
    CHECK(!strcmp(f, "Flat") && np == 0, "below the flat limit: %s %d", f, np);
    cs_vindex_auto(CS_VINDEX_AUTO_FLAT_MAX, f, sizeof f, &np);
    CHECK(!strncmp(f, "IVF", 3) && strstr(f, ",SQfp16") && np == 0, "exact IVF: %s %d", f, np);
    cs_vindex_auto(CS_VINDEX_AUTO_EXACT_MAX - 1, f, sizeof f, &np);
    CHECK(!strncmp(f, "IVF", 3) && np == 0, "still exact: %s %d", f, np);
    cs_vindex_auto(CS_VINDEX_AUTO_EXACT_MAX, f, sizeof f, &np);
    CHECK(!strncmp(f, "IVF", 3) && np > 0 && np < atoi(f + 3), "approximate: %s %d", f, np);
    cs_vindex_auto(1000000, f, sizeof f, &np);
    CHECK(!strcmp(f, "IVF1024,SQfp16") && np == 16, "1M: %s %d", f, np);
    cs_vindex_auto(10000000, f, sizeof f, &np);
    CHECK(!strcmp(f, "IVF4096,SQfp16") && np == 64, "10M: %s %d", f, np);

    /* Real libraries on both sides of the first switch. */
    if (make_lib("auto-small", 1000, 16, NULL, 1, dir, sizeof dir, &m) == 0 &&
        (lib = open_ro(dir)) != NULL) {
        clipsearch_search_results *res = search_id(lib, &m, 5, 3, 0);
        CHECK(res && res->n == 3 && res->items[0].file_id == 5, "small self search");
        clipsearch_search_results_free(res);
        CHECK(clipsearch_library_index_info(lib, &m, &info, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        CHECK(!strcmp(info.setting, "auto") && !strcmp(info.built, "Flat") && info.exact &&
                  info.current && info.count == 1000,
              "small: %s %s exact %d current %d", info.setting, info.built, info.exact,
              info.current);
        clipsearch_library_close(lib);
    }
    if (make_lib("auto-large", CS_VINDEX_AUTO_FLAT_MAX, 16, NULL, 2, dir, sizeof dir, &m) == 0 &&
        (lib = open_ro(dir)) != NULL) {
        clipsearch_search_results *res = search_id(lib, &m, 77, 3, 0);
        CHECK(res && res->n == 3 && res->items[0].file_id == 77, "large self search");
        clipsearch_search_results_free(res);
        CHECK(clipsearch_library_index_info(lib, &m, &info, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        CHECK(!strcmp(info.built, "IVF128,SQfp16") && info.nlist == 128 && info.nprobe == 0 &&
                  info.exact && info.current,
              "large: %s nlist %d nprobe %d exact %d", info.built, info.nlist, info.nprobe,
              info.exact);
        clipsearch_library_close(lib);
    }
}

/* A read-only search rebuilds a missing index once, saves it, and says so
 * when it cannot. */
static void test_saved_once(void)
{
    char dir[1024], path[1200];
    clipsearch_library_model m;
    clipsearch_library *lib;
    clipsearch_search_results *res;
    struct stat a, b;
    if (make_lib("saved", 2000, 16, NULL, 3, dir, sizeof dir, &m) != 0)
        return;
    index_path(dir, &m, path, sizeof path);
    CHECK(access(path, F_OK) != 0, "no index file before the first search");
    if (!(lib = open_ro(dir)))
        return;
    res = search_id(lib, &m, 9, 1, 0);
    CHECK(res && res->n == 1 && res->items[0].file_id == 9, "first search");
    clipsearch_search_results_free(res);
    CHECK(clipsearch_library_note(lib)[0] == '\0', "note: %s", clipsearch_library_note(lib));
    clipsearch_library_close(lib);
    CHECK(stat(path, &a) == 0, "the rebuilt index was not saved");
    /* The next search reads it: the file is not written again. */
    if ((lib = open_ro(dir)) != NULL) {
        res = search_id(lib, &m, 10, 1, 0);
        CHECK(res && res->n == 1 && res->items[0].file_id == 10, "second search");
        clipsearch_search_results_free(res);
        clipsearch_library_close(lib);
    }
    CHECK(stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_mtime == b.st_mtime,
          "the index was rebuilt again");
    /* Cannot be saved (a folder is in the way): the search still works and
     * says why. */
    unlink(path);
    CHECK(mkdir(path, 0755) == 0, "mkdir");
    {
        char inside[1300];
        snprintf(inside, sizeof inside, "%s/x", path);
        CHECK(tu_write_file(inside, "x", 1) == 0, "write");
        if ((lib = open_ro(dir)) != NULL) {
            res = search_id(lib, &m, 11, 1, 0);
            CHECK(res && res->n == 1 && res->items[0].file_id == 11, "unsavable search");
            clipsearch_search_results_free(res);
            CHECK(strstr(clipsearch_library_note(lib), "could not be saved") != NULL,
                  "note: '%s'", clipsearch_library_note(lib));
            clipsearch_library_close(lib);
        }
        unlink(inside);
        rmdir(path);
    }
}

/* While indexer.lock is held, a stale index is searched as saved. */
static void test_stale_while_indexing(void)
{
    char dir[1024], db[1200], lock[1200];
    clipsearch_library_model m;
    clipsearch_library *lib;
    clipsearch_search_results *res;
    clipsearch_error err = {0};
    clipsearch_index_info info;
    synth s;
    int64_t id = 0;
    int fd;
    if (make_lib("stale", 2000, 16, NULL, 4, dir, sizeof dir, &m) != 0 || !(lib = open_ro(dir)))
        return;
    res = search_id(lib, &m, 1, 1, 0); /* builds and saves */
    clipsearch_search_results_free(res);
    clipsearch_library_close(lib);
    snprintf(lock, sizeof lock, "%s/indexer.lock", dir);
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "lock");
    /* "The indexer" commits 10 more photos (ids 2001..2010). */
    snprintf(db, sizeof db, "%s/library.sqlite3", dir);
    CHECK(synth_init(&s, 16, 200, 99) == 0, "synth");
    CHECK(synth_write_library(db, "synth", FP, 16, 5000, 10, NULL, &s, &id, &err) ==
              CLIPSEARCH_OK,
          "%s", err.message);
    synth_free(&s);
    if ((lib = open_ro(dir)) != NULL) {
        clipsearch_library_model now = m;
        CHECK(clipsearch_library_refresh_model(lib, &now, &err) == CLIPSEARCH_OK &&
                  now.n_embeddings == 2010,
              "refresh");
        res = search_id(lib, &now, 2005, 1, 0);
        CHECK(res && res->n == 1 && res->items[0].file_id != 2005,
              "the stale index found a photo added after it");
        clipsearch_search_results_free(res);
        CHECK(strstr(clipsearch_library_note(lib), "clipsearch-index is running") != NULL,
              "note: '%s'", clipsearch_library_note(lib));
        clipsearch_library_close(lib);
    }
    close(fd); /* the indexer ends (without saving: as after a crash) */
    if ((lib = open_ro(dir)) != NULL) {
        clipsearch_library_model now = m;
        clipsearch_library_refresh_model(lib, &now, &err);
        res = search_id(lib, &now, 2005, 1, 0);
        CHECK(res && res->n == 1 && res->items[0].file_id == 2005, "rebuilt after the indexer");
        clipsearch_search_results_free(res);
        CHECK(clipsearch_library_index_info(lib, &now, &info, &err) == CLIPSEARCH_OK &&
                  info.current && info.count == 2010,
              "saved after the indexer: current %d count %lld", info.current,
              (long long)info.count);
        clipsearch_library_close(lib);
    }
}

static double dot(const float *a, const float *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++)
        d += (double)a[i] * b[i];
    return d;
}

/* An approximate library: self search, exact re-ranked scores, --exact
 * equals brute force. */
static void test_approximate(void)
{
    enum { N = 2600, D = 32, Q = 20, K = 10 };
    char dir[1024], path[1200];
    clipsearch_library_model m;
    clipsearch_library *lib = NULL;
    clipsearch_index_info info;
    clipsearch_error err = {0};
    int64_t *ids = NULL, n = 0;
    float *vecs = NULL;
    int self_ok = 0, exact_ok = 0, scores_ok = 0, sorted_ok = 0, hits = 0;
    synth s;
    if (make_lib("approx", N, D, "IVF64,SQfp16", 5, dir, sizeof dir, &m) != 0)
        return;
    if (clipsearch_library_open(dir, NULL, &lib, &err) != CLIPSEARCH_OK)
        return;
    CHECK(clipsearch_library_sync_index(lib, &m, &err) == CLIPSEARCH_OK, "%s", err.message);
    clipsearch_library_close(lib);
    if (!(lib = open_ro(dir)))
        return;
    CHECK(clipsearch_library_index_info(lib, &m, &info, &err) == CLIPSEARCH_OK &&
              !strcmp(info.built, "IVF64,SQfp16") && info.nlist == 64 && info.nprobe == 16 &&
              !info.exact,
          "approximate index: %s %d/%d exact %d", info.built, info.nprobe, info.nlist,
          info.exact);
    CHECK(clipsearch_library_get_embeddings(lib, &m, &ids, &vecs, &n, &err) == CLIPSEARCH_OK &&
              n == N,
          "%s", err.message);
    /* Every photo searched by itself comes first, with score 1. */
    for (int64_t i = 0; i < n; i++) {
        clipsearch_search_results *res = search_id(lib, &m, ids[i], 1, 0);
        self_ok += res && res->n == 1 && res->items[0].file_id == ids[i] &&
                   fabsf(res->items[0].score - 1.0f) < 1e-5f;
        clipsearch_search_results_free(res);
    }
    CHECK(self_ok == N, "self search first: %d of %d", self_ok, N);
    /* Loose (text-like) queries: scores are the exact cosines, sorted, and
     * --exact gives brute force's top K. */
    CHECK(synth_init(&s, D, 200, 5) == 0, "synth");
    for (int q = 0; q < Q; q++) {
        float query[D];
        clipsearch_search_params sp = clipsearch_search_default_params();
        clipsearch_search_results *res = NULL, *ex = NULL;
        int64_t best[K];
        double bs[K];
        synth_next(&s, 2.0, query);
        for (int j = 0; j < K; j++)
            best[j] = -1, bs[j] = -2;
        for (int64_t i = 0; i < n; i++) {
            double d = dot(query, vecs + i * D, D);
            int j = K - 1;
            if (d <= bs[j])
                continue;
            while (j > 0 && bs[j - 1] < d) {
                bs[j] = bs[j - 1], best[j] = best[j - 1];
                j--;
            }
            bs[j] = d, best[j] = ids[i];
        }
        sp.limit = K;
        CHECK(clipsearch_library_search(lib, &m, query, &sp, &res, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        sp.exact = 1;
        CHECK(clipsearch_library_search(lib, &m, query, &sp, &ex, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        if (res) {
            int good = 1, order = 1;
            for (int i = 0; i < res->n; i++) {
                float e[D];
                clipsearch_library_get_embedding_by_id(lib, &m, res->items[i].file_id, e, NULL);
                good &= fabs(res->items[i].score - dot(query, e, D)) < 1e-6;
                order &= i == 0 || res->items[i - 1].score >= res->items[i].score;
                for (int j = 0; j < K; j++)
                    hits += res->items[i].file_id == best[j];
            }
            scores_ok += good && res->n == K;
            sorted_ok += order;
        }
        if (ex) {
            int same = ex->n == K;
            for (int i = 0; i < ex->n && same; i++)
                same = ex->items[i].file_id == best[i] &&
                       fabs(ex->items[i].score - bs[i]) < 1e-6;
            exact_ok += same;
        }
        clipsearch_search_results_free(res);
        clipsearch_search_results_free(ex);
    }
    synth_free(&s);
    CHECK(scores_ok == Q, "re-ranked scores exact cosines in %d of %d queries", scores_ok, Q);
    CHECK(sorted_ok == Q, "sorted in %d of %d", sorted_ok, Q);
    CHECK(exact_ok == Q, "--exact equals brute force in %d of %d queries", exact_ok, Q);
    printf("approximate IVF64,SQfp16 (16 lists), %d photos: recall@%d %.3f\n", N, K,
           (double)hits / (Q * K));
    clipsearch_library_close(lib);
    free(ids);
    free(vecs);

    /* The file: damage in the mapped lists is not hashed (and harmless: a
     * search still works), damage in what FAISS parses is refused. */
    index_path(dir, &m, path, sizeof path);
    {
        size_t size = 0;
        char *data = tu_read_file(path, &size);
        cs_vindex *v = NULL;
        cs_vindex_tag tag;
        CHECK(data && size > 4096, "read index");
        if (data && size > 4096) {
            data[size - 100] ^= 0x40;
            tu_write_file(path, data, size);
            CHECK(cs_vindex_read(path, &tag, &v, &err) == CLIPSEARCH_OK && v, "tail: %s",
                  err.message);
            if (v) {
                float sc[5];
                int64_t id[5];
                int got = 0;
                CHECK(cs_vindex_search(v, vecs ? vecs : (float[D]){1}, 5, sc, id, &got, &err) ==
                          CLIPSEARCH_OK,
                      "search damaged tail");
                cs_vindex_free(v);
                v = NULL;
            }
            data[size - 100] ^= 0x40;
            data[300] ^= 0x40; /* inside the coarse centroids */
            tu_write_file(path, data, size);
            CHECK(cs_vindex_read(path, &tag, &v, &err) == CLIPSEARCH_ERR_FORMAT && !v,
                  "damaged structure accepted");
            cs_vindex_free(v);
        }
        free(data);
    }
}

static void test_never_back(void)
{
    enum { N = 50, D = 8 };
    float vecs[N * D];
    int64_t ids[N];
    cs_vindex *v = NULL;
    cs_vindex_tag tag, got;
    clipsearch_error err = {0};
    char path[1200];
    for (int i = 0; i < N * D; i++)
        vecs[i] = (float)((i * 7919) % 13) - 6.0f;
    for (int i = 0; i < N; i++)
        ids[i] = i + 1;
    snprintf(path, sizeof path, "%s/never-back.faiss", tu_tmpdir());
    CHECK(cs_vindex_build("Flat", D, ids, vecs, N, &v, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    if (!v)
        return;
    memset(&tag, 0, sizeof tag);
    tag.model_id = 1;
    tag.generation = 5;
    CHECK(cs_vindex_write(v, path, &tag, &err) == CLIPSEARCH_OK, "%s", err.message);
    tag.generation = 3;
    CHECK(cs_vindex_write(v, path, &tag, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_vindex_read_tag(path, &got, &err) == CLIPSEARCH_OK && got.generation == 5,
          "an older index replaced a newer one: generation %lld", (long long)got.generation);
    tag.generation = 6;
    CHECK(cs_vindex_write(v, path, &tag, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(cs_vindex_read_tag(path, &got, &err) == CLIPSEARCH_OK && got.generation == 6,
          "a newer index was not written: generation %lld", (long long)got.generation);
    cs_vindex_free(v);
}

/* A child process indexes (adds photos, rebuilds and saves the index,
 * holding indexer.lock as clipsearch-index does) while this one searches
 * with fresh read-only handles, as `clipsearch` runs do. */
static void test_search_during_rebuild(void)
{
    enum { D = 16, ROUNDS = 8 };
    char dir[1024];
    clipsearch_library_model m;
    pid_t pid;
    int searches = 0, failed = 0, status = 0;
    if (make_lib("busy", 3000, D, NULL, 6, dir, sizeof dir, &m) != 0)
        return;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        char db[1200], lock[1200];
        clipsearch_library *lib = NULL;
        clipsearch_error err = {0};
        synth s;
        int64_t id;
        int fd, bad = 0;
        snprintf(db, sizeof db, "%s/library.sqlite3", dir);
        snprintf(lock, sizeof lock, "%s/indexer.lock", dir);
        synth_init(&s, D, 200, 7);
        for (int r = 0; r < ROUNDS && !bad; r++) {
            fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            flock(fd, LOCK_EX);
            bad |= synth_write_library(db, "synth", FP, D, 10000 + r * 100, 100, NULL, &s, &id,
                                       &err) != CLIPSEARCH_OK;
            bad |= clipsearch_library_open(dir, NULL, &lib, &err) != CLIPSEARCH_OK;
            if (!bad) {
                clipsearch_library_model mm = m;
                bad |= clipsearch_library_refresh_model(lib, &mm, &err) != CLIPSEARCH_OK;
                bad |= clipsearch_library_rebuild_index(lib, &mm, &err) != CLIPSEARCH_OK;
            }
            clipsearch_library_close(lib);
            lib = NULL;
            close(fd);
            usleep(50000); /* between two runs: searches see a saved index too */
        }
        if (bad)
            fprintf(stderr, "indexer child: %s\n", err.message);
        synth_free(&s);
        _exit(bad);
    }
    CHECK(pid > 0, "fork");
    if (pid <= 0)
        return;
    for (;;) {
        clipsearch_library_params p = clipsearch_library_default_params();
        clipsearch_library *lib = NULL;
        clipsearch_error err = {0};
        clipsearch_search_results *res = NULL;
        clipsearch_library_model mm = m;
        float q[D];
        int done = waitpid(pid, &status, WNOHANG) == pid;
        p.read_only = 1;
        if (clipsearch_library_open(dir, &p, &lib, &err) != CLIPSEARCH_OK ||
            clipsearch_library_refresh_model(lib, &mm, &err) != CLIPSEARCH_OK ||
            clipsearch_library_get_embedding_by_id(lib, &mm, 1 + searches % 3000, q, &err) !=
                CLIPSEARCH_OK ||
            clipsearch_library_search(lib, &mm, q, NULL, &res, &err) != CLIPSEARCH_OK ||
            res->n != 10 || res->items[0].file_id != 1 + searches % 3000) {
            if (failed++ < 3)
                fprintf(stderr, "search %d during indexing: %s (%d results)\n", searches,
                        err.message, res ? res->n : -1);
        }
        searches++;
        clipsearch_search_results_free(res);
        clipsearch_library_close(lib);
        if (done)
            break;
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the indexer child failed");
    CHECK(failed == 0 && searches > ROUNDS, "%d of %d searches failed during indexing", failed,
          searches);
    printf("%d searches while the index was rebuilt %d times: %d failed\n", searches, ROUNDS,
           failed);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* FAISS's OpenMP regions (k-means, adding vectors) leave libgomp's
     * workers spinning for a while after each; on two cores they take the
     * CPU from everything that follows (22 s instead of 3 here).  The
     * variable is read when libgomp loads, hence the re-exec. */
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
    test_auto_policy();
    test_saved_once();
    test_stale_while_indexing();
    test_approximate();
    test_never_back();
    test_search_during_rebuild();
    return tu_finish("test_index_scale");
}
