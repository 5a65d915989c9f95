/* test_index_crash.c — kill -9 while indexing, and reading while indexing.
 *
 * Generates small distinct JPEGs with libjpeg, runs the real
 * clipsearch-index (CLIPSEARCH_BIN_DIR) and SIGKILLs it at several moments;
 * after each kill PRAGMA integrity_check must be ok, and a final run must
 * complete with every photo indexed exactly once and the FAISS index in
 * agreement with SQLite.  Meanwhile searches through the library API must
 * keep working on committed data. */
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "clipsearch.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define N_PHOTOS 600
#else
#define N_PHOTOS 4000
#endif

static char lib_dir[600], photos[600], bin[1200];
static const char *model_dir;

static pid_t start_indexer(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "--db", lib_dir, "--model", model_dir, "--threads", "2", "--batch", "16",
              "--quiet", photos, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long long query_ll(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void check_integrity(const char *when, long long *n_embeddings)
{
    sqlite3 *db = NULL;
    char path[700];
    sqlite3_stmt *st = NULL;
    snprintf(path, sizeof path, "%s/library.sqlite3", lib_dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        CHECK(0, "%s: open %s: %s", when, path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return;
    }
    sqlite3_busy_timeout(db, 10000);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW &&
              !strcmp((const char *)sqlite3_column_text(st, 0), "ok"),
          "%s: integrity_check not ok", when);
    sqlite3_finalize(st);
    CHECK(query_ll(db, "SELECT count(*) FROM (SELECT file_id FROM embeddings GROUP BY "
                       "file_id, model_id HAVING count(*) > 1)") == 0,
          "%s: duplicate embeddings", when);
    CHECK(query_ll(db, "SELECT count(*) FROM files f WHERE error IS NULL AND NOT EXISTS"
                       " (SELECT 1 FROM embeddings e WHERE e.file_id = f.id)") == 0,
          "%s: files without embedding or error", when);
    *n_embeddings = query_ll(db, "SELECT count(*) FROM embeddings");
    sqlite3_close(db);
}

/* A search on whatever is committed; returns the number of vectors seen. */
static int64_t search_once(void)
{
    clipsearch_library *lib = NULL;
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library_model m;
    clipsearch_error err = {0};
    clipsearch_search_results *res = NULL;
    float q[512];
    int64_t n = -1;
    lp.read_only = 1;
    if (clipsearch_library_open(lib_dir, &lp, &lib, &err) != CLIPSEARCH_OK)
        return -1; /* no library yet */
    if (clipsearch_library_find_model(lib, model_dir, &m, &err) == CLIPSEARCH_OK &&
        m.dim <= 512) {
        clipsearch_search_params sp = clipsearch_search_default_params();
        for (int i = 0; i < m.dim; i++)
            q[i] = (float)((i * 37) % 11) - 5.0f;
        sp.limit = 5;
        if (clipsearch_library_search(lib, &m, q, &sp, &res, &err) == CLIPSEARCH_OK) {
            n = m.n_embeddings;
            CHECK(res->n == (m.n_embeddings < 5 ? (int)m.n_embeddings : 5),
                  "search during indexing returned %d of %lld", res->n,
                  (long long)m.n_embeddings);
            for (int i = 1; i < res->n; i++)
                CHECK(res->items[i].score <= res->items[i - 1].score, "scores not sorted");
            clipsearch_search_results_free(res);
        } else {
            CHECK(0, "search during indexing failed: %s", err.message);
        }
    }
    clipsearch_library_close(lib);
    return n;
}

int main(void)
{
    const char *bindir = getenv("CLIPSEARCH_BIN_DIR");
    static const int kill_after_ms[] = {100, 200, 250, 300, 350, 400};
    int mid_run_kills = 0;
    long long n_emb = 0, prev = -1;
    int searches_ok = 0, status;
    pid_t pid;

    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    model_dir = strdup(tu_fixture("golden/clip-tiny-b32"));
    snprintf(bin, sizeof bin, "%s/clipsearch-index", bindir && *bindir ? bindir : CLIPSEARCH_BUILD_DIR);
    if (access(bin, X_OK) != 0) {
        printf("SKIP: %s not built\n", bin);
        return 77;
    }
    snprintf(lib_dir, sizeof lib_dir, "%s/lib", tu_tmpdir());
    snprintf(photos, sizeof photos, "%s/photos", tu_tmpdir());
    CHECK(mkdir(photos, 0755) == 0, "mkdir");
    for (int d = 0; d < 8; d++) {
        char sub[700];
        snprintf(sub, sizeof sub, "%s/d%d", photos, d);
        CHECK(mkdir(sub, 0755) == 0, "mkdir");
    }
    for (int i = 0; i < N_PHOTOS; i++) {
        char p[800];
        snprintf(p, sizeof p, "%s/d%d/img%05d.jpg", photos, i % 8, i);
        if (tu_write_pattern_jpeg(p, 48, 40, (unsigned)i + 1) != 0) {
            CHECK(0, "cannot write %s", p);
            break;
        }
    }

    /* Kill at several moments; each time the library must be intact and
     * never lose committed work. */
    for (size_t k = 0; k < sizeof kill_after_ms / sizeof *kill_after_ms; k++) {
        int waited = 0;
        pid = start_indexer();
        CHECK(pid > 0, "fork");
        /* Wait until this run has committed something (startup is slow
         * under sanitizers), then kill at a different offset each time. */
        while (waited < 60000) {
            int64_t seen = search_once();
            if (seen >= 0)
                searches_ok++;
            if (seen > prev && seen >= 0) {
                sleep_ms(kill_after_ms[k] / 10);
                break;
            }
            sleep_ms(10);
            waited += 15;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                pid = 0;
                break;
            }
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        check_integrity("after SIGKILL", &n_emb);
        CHECK(n_emb >= prev, "committed embeddings went from %lld to %lld", prev, n_emb);
        if (n_emb > 0 && n_emb < N_PHOTOS && n_emb > prev)
            mid_run_kills++;
        printf("kill %zu: %lld photos committed\n", k, n_emb);
        prev = n_emb;
    }
    CHECK(mid_run_kills >= 2,
          "only %d kills landed while photos were being committed: the test proves nothing",
          mid_run_kills);

    /* SIGINT finishes the batch and exits 130. */
    pid = start_indexer();
    sleep_ms(900);
    kill(pid, SIGINT);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 130 || WEXITSTATUS(status) == 0),
          "SIGINT: status %d", status);
    check_integrity("after SIGINT", &n_emb);

    /* The last run completes. */
    pid = start_indexer();
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (search_once() >= 0)
            searches_ok++;
        sleep_ms(100);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "final run: status %d", status);
    check_integrity("final", &n_emb);
    CHECK(n_emb == N_PHOTOS, "%lld of %d photos indexed", n_emb, N_PHOTOS);
    CHECK(searches_ok > 0, "no search succeeded while indexing");

    /* FAISS agrees with SQLite: every vector finds its own file. */
    {
        clipsearch_library *lib = NULL;
        clipsearch_library_params lp = clipsearch_library_default_params();
        clipsearch_library_model m;
        clipsearch_error err = {0};
        int64_t *ids = NULL, n = 0;
        float *vecs = NULL;
        int bad = 0;
        lp.read_only = 1;
        CHECK(clipsearch_library_open(lib_dir, &lp, &lib, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        CHECK(lib && clipsearch_library_find_model(lib, model_dir, &m, &err) == CLIPSEARCH_OK,
              "%s", err.message);
        CHECK(m.n_embeddings == N_PHOTOS, "model has %lld", (long long)m.n_embeddings);
        CHECK(clipsearch_library_get_embeddings(lib, &m, &ids, &vecs, &n, &err) ==
                  CLIPSEARCH_OK,
              "%s", err.message);
        for (int64_t i = 0; i < n; i += 7) {
            clipsearch_search_results *res = NULL;
            clipsearch_search_params sp = clipsearch_search_default_params();
            sp.limit = 1;
            if (clipsearch_library_search(lib, &m, vecs + i * m.dim, &sp, &res, &err) !=
                    CLIPSEARCH_OK ||
                res->n != 1 || res->items[0].score < 0.99f)
                bad++;
            clipsearch_search_results_free(res);
        }
        CHECK(bad == 0, "%d vectors did not find a match in FAISS", bad);
        clipsearch_free(ids);
        clipsearch_free(vecs);
        clipsearch_library_close(lib);
    }
    /* And a re-run encodes nothing. */
    pid = start_indexer();
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "re-run: status %d", status);
    check_integrity("re-run", &n_emb);
    CHECK(n_emb == N_PHOTOS, "re-run changed the count to %lld", n_emb);
    free((void *)model_dir);
    return tu_finish("test_index_crash");
}
