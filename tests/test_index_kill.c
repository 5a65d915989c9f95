/* test_index_kill.c — SIGKILL clipsearch-index at 100+ random moments.
 *
 * A few hundred generated JPEGs; the real clipsearch-index (tiny golden
 * model, batches of 4 so there are many commits to land between) is
 * started again and again and SIGKILLed after a random delay drawn over the
 * length of a full run.  When a run completes before its kill, part of the
 * photo set is changed (photos removed, new ones, moves), so later runs have
 * work again.  After every kill:
 *   - PRAGMA integrity_check is ok, no photo has two embeddings;
 *   - every embedding committed before the kill is still there, with the
 *     same file id and the same write generation (schema 0006): nothing
 *     committed was lost or re-encoded (moves keep both);
 *   - the vector index file is absent or whole (header, hash, FAISS parse):
 *     a kill never leaves a partial file in place.
 * (24 kills under AddressSanitizer, where each start is slow.)
 * Then kills during index rebuilds (--index-type changes, so the whole FAISS
 * index is rebuilt and saved), and a final run: every photo on disk exactly
 * once, the index in agreement (each sampled vector finds itself), and
 * clipsearch_library_check healthy once its repair removed the temporary
 * files of killed writers. */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "clipsearch.h"
#include "testutil.h"
#include "vindex.h"

/* Under AddressSanitizer each indexer start costs seconds: fewer kills
 * there (the Release run of the suite does the full count). */
#if defined(__SANITIZE_ADDRESS__)
#define N_PHOTOS 160
#define KILLS_WANTED 24
#define REBUILD_KILLS 6
#else
#define N_PHOTOS 300
#define KILLS_WANTED 100
#define REBUILD_KILLS 20
#endif
#define MAX_NAMES 20000

static char lib_dir[600], photos[600], bin[1200], db_path[700], faiss_path[700];
static const char *model_dir;
static unsigned rng = 12345;
static unsigned seed_of[MAX_NAMES]; /* 0: not on disk */
static int n_names;

static unsigned next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) & 0xffffff;
}

static void name_path(int i, char *buf, size_t size)
{
    snprintf(buf, size, "%s/d%d/p%05d.jpg", photos, i % 4, i);
}

static void add_photo(void)
{
    char p[800];
    static unsigned next_seed = 1;
    if (n_names >= MAX_NAMES)
        return;
    name_path(n_names, p, sizeof p);
    seed_of[n_names] = next_seed++;
    CHECK(tu_write_pattern_jpeg(p, 32, 24, seed_of[n_names]) == 0, "cannot write %s", p);
    n_names++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static pid_t start_indexer(const char *index_type)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (index_type)
            execl(bin, bin, "--db", lib_dir, "--model", model_dir, "--threads", "1", "--batch",
                  "4", "--quiet", "--index-type", index_type, photos, (char *)NULL);
        else
            execl(bin, bin, "--db", lib_dir, "--model", model_dir, "--threads", "1", "--batch",
                  "4", "--quiet", photos, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Runs to the end; returns its duration, or -1 if it failed. */
static double run_indexer(const char *index_type)
{
    double t = now_s();
    int status;
    pid_t pid = start_indexer(index_type);
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        CHECK(0, "an uninterrupted run failed: status %d", status);
        return -1;
    }
    return now_s() - t;
}

/* Starts a run and SIGKILLs it after delay seconds.  Returns 1 when the
 * kill landed (the run was still going), 0 when it had finished (exit 0). */
static int run_and_kill(const char *index_type, double delay)
{
    int status;
    pid_t pid = start_indexer(index_type);
    double end = now_s() + delay;
    while (now_s() < end) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a run failed: status %d",
                  status);
            return 0;
        }
        sleep_s(0.002);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
        CHECK(WEXITSTATUS(status) == 0, "a run failed: status %d", status);
        return 0;
    }
    return 1;
}

/* The committed state: embedded files by id. */
typedef struct snap_row {
    int64_t id;
    int64_t generation;
    char path[128];
} snap_row;

typedef struct snapshot {
    snap_row *rows;
    int n;
} snapshot;

