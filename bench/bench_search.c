/* bench_search — search at scale on a synthetic library of clustered
 * embeddings (bench/synth_embeddings.h: a few thousand topic directions,
 * a shared mean direction, realistic spread).
 *
 *   bench_search --db DIR [--model DIR | --dim D] [--photos N] [--queries Q]
 *                [--index-type TYPE]... [--topics T]
 *
 * Writes N photos into the library at DIR once (an existing library with N
 * photos is reused), then for each index type (default "auto"; repeat the
 * option for several, e.g. --index-type auto --index-type Flat):
 *   build    clipsearch_library_rebuild_index: seconds, file size on disk;
 *   search   in a fresh child process (so its peak memory is its own): open
 *            read-only, first search (reads the index), then Q searches of
 *            "text-like" queries (looser than photos: spread 2.0);
 *            p50 / p99 latency of clipsearch_library_search, peak RSS;
 *   recall   recall@10 against brute-force float32 search (every embedding
 *            read from the database, exact inner products in double).
 * One line per type, and with --json one JSON object per type as well.
 * BENCH_NPROBE=N in the environment makes the searches scan N lists of an
 * IVF index instead of its own setting (to tune the automatic choice).
 *
 * With --model the library carries the model's fingerprint and dimension,
 * so `clipsearch --db DIR --model DIR QUERY` searches it like a real one;
 * scripts/bench-search.sh times that whole process for each size. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "clipsearch.h"
#include "store.h"
#include "synth_embeddings.h"

#define K 10
#define MAX_TYPES 8

static int fail(const clipsearch_error *e)
{
    fprintf(stderr, "bench_search: %s\n", e->message);
    return 1;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* Brute force top K of each query: truth[q][K] file ids (float32 inner
 * products by sgemm, a block of vectors at a time). */
