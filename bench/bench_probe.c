/* bench_probe.c — the linear probe's speed: training on P positives and N
 * negatives drawn from a "library" of random normalised embeddings (the
 * positives around a concept direction), with the default cross-validation
 * of C (13 values x 5 folds) and without it (a given C), then applying the
 * probe to every embedding of the library and sorting the scores.
 *
 *   bench_probe [--photos 100000] [--dim 512] [--positives 32] [--negatives 320]
 *               [--repeat 3] [--threads N] [--db DIR --model DIR]
 *
 * With --db and --model (a library and its model, e.g. the synthetic one
 * bench_search writes), it also trains on that library's embeddings (the
 * first P as positives, N random others as negatives), stores the
 * classifier as "bench" and times clipsearch_searcher_rank over the whole
 * library: reading every embedding from SQLite, applying, sorting.
 *
 * --negatives defaults to what `clipsearch learn` draws for P positives
 * (10 per positive, at least 100, at most 1000). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "clipsearch.h"
#include "clipsearch/probe.h"

static uint64_t rng = 7;
static double uniform(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()); }

static void unit(float *v, int d)
{
    double n = 0;
    for (int j = 0; j < d; j++)
        n += (double)v[j] * v[j];
    for (int j = 0; j < d; j++)
        v[j] = (float)(v[j] / sqrt(n));
}

typedef struct rank_item {
    float z;
    int64_t i;
} rank_item;

static int cmp_rank(const void *a, const void *b)
{
    const rank_item *x = a, *y = b;
    return x->z > y->z ? -1 : x->z < y->z;
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    return t[n / 2];
}

static int bench_library(const char *db, const char *model_dir, int n_pos, int n_neg,
                         int repeat)
{
    clipsearch_library *lib = NULL;
    clipsearch_library_model model;
    clipsearch_searcher *s = NULL;
    clipsearch_searcher_params sp = clipsearch_searcher_default_params();
    clipsearch_probe *p = NULL;
    clipsearch_error err = {0};
    int64_t *ids = NULL, n = 0;
    float *vecs = NULL, *x = NULL;
    int *labels = NULL, rc = 1;
    double *t = malloc((size_t)repeat * sizeof *t), t0, t_read, t_train;
    if (clipsearch_library_open(db, NULL, &lib, &err) != CLIPSEARCH_OK ||
        clipsearch_library_find_model(lib, model_dir, &model, &err) != CLIPSEARCH_OK)
        goto out;
    t0 = bench_now();
    if (clipsearch_library_get_embeddings(lib, &model, &ids, &vecs, &n, &err) != CLIPSEARCH_OK)
        goto out;
    t_read = bench_now() - t0;
    if (n < n_pos + n_neg) {
        fprintf(stderr, "bench_probe: the library is too small\n");
        goto out;
    }
    x = malloc((size_t)(n_pos + n_neg) * model.dim * sizeof *x);
    labels = malloc((size_t)(n_pos + n_neg) * sizeof *labels);
    if (!x || !labels || !t)
        goto out;
    for (int i = 0; i < n_pos + n_neg; i++) {
        int64_t k = i < n_pos ? i : n_pos + (int64_t)(uniform() * (double)(n - n_pos));
        memcpy(x + (size_t)i * model.dim, vecs + (size_t)k * model.dim,
               (size_t)model.dim * sizeof *x);
        labels[i] = i < n_pos;
    }
    t0 = bench_now();
    if (clipsearch_probe_train(x, labels, n_pos + n_neg, model.dim, NULL, &p, &err) !=
        CLIPSEARCH_OK)
        goto out;
    t_train = bench_now() - t0;
    if (clipsearch_classifier_save(lib, &model, "bench", p, NULL, 0, 1, NULL, 0, 1, &err) !=
        CLIPSEARCH_OK)
        goto out;
    clipsearch_library_close(lib);
    lib = NULL;
    sp.library = db;
    sp.model = model_dir;
    if (clipsearch_searcher_open(&sp, &s, &err) != CLIPSEARCH_OK)
        goto out;
    for (int r = 0; r < repeat; r++) {
        clipsearch_search_results *res = NULL;
        t0 = bench_now();
        if (clipsearch_searcher_rank(s, "bench", NULL, &res, &err) != CLIPSEARCH_OK)
            goto out;
        t[r] = bench_now() - t0;
        clipsearch_search_results_free(res);
    }
    printf("library %s: %lld embeddings of dim %d read in %.1f ms; trained (CV) in %.1f ms; "
           "clipsearch_searcher_rank (read all + apply + sort + top 10) %.1f ms median of %d\n",
           db, (long long)n, model.dim, 1e3 * t_read, 1e3 * t_train, 1e3 * median(t, repeat),
           repeat);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_probe: %s\n", err.message);
    clipsearch_searcher_close(s);
    clipsearch_library_close(lib);
    clipsearch_probe_free(p);
    clipsearch_free(ids);
    clipsearch_free(vecs);
    free(x);
    free(labels);
    free(t);
    return rc;
}

int main(int argc, char **argv)
{
    int64_t n_photos = 100000;
    int dim = 512, n_pos = 32, n_neg = 0, repeat = 3, threads = 0;
    const char *db = NULL, *model_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--photos") && v)
            n_photos = atoll(v), i++;
        else if (!strcmp(a, "--dim") && v)
            dim = atoi(v), i++;
        else if (!strcmp(a, "--positives") && v)
            n_pos = atoi(v), i++;
        else if (!strcmp(a, "--negatives") && v)
            n_neg = atoi(v), i++;
        else if (!strcmp(a, "--repeat") && v)
            repeat = atoi(v), i++;
        else if (!strcmp(a, "--threads") && v)
            threads = atoi(v), i++;
        else if (!strcmp(a, "--db") && v)
            db = v, i++;
        else if (!strcmp(a, "--model") && v)
            model_dir = v, i++;
        else {
            fprintf(stderr, "usage: %s [--photos N] [--dim D] [--positives P] [--negatives N] "
                            "[--repeat R] [--threads T] [--db DIR --model DIR]\n", argv[0]);
            return 2;
        }
    }
    if (n_neg <= 0)
        n_neg = n_pos * 10 < 100 ? 100 : n_pos * 10 > 1000 ? 1000 : n_pos * 10;
    if (n_photos < n_pos + n_neg || dim < 1 || n_pos < 1 || repeat < 1) {
        fprintf(stderr, "bench_probe: bad sizes\n");
        return 2;
    }
    if (threads > 0)
        omp_set_num_threads(threads);

    /* The library: random unit vectors, the first 3% near a concept u
     * (cosine ~0.5 to it, like photos of one subject). */
    float *lib = malloc((size_t)n_photos * dim * sizeof *lib), *u = malloc((size_t)dim * sizeof *u);
    float *x = malloc((size_t)(n_pos + n_neg) * dim * sizeof *x), *logits = NULL;
    int *labels = malloc((size_t)(n_pos + n_neg) * sizeof *labels);
    rank_item *order = malloc((size_t)n_photos * sizeof *order);
    int64_t n_concept = n_photos * 3 / 100;
    if (!lib || !u || !x || !labels || !order)
        return 1;
    for (int j = 0; j < dim; j++)
        u[j] = (float)gauss();
    unit(u, dim);
    for (int64_t i = 0; i < n_photos; i++) {
        float *v = lib + (size_t)i * dim;
        for (int j = 0; j < dim; j++)
            v[j] = (float)gauss();
        unit(v, dim);
        if (i < n_concept) {
            for (int j = 0; j < dim; j++)
                v[j] += 0.6f * u[j];
            unit(v, dim);
        }
    }
    /* Positives: concept photos; negatives: a random draw of the rest. */
    for (int i = 0; i < n_pos; i++) {
        memcpy(x + (size_t)i * dim, lib + (size_t)i * dim, (size_t)dim * sizeof *x);
        labels[i] = 1;
    }
    for (int i = 0; i < n_neg; i++) {
        int64_t k = n_pos + (int64_t)(uniform() * (double)(n_photos - n_pos));
        memcpy(x + (size_t)(n_pos + i) * dim, lib + (size_t)k * dim, (size_t)dim * sizeof *x);
        labels[n_pos + i] = 0;
    }
    printf("library %lld x %d, training %d positive + %d negative, %d threads for apply\n",
           (long long)n_photos, dim, n_pos, n_neg, threads > 0 ? threads : omp_get_max_threads());

    double *t_cv = malloc((size_t)repeat * sizeof *t_cv), *t_fix = malloc((size_t)repeat * sizeof *t_fix);
    double *t_apply = malloc((size_t)repeat * sizeof *t_apply), *t_sort = malloc((size_t)repeat * sizeof *t_sort);
    clipsearch_probe *p = NULL;
    clipsearch_error err = {0};
    logits = malloc((size_t)n_photos * sizeof *logits);
    for (int r = 0; r < repeat; r++) {
        clipsearch_probe_params pp = clipsearch_probe_default_params();
        double t0 = bench_now();
        clipsearch_probe_free(p);
        p = NULL;
        if (clipsearch_probe_train(x, labels, n_pos + n_neg, dim, NULL, &p, &err) !=
            CLIPSEARCH_OK) {
            fprintf(stderr, "bench_probe: %s\n", err.message);
            return 1;
        }
        t_cv[r] = bench_now() - t0;
        if (r == 0)
            printf("CV: C %g (%d folds), accuracy %.3f, final fit %d iterations, |grad| %.1e "
                   "rel\n",
                   p->C, p->cv_folds, p->cv_accuracy, p->iterations, p->gradient_norm);
        {
            clipsearch_probe *q = NULL;
            pp.C = p->C;
            t0 = bench_now();
            if (clipsearch_probe_train(x, labels, n_pos + n_neg, dim, &pp, &q, &err) !=
                CLIPSEARCH_OK)
                return 1;
            t_fix[r] = bench_now() - t0;
            clipsearch_probe_free(q);
        }
        t0 = bench_now();
        clipsearch_probe_apply(p, lib, n_photos, logits, NULL);
        t_apply[r] = bench_now() - t0;
        t0 = bench_now();
        for (int64_t i = 0; i < n_photos; i++) {
            order[i].z = logits[i];
            order[i].i = i;
        }
        qsort(order, (size_t)n_photos, sizeof *order, cmp_rank);
        t_sort[r] = bench_now() - t0;
    }
    {
        int64_t hits = 0;
        for (int i = 0; i < 100; i++)
            hits += order[i].i < n_concept;
        printf("ranking: %lld of the top 100 are concept photos (%lld of %lld are)\n",
               (long long)hits, (long long)n_concept, (long long)n_photos);
    }
    printf("train with CV (13 C x 5 folds + refit): %8.1f ms median of %d\n",
           1e3 * median(t_cv, repeat), repeat);
    printf("train at a given C (one fit):            %8.1f ms\n", 1e3 * median(t_fix, repeat));
    printf("apply to %lld embeddings:               %8.1f ms\n", (long long)n_photos,
           1e3 * median(t_apply, repeat));
    printf("sort %lld scores:                       %8.1f ms\n", (long long)n_photos,
           1e3 * median(t_sort, repeat));
    if (db && model_dir && bench_library(db, model_dir, n_pos, n_neg, repeat) != 0)
        return 1;
    clipsearch_probe_free(p);
    free(lib);
    free(u);
    free(x);
    free(labels);
    free(order);
    free(logits);
    free(t_cv);
    free(t_fix);
    free(t_apply);
    free(t_sort);
    return 0;
}