static long long query_ll(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Checks the database after a kill and reads its snapshot. */
static void check_db(const char *when, snapshot *out)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    out->n = 0;
    if (access(db_path, F_OK) != 0)
        return; /* killed before the library was created */
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        CHECK(0, "%s: open %s: %s", when, db_path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return;
    }
    sqlite3_busy_timeout(db, 10000);
    if (query_ll(db, "SELECT count(*) FROM sqlite_master") <= 0) {
        sqlite3_close(db); /* killed before the schema's first commit */
        return;
    }
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW &&
              !strcmp((const char *)sqlite3_column_text(st, 0), "ok"),
          "%s: integrity_check not ok", when);
    sqlite3_finalize(st);
    CHECK(query_ll(db, "SELECT count(*) FROM (SELECT file_id FROM embeddings GROUP BY "
                       "file_id, model_id HAVING count(*) > 1)") == 0,
          "%s: duplicate embeddings", when);
    CHECK(query_ll(db, "SELECT count(*) FROM embeddings e WHERE NOT EXISTS (SELECT 1 FROM "
                       "files f WHERE f.id = e.file_id)") == 0,
          "%s: embeddings without a file", when);
    if (sqlite3_prepare_v2(db,
                           "SELECT f.id, e.generation, f.path FROM files f JOIN embeddings e"
                           " ON e.file_id = f.id ORDER BY f.id",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW && out->n < MAX_NAMES) {
            snap_row *r = &out->rows[out->n++];
            r->id = sqlite3_column_int64(st, 0);
            r->generation = sqlite3_column_int64(st, 1);
            snprintf(r->path, sizeof r->path, "%s", (const char *)sqlite3_column_text(st, 2));
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static const snap_row *find_id(const snapshot *s, int64_t id)
{
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (s->rows[mid].id == id)
            return &s->rows[mid];
        if (s->rows[mid].id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* Everything in before (except ids in skip: photos removed from disk,
 * whose removal may be committed by any later run) is in after, unchanged. */
static int compare(const char *when, const snapshot *before, const snapshot *after,
                   const unsigned char *skip)
{
    int lost = 0, reencoded = 0;
    for (int i = 0; i < before->n; i++) {
        const snap_row *b = &before->rows[i], *a;
        if (skip && b->id < MAX_NAMES * 4 && skip[b->id])
            continue;
        if (!(a = find_id(after, b->id)))
            lost++;
        else if (a->generation != b->generation)
            reencoded++;
    }
    CHECK(lost == 0, "%s: %d committed photos lost", when, lost);
    CHECK(reencoded == 0, "%s: %d committed photos re-encoded", when, reencoded);
    return lost + reencoded;
}

/* The vector index file is absent or whole. */
static void check_faiss(const char *when)
{
    cs_vindex_tag tag;
    cs_vindex *v = NULL;
    clipsearch_error err = {0};
    clipsearch_status r = cs_vindex_read(faiss_path, &tag, &v, &err);
    CHECK(r == CLIPSEARCH_OK || r == CLIPSEARCH_ERR_NOT_FOUND,
          "%s: the vector index file is damaged: %s", when, err.message);
    cs_vindex_free(v);
}

/* Changes the photo set after a completed run: a third removed, a tenth of
 * the rest moved (renamed, often into another folder), as many new ones as
 * removed. */
static void churn(unsigned char *skip, const snapshot *s)
{
    int removed = 0, n = n_names; /* not the names this loop adds */
    for (int i = 0; i < n; i++) {
        char p[800], q[800];
        if (!seed_of[i])
            continue;
        name_path(i, p, sizeof p);
        if (next_rand() % 3 == 0) {
            for (int k = 0; k < s->n; k++)
                if (!strcmp(s->rows[k].path + strlen(s->rows[k].path) - 10, p + strlen(p) - 10) &&
                    s->rows[k].id < MAX_NAMES * 4)
                    skip[s->rows[k].id] = 1;
            unlink(p);
            seed_of[i] = 0;
            removed++;
        } else if (next_rand() % 10 == 0 && n_names < MAX_NAMES) {
            /* a move: same content under a new name */
            name_path(n_names, q, sizeof q);
            CHECK(rename(p, q) == 0, "rename %s", p);
            seed_of[n_names++] = seed_of[i];
            seed_of[i] = 0;
        }
    }
    for (int i = 0; i < removed; i++)
        add_photo();
}

static void final_checks(void)
{
    clipsearch_library *lib = NULL;
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library_model m;
    clipsearch_error err = {0};
    clipsearch_check_params cp = clipsearch_check_default_params();
    clipsearch_check_report rep;
    int64_t *ids = NULL, n = 0;
    float *vecs = NULL;
    int bad = 0, on_disk = 0;
    snapshot s;
    sqlite3 *db = NULL;

    s.rows = calloc(MAX_NAMES, sizeof *s.rows);
    check_db("final", &s);
    for (int i = 0; i < n_names; i++)
        on_disk += seed_of[i] != 0;
    CHECK(s.n == on_disk, "final: %d photos embedded, %d on disk", s.n, on_disk);
    /* Exactly the photos on disk: each path once. */
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        CHECK(query_ll(db, "SELECT count(*) FROM files") == on_disk,
              "final: %lld file rows for %d photos", query_ll(db, "SELECT count(*) FROM files"),
              on_disk);
        CHECK(query_ll(db, "SELECT count(*) FROM files WHERE error IS NOT NULL") == 0,
              "final: failures recorded");
    }
    sqlite3_close(db);
    for (int i = 0; i < n_names; i++) {
        char p[800];
        int found = 0;
        if (!seed_of[i])
            continue;
        name_path(i, p, sizeof p);
        for (int k = 0; k < s.n && !found; k++)
            found = !strcmp(s.rows[k].path + strlen(s.rows[k].path) - 10, p + strlen(p) - 10);
        if (!found)
            bad++;
    }
    CHECK(bad == 0, "final: %d photos on disk not in the library", bad);
    free(s.rows);

    /* The vector index agrees: each sampled vector finds itself. */
    bad = 0;
    lp.read_only = 1;
    CHECK(clipsearch_library_open(lib_dir, &lp, &lib, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    CHECK(lib && clipsearch_library_find_model(lib, model_dir, &m, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    CHECK(lib && clipsearch_library_get_embeddings(lib, &m, &ids, &vecs, &n, &err) ==
                     CLIPSEARCH_OK,
          "%s", err.message);
    for (int64_t i = 0; i < n; i += 5) {
        clipsearch_search_results *res = NULL;
        clipsearch_search_params sp = clipsearch_search_default_params();
        sp.limit = 1;
        if (clipsearch_library_search(lib, &m, vecs + i * m.dim, &sp, &res, &err) !=
                CLIPSEARCH_OK ||
            res->n != 1 || res->items[0].score < 0.999f)
            bad++;
        clipsearch_search_results_free(res);
    }
    CHECK(bad == 0, "final: %d sampled vectors not found in the vector index", bad);
    clipsearch_free(ids);
    clipsearch_free(vecs);
    clipsearch_library_close(lib);

    /* clipsearch check: only leftovers of killed writers may need a repair. */
    CHECK(clipsearch_library_check(lib_dir, &cp, &rep, &err) == CLIPSEARCH_OK, "check: %s",
          err.message);
    CHECK(rep.verdict == CLIPSEARCH_CHECK_HEALTHY || rep.verdict == CLIPSEARCH_CHECK_NEEDS_REPAIR,
          "check after the kills: verdict %d (%s)", rep.verdict, rep.message);
    CHECK(rep.missing_files == 0 && rep.bad_embeddings == 0 && rep.orphan_rows == 0 &&
              rep.database_ok,
          "check after the kills found damage: %s", rep.message);
    printf("check before repair: verdict %d, %lld bad index files (%s)\n", rep.verdict,
           (long long)rep.index_files_bad, rep.message);
    cp.repair = 1;
    CHECK(clipsearch_library_check(lib_dir, &cp, &rep, &err) == CLIPSEARCH_OK, "repair: %s",
          err.message);
    CHECK(rep.rows_removed == 0, "the repair removed %lld rows", (long long)rep.rows_removed);
    cp.repair = 0;
    CHECK(clipsearch_library_check(lib_dir, &cp, &rep, &err) == CLIPSEARCH_OK &&
              rep.verdict == CLIPSEARCH_CHECK_HEALTHY,
          "check after the repair: verdict %d (%s)", rep.verdict, rep.message);
}

int main(void)
{
    const char *bindir = getenv("CLIPSEARCH_BIN_DIR");
    snapshot prev, cur;
    unsigned char *skip = calloc(MAX_NAMES * 4, 1);
    int landed = 0, finished = 0, attempts = 0, rebuild_landed = 0, mid_run = 0;
    double full, first_full, t0 = now_s();
    char scratch[700];

    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    model_dir = strdup(tu_fixture("golden/clip-tiny-b32"));
    snprintf(bin, sizeof bin, "%s/clipsearch-index",
             bindir && *bindir ? bindir : CLIPSEARCH_BUILD_DIR);
    if (access(bin, X_OK) != 0) {
        printf("SKIP: %s not built\n", bin);
        return 77;
    }
    if (getenv("CLIPSEARCH_KILL_SEED"))
        rng = (unsigned)strtoul(getenv("CLIPSEARCH_KILL_SEED"), NULL, 10);
    else
        rng = (unsigned)time(NULL);
    printf("seed %u (set CLIPSEARCH_KILL_SEED to replay)\n", rng);
    snprintf(photos, sizeof photos, "%s/photos", tu_tmpdir());
    CHECK(mkdir(photos, 0755) == 0, "mkdir");
    for (int d = 0; d < 4; d++) {
        char sub[700];
        snprintf(sub, sizeof sub, "%s/d%d", photos, d);
        CHECK(mkdir(sub, 0755) == 0, "mkdir");
    }
    for (int i = 0; i < N_PHOTOS; i++)
        add_photo();

    /* How long a full run takes, on a scratch library. */
    snprintf(lib_dir, sizeof lib_dir, "%s/calibration", tu_tmpdir());
    full = run_indexer(NULL);
    snprintf(scratch, sizeof scratch, "rm -rf '%s'", lib_dir);
    CHECK(system(scratch) == 0, "rm");
    printf("a full run of %d photos takes %.2f s\n", N_PHOTOS, full);
    first_full = full;
    if (full <= 0)
        return tu_finish("test_index_kill");

    snprintf(lib_dir, sizeof lib_dir, "%s/lib", tu_tmpdir());
    snprintf(db_path, sizeof db_path, "%s/library.sqlite3", lib_dir);
    snprintf(faiss_path, sizeof faiss_path, "%s/vectors-1.faiss", lib_dir);
    prev.rows = calloc(MAX_NAMES, sizeof *prev.rows);
    cur.rows = calloc(MAX_NAMES, sizeof *cur.rows);
    prev.n = 0;

    /* Until 100 kills landed, at least a quarter of them after their run had
     * committed a batch (how many do depends on the machine's timing). */
    while ((landed < KILLS_WANTED || mid_run < KILLS_WANTED / 4) &&
           attempts < 8 * KILLS_WANTED && tu_failures == 0) {
        char when[64];
        /* A moment within the length of the last run that finished (runs
         * after a change of the photo set have less to do than the first). */
        double u = (double)(next_rand() % 1000) / 1000.0, delay, t_run;
        /* Three kills in four fall in the later 70% of the window, where a
         * run has committed batches (the start-up alone takes a large share
         * of a short run, and how large depends on the machine's load). */
        if (attempts % 4)
            u = 0.3 + 0.7 * u;
        delay = full * 1.1 * u;
        t_run = now_s();
        int k = run_and_kill(NULL, delay);
        if (!k)
            full = now_s() - t_run;
        if (full < first_full / 3)
            full = first_full / 3;
        attempts++;
        landed += k;
        snprintf(when, sizeof when, "kill %d (%.3f s)", attempts, delay);
        check_db(when, &cur);
        compare(when, &prev, &cur, skip);
        check_faiss(when);
        if (k && cur.n > 0 && (cur.n != prev.n || cur.rows[cur.n - 1].generation !=
                                                      prev.rows[prev.n - 1].generation))
            mid_run++; /* the killed run had committed something */
        if (!k) {
            finished++;
            churn(skip, &cur);
        }
        snapshot t = prev;
        prev = cur;
        cur = t;
    }
    printf("%d kills landed during a run (%d of them after the run had committed "
           "something), %d runs finished first (%d photo names used), %.1f s\n",
           landed, mid_run, finished, n_names, now_s() - t0);
    CHECK(landed >= KILLS_WANTED, "only %d kills landed", landed);
    CHECK(mid_run >= KILLS_WANTED / 4,
          "only %d kills landed after a commit of their run: the test proves little", mid_run);

    /* Kills while the whole vector index is rebuilt: each --index-type
     * change bumps the generation, so the run ends by building and saving
     * a new file. */
    if (run_indexer(NULL) > 0) {
        double rebuild = 0;
        for (int i = 0; i < 3; i++) {
            double d = run_indexer(i % 2 ? "Flat" : "HNSW16");
            if (d > rebuild)
                rebuild = d;
        }
        check_db("before the rebuild kills", &prev);
        for (int i = 0; i < 8 * REBUILD_KILLS && rebuild_landed < REBUILD_KILLS; i++) {
            char when[64];
            /* The later part of the run: the index is built and saved last.
             * The length follows the last run that finished (the machine's
             * load changes it). */
            double delay = rebuild * (0.3 + 0.7 * (double)(next_rand() % 1000) / 1000.0),
                   t_run = now_s();
            int k = run_and_kill(i % 2 ? "Flat" : "HNSW16", delay);
            if (!k)
                rebuild = now_s() - t_run;
            rebuild_landed += k;
            snprintf(when, sizeof when, "rebuild kill %d (%.3f s)", i, delay);
            check_db(when, &cur);
            compare(when, &prev, &cur, NULL);
            check_faiss(when);
        }
        printf("%d kills landed during index rebuilds (a rebuild run takes %.2f s)\n",
               rebuild_landed, rebuild);
        CHECK(rebuild_landed >= REBUILD_KILLS / 2, "only %d kills landed during rebuilds",
              rebuild_landed);
    }

    /* A last complete run, then everything must agree. */
    CHECK(run_indexer("Flat") > 0, "final run");
    final_checks();
    printf("total %.1f s\n", now_s() - t0);
    free(prev.rows);
    free(cur.rows);
    free(skip);
    free((void *)model_dir);
    return tu_finish("test_index_kill");
}