static int ground_truth(clipsearch_library *lib, const clipsearch_library_model *m,
                        const float *queries, int nq, int64_t *truth, clipsearch_error *err)
{
    enum { BLOCK = 16384 };
    int64_t *ids = NULL, n = 0;
    float *vecs = NULL, *sc = malloc((size_t)BLOCK * (size_t)nq * sizeof *sc);
    float *best = malloc((size_t)nq * K * sizeof *best);
    if (!sc || !best ||
        clipsearch_library_get_embeddings(lib, m, &ids, &vecs, &n, err) != CLIPSEARCH_OK)
        return -1;
    for (int i = 0; i < nq * K; i++)
        best[i] = -3, truth[i] = -1;
    for (int64_t b = 0; b < n; b += BLOCK) {
        int rows = (int)(n - b < BLOCK ? n - b : BLOCK);
        /* sc[rows][nq] = vecs[b..][dim] x queries[nq][dim]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nq, m->dim, 1.0f,
                    vecs + (size_t)b * m->dim, m->dim, queries, m->dim, 0.0f, sc, nq);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < nq; q++) {
                float d = sc[(size_t)r * nq + q], *bs = best + (size_t)q * K;
                int64_t *bi = truth + (size_t)q * K;
                int j = K - 1;
                if (d <= bs[j])
                    continue;
                while (j > 0 && bs[j - 1] < d) {
                    bs[j] = bs[j - 1], bi[j] = bi[j - 1];
                    j--;
                }
                bs[j] = d, bi[j] = ids[b + r];
            }
    }
    clipsearch_free(ids);
    clipsearch_free(vecs);
    free(best);
    free(sc);
    return 0;
}

typedef struct child_result {
    double first_ms, p50_ms, p99_ms, recall;
    long peak_kb;
    int ok;
} child_result;

/* Runs the search process and reads its line. */
static int run_child(const char *self, const char *db, int64_t model_id, const char *qfile,
                     child_result *cr)
{
    char cmd[13000];
    FILE *p;
    memset(cr, 0, sizeof *cr);
    snprintf(cmd, sizeof cmd, "'%s' --child '%s' %lld '%s'", self, db, (long long)model_id,
             qfile);
    fflush(NULL);
    if (!(p = popen(cmd, "r")))
        return -1;
    cr->ok = fscanf(p, "%lf %lf %lf %lf %ld", &cr->first_ms, &cr->p50_ms, &cr->p99_ms,
                    &cr->recall, &cr->peak_kb) == 5;
    return pclose(p) == 0 && cr->ok ? 0 : -1;
}

/* The search process (bench_search --child DB MODEL_ID QFILE, a fresh
 * exec: FAISS's OpenMP is not fork-safe): open read-only, search every
 * query of QFILE, print one line "first p50 p99 recall peak_kb". */
static int search_child(const char *db, int64_t model_id, const char *qfile)
{
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library *lib = NULL;
    clipsearch_library_model models[8], *m = NULL;
    clipsearch_error err = {0};
    clipsearch_search_params sp = clipsearch_search_default_params();
    double *lat = NULL, t0, first = 0;
    float *queries = NULL;
    int64_t hits = 0, *truth = NULL;
    int nq = 0, dim = 0, nm = 0;
    struct rusage ru;
    FILE *f = fopen(qfile, "rb");
    /* As in `clipsearch`, whose engine keeps OpenBLAS on one thread (its
     * idle workers would spin against the search's own threads). */
    openblas_set_num_threads(1);
    if (!f || fread(&nq, sizeof nq, 1, f) != 1 || fread(&dim, sizeof dim, 1, f) != 1 ||
        nq <= 0 || dim <= 0)
        return 1;
    queries = malloc((size_t)nq * (size_t)dim * sizeof *queries);
    truth = malloc((size_t)nq * K * sizeof *truth);
    lat = malloc((size_t)nq * sizeof *lat);
    if (!queries || !truth || !lat ||
        fread(queries, sizeof *queries, (size_t)nq * (size_t)dim, f) != (size_t)nq * (size_t)dim ||
        fread(truth, sizeof *truth, (size_t)nq * K, f) != (size_t)nq * K)
        return 1;
    fclose(f);
    lp.read_only = 1;
    sp.limit = K;
    if (getenv("BENCH_NPROBE"))
        sp.nprobe = atoi(getenv("BENCH_NPROBE"));
    t0 = bench_now();
    if (clipsearch_library_open(db, &lp, &lib, &err) != CLIPSEARCH_OK ||
        clipsearch_library_models(lib, models, 8, &nm, &err) != CLIPSEARCH_OK)
        return fail(&err);
    for (int i = 0; i < nm && i < 8; i++)
        if (models[i].id == model_id)
            m = &models[i];
    if (!m)
        return 1;
    for (int q = -1; q < nq; q++) {
        clipsearch_search_results *res = NULL;
        const float *x = queries + (size_t)(q < 0 ? 0 : q) * dim;
        double a = bench_now();
        if (clipsearch_library_search(lib, m, x, &sp, &res, &err) != CLIPSEARCH_OK)
            return fail(&err);
        if (q < 0) {
            first = (bench_now() - t0) * 1e3; /* open + index load + search */
        } else {
            lat[q] = (bench_now() - a) * 1e3;
            for (int i = 0; i < res->n; i++)
                for (int j = 0; j < K; j++)
                    hits += res->items[i].file_id == truth[(size_t)q * K + j];
        }
        clipsearch_search_results_free(res);
    }
    qsort(lat, (size_t)nq, sizeof *lat, bench_cmp_double);
    getrusage(RUSAGE_SELF, &ru);
    printf("%.3f %.3f %.3f %.5f %ld\n", first, lat[nq / 2],
           lat[(nq * 99) / 100 < nq ? (nq * 99) / 100 : nq - 1], (double)hits / ((double)nq * K),
           ru.ru_maxrss);
    clipsearch_library_close(lib);
    free(lat);
    free(queries);
    free(truth);
    return 0;
}

/* Sets the model's index type (as clipsearch-index --index-type does). */
static int set_type(const char *dbfile, const clipsearch_library_model *m, const char *type,
                    clipsearch_error *err)
{
    cs_store *st = NULL;
    cs_model_row row;
    int ok = cs_store_open(dbfile, 0, &st, err) == CLIPSEARCH_OK &&
             cs_store_begin_write(st, err) == CLIPSEARCH_OK &&
             cs_store_model_get_or_add(st, m->name, m->dim, m->fingerprint, type, &row, err) ==
                 CLIPSEARCH_OK &&
             cs_store_commit(st, err) == CLIPSEARCH_OK;
    if (!ok)
        cs_store_rollback(st);
    cs_store_close(st);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *model_dir = NULL, *db = NULL, *types[MAX_TYPES];
    int n_types = 0, queries = 100, dim = 512, topics = 3000, json = 0;
    int64_t photos = 100000;
    clipsearch_error err = {0};
    clipsearch_library *lib = NULL;
    clipsearch_library_model lm;
    char fp[CLIPSEARCH_FINGERPRINT_SIZE] = "00000000000000000000000000000000";
    char dbfile[4200], name[128] = "synthetic";
    float *qv = NULL;
    int64_t *truth = NULL;
    synth s;
    int nm = 0;
    char self[4096], qfile[4300];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return 1;
    self[sl] = '\0';
    if (argc == 5 && !strcmp(argv[1], "--child"))
        return search_child(argv[2], atoll(argv[3]), argv[4]);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_dir = argv[++i];
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--photos") && i + 1 < argc)
            photos = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
            queries = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dim") && i + 1 < argc)
            dim = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--topics") && i + 1 < argc)
            topics = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--index-type") && i + 1 < argc && n_types < MAX_TYPES)
            types[n_types++] = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr,
                    "usage: bench_search --db DIR [--model DIR | --dim D] [--photos N] "
                    "[--queries Q] [--index-type TYPE]... [--topics T] [--json]\n");
            return 2;
        }
    }
    if (!db || photos <= 0 || queries <= 0 || dim <= 0 || topics <= 0) {
        fprintf(stderr, "bench_search: --db is required; counts must be positive\n");
        return 2;
    }
    if (n_types == 0)
        types[n_types++] = "auto";
    if (model_dir) {
        clipsearch_model_params mp = clipsearch_model_default_params();
        clipsearch_model *model = NULL;
        const char *base = strrchr(model_dir, '/') ? strrchr(model_dir, '/') + 1 : model_dir;
        mp.towers = CLIPSEARCH_TOWER_TEXT;
        if (clipsearch_model_load(model_dir, &mp, &model, &err) != CLIPSEARCH_OK ||
            clipsearch_model_fingerprint(model_dir, fp, &err) != CLIPSEARCH_OK)
            return fail(&err);
        dim = clipsearch_model_get_info(model)->projection_dim;
        clipsearch_model_free(model);
        snprintf(name, sizeof name, "%s", base);
    }
    snprintf(dbfile, sizeof dbfile, "%s/library.sqlite3", db);
    if (clipsearch_library_open(db, NULL, &lib, &err) != CLIPSEARCH_OK ||
        clipsearch_library_models(lib, &lm, 1, &nm, &err) != CLIPSEARCH_OK)
        return fail(&err);
    clipsearch_library_close(lib);
    lib = NULL;
    if (synth_init(&s, dim, topics, 1) != 0)
        return 1;
    if (nm == 1 && lm.n_embeddings == photos && lm.dim == dim) {
        printf("library %s already holds %lld photos\n", db, (long long)photos);
    } else if (nm == 0) {
        double t0 = bench_now();
        int64_t id;
        if (synth_write_library(dbfile, name, fp, dim, 0, photos, NULL, &s, &id, &err) !=
            CLIPSEARCH_OK)
            return fail(&err);
        printf("wrote %lld photos (dim %d, %d topics) in %.1f s\n", (long long)photos, dim,
               topics, bench_now() - t0);
    } else {
        fprintf(stderr, "bench_search: %s holds another library; use a new folder\n", db);
        return 1;
    }
    /* Queries from their own stream: not photos of the library. */
    s.rng ^= 0x5555555555555555ull;
    qv = malloc((size_t)queries * (size_t)dim * sizeof *qv);
    truth = malloc((size_t)queries * K * sizeof *truth);
    if (!qv || !truth)
        return 1;
    for (int q = 0; q < queries; q++)
        synth_next(&s, 2.0, qv + (size_t)q * dim);
    if (clipsearch_library_open(db, NULL, &lib, &err) != CLIPSEARCH_OK ||
        clipsearch_library_models(lib, &lm, 1, &nm, &err) != CLIPSEARCH_OK)
        return fail(&err);
    {
        double t0 = bench_now();
        if (ground_truth(lib, &lm, qv, queries, truth, &err) != 0)
            return fail(&err);
        printf("brute force ground truth for %d queries in %.1f s\n", queries, bench_now() - t0);
    }
    clipsearch_library_close(lib);
    lib = NULL;
    {
        FILE *f;
        snprintf(qfile, sizeof qfile, "%s/bench-queries.bin", db);
        if (!(f = fopen(qfile, "wb")) || fwrite(&queries, sizeof queries, 1, f) != 1 ||
            fwrite(&dim, sizeof dim, 1, f) != 1 ||
            fwrite(qv, sizeof *qv, (size_t)queries * (size_t)dim, f) !=
                (size_t)queries * (size_t)dim ||
            fwrite(truth, sizeof *truth, (size_t)queries * K, f) != (size_t)queries * K ||
            fclose(f) != 0) {
            fprintf(stderr, "bench_search: cannot write %s\n", qfile);
            return 1;
        }
    }

    for (int t = 0; t < n_types; t++) {
        char ipath[4300];
        clipsearch_index_info info;
        child_result cr;
        double t0, build;
        if (set_type(dbfile, &lm, types[t], &err) != 0 ||
            clipsearch_library_open(db, NULL, &lib, &err) != CLIPSEARCH_OK ||
            clipsearch_library_models(lib, &lm, 1, &nm, &err) != CLIPSEARCH_OK)
            return fail(&err);
        t0 = bench_now();
        if (clipsearch_library_rebuild_index(lib, &lm, &err) != CLIPSEARCH_OK)
            return fail(&err);
        build = bench_now() - t0;
        if (clipsearch_library_index_info(lib, &lm, &info, &err) != CLIPSEARCH_OK)
            return fail(&err);
        clipsearch_library_close(lib);
        lib = NULL;
        snprintf(ipath, sizeof ipath, "%s/vectors-%lld.faiss", db, (long long)lm.id);
        {
            /* The page cache holds the files, as for a search after the
             * first: read them once. */
            char cmd[8800];
            snprintf(cmd, sizeof cmd, "cat '%s' '%s' > /dev/null", ipath, dbfile);
            if (system(cmd) != 0)
                fprintf(stderr, "bench_search: could not read the files once\n");
        }
        if (run_child(self, db, lm.id, qfile, &cr) != 0) {
            fprintf(stderr, "bench_search: the search process failed\n");
            return 1;
        }
        printf("%lld photos, --index-type %s -> %s%s: build %.1f s, file %.1f MB, search "
               "process peak %.0f MB, first search %.1f ms (open + index load), then p50 %.2f "
               "ms, p99 %.2f ms, recall@%d %.3f (%d queries)\n",
               (long long)photos, types[t], info.built,
               info.nprobe ? "" : " (every vector scored)", build,
               (double)file_size(ipath) / 1e6, (double)cr.peak_kb / 1024.0, cr.first_ms,
               cr.p50_ms, cr.p99_ms, K, cr.recall, queries);
        if (json)
            printf("{\"photos\":%lld,\"index_type\":\"%s\",\"built\":\"%s\",\"nlist\":%d,"
                   "\"nprobe\":%d,\"build_s\":%.2f,\"file_bytes\":%lld,\"peak_rss_kb\":%ld,"
                   "\"first_ms\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"recall_at_10\":%.4f}\n",
                   (long long)photos, types[t], info.built, info.nlist, info.nprobe, build,
                   (long long)file_size(ipath), cr.peak_kb, cr.first_ms, cr.p50_ms, cr.p99_ms,
                   cr.recall);
        fflush(stdout);
    }
    /* Leave the library on its first type, for the CLI timing. */
    if (n_types > 1) {
        if (set_type(dbfile, &lm, types[0], &err) != 0 ||
            clipsearch_library_open(db, NULL, &lib, &err) != CLIPSEARCH_OK ||
            clipsearch_library_models(lib, &lm, 1, &nm, &err) != CLIPSEARCH_OK ||
            clipsearch_library_rebuild_index(lib, &lm, &err) != CLIPSEARCH_OK)
            return fail(&err);
        clipsearch_library_close(lib);
    }
    synth_free(&s);
    free(qv);
    free(truth);
    return 0;
}
