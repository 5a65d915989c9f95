/* test_probe_shapes.c — what a probe learns with a trained model: the
 * clip-shapes CLIP and its labelled photos (../shared/fixtures/clip-shapes).
 * The concept "warm" (red, orange or yellow) was never a caption; a probe
 * on 16 examples is compared with zero-shot ways of ranking the same photos
 * by it (a text query, and a zero-shot colour classifier's warm
 * probability), and with a probe on 2 examples plus the text prior.
 * Measured on single-object photos not used for training; the floors are
 * conservative (a small model with a small world). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "clipsearch/probe.h"
#include "testutil.h"

#define MAX_PHOTOS 512

static char *names[MAX_PHOTOS]; /* file names of single-object photos */
static int n_names;

static int is_warm(const char *name)
{
    const char *u = strchr(name, '_');
    return u && (!strncmp(u, "_red_", 5) || !strncmp(u, "_orange_", 8) ||
                 !strncmp(u, "_yellow_", 8));
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scores of a ranking, by photo name. */
typedef struct scored {
    const char *name;
    double score;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    return x->score > y->score ? -1 : x->score < y->score;
}

/* Moves a ranking into sc (names strdup'd, the caller frees them), frees
 * the ranking; returns how many. */
static int take_scores(clipsearch_search_results **res, scored *sc)
{
    int n = 0;
    for (int i = 0; *res && i < (*res)->n; i++) {
        sc[n].name = strdup(base((*res)->items[i].path));
        sc[n++].score = (*res)->items[i].score;
    }
    clipsearch_search_results_free(*res);
    *res = NULL;
    return n;
}

static int in_list(const char *name, char *const *list, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], name))
            return 1;
    return 0;
}

/* Precision at k and average precision for "warm" over the single-object
 * photos not in exclude[n_ex], ranked by s[n] (sorted here). */
static void evaluate(const char *what, scored *s, int n, char *const *exclude, int n_ex,
                     double *p20, double *ap)
{
    int rank = 0, hits = 0, relevant = 0, h20 = 0;
    double sum = 0;
    qsort(s, (size_t)n, sizeof *s, cmp_scored);
    for (int i = 0; i < n; i++) {
        if (!in_list(s[i].name, names, n_names) || in_list(s[i].name, exclude, n_ex))
            continue;
        rank++;
        if (is_warm(s[i].name)) {
            hits++;
            sum += (double)hits / rank;
            if (rank <= 20)
                h20++;
        }
    }
    for (int i = 0; i < n_names; i++)
        relevant += is_warm(names[i]) && !in_list(names[i], exclude, n_ex);
    *p20 = h20 / 20.0;
    *ap = relevant ? sum / relevant : 0;
    printf("%-52s precision@20 %.2f, average precision %.3f (%d ranked, %d warm)\n", what,
           *p20, *ap, rank, relevant);
}

int main(void)
{
    const char *model_dir, *photos;
    char lib_dir[600], path[1200];
    clipsearch_library *lib = NULL;
    clipsearch_searcher *s = NULL;
    clipsearch_searcher_params sp = clipsearch_searcher_default_params();
    clipsearch_index_params ip = clipsearch_index_default_params();
    clipsearch_error err = {0};
    clipsearch_search_results *res = NULL;
    char *train[16] = {0}, *train2[2], *paths16[16] = {0}, *paths2[2];
    int n_train = 0;
    scored *sc = NULL;
    double p20, probe_ap = 0, text_ap = 0, zs_ap = 0, few_ap = 0, few_noprior_ap = 0;
    DIR *d;
    struct dirent *e;

    tu_require_fixture("clip-shapes/model.safetensors");
    tu_require_fixture("clip-shapes/photos/labels.json");
    model_dir = tu_fixture("clip-shapes");
    photos = tu_fixture("clip-shapes/photos");
    if (!(d = opendir(photos)))
        return 1;
    while ((e = readdir(d)) && n_names < MAX_PHOTOS)
        if (e->d_name[0] != '.' && !strchr(e->d_name, '+') && strchr(e->d_name, '_') &&
            (strstr(e->d_name, ".jpg") || strstr(e->d_name, ".png")))
            names[n_names++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n_names, sizeof *names, cmp_str);
    /* The training positives: the first 16 warm photos by name. */
    for (int i = 0; i < n_names && n_train < 16; i++)
        if (is_warm(names[i])) {
            train[n_train] = names[i];
            snprintf(path, sizeof path, "%s/%s", photos, names[i]);
            paths16[n_train++] = strdup(path);
        }
    train2[0] = train[0];
    train2[1] = train[1];
    paths2[0] = paths16[0];
    paths2[1] = paths16[1];
    CHECK(n_names >= 200 && n_train == 16, "%d photos, %d warm", n_names, n_train);

    snprintf(lib_dir, sizeof lib_dir, "%s/lib", tu_tmpdir());
    CHECK(clipsearch_library_open(lib_dir, NULL, &lib, &err) == CLIPSEARCH_OK, "%s", err.message);
    ip.n_threads = 2;
    CHECK(clipsearch_library_index(lib, model_dir, &photos, 1, &ip, NULL, &err) ==
              CLIPSEARCH_OK,
          "%s", err.message);
    clipsearch_library_close(lib);
    lib = NULL;
    sp.library = lib_dir;
    sp.model = model_dir;
    CHECK(clipsearch_searcher_open(&sp, &s, &err) == CLIPSEARCH_OK, "%s", err.message);
    if (!s)
        goto out;
    sc = calloc(MAX_PHOTOS * 2, sizeof *sc);

    /* ---- the probe on 16 examples ---- */
    {
        clipsearch_learn_params lp = clipsearch_learn_default_params();
        clipsearch_classifier_info info;
        clipsearch_search_params q = clipsearch_search_default_params();
        int n = 0;
        CHECK(clipsearch_searcher_learn(s, "warm", (const char *const *)paths16, 16, NULL, 0,
                                        &lp, &info, &err) == CLIPSEARCH_OK,
              "%s", err.message);
        printf("probe, 16 examples: C %g, %d-fold cv accuracy %.3f\n", info.C, info.cv_folds,
               info.cv_accuracy);
        q.limit = 1000;
        CHECK(clipsearch_searcher_rank(s, "warm", &q, &res, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        n = take_scores(&res, sc);
        evaluate("probe, 16 examples (random negatives)", sc, n, train, 16, &p20, &probe_ap);
        CHECK(p20 >= 0.85, "probe precision@20 %.2f", p20);
        CHECK(probe_ap >= 0.8, "probe average precision %.3f", probe_ap);
        for (int i = 0; i < n; i++)
            free((char *)sc[i].name);
    }

    /* ---- zero-shot: a text query, and a colour classifier ---- */
    {
        static const char *colours[8] = {"red", "green", "blue", "yellow",
                                         "purple", "orange", "white", "black"};
        const clipsearch_library_model *m = clipsearch_searcher_model(s);
        float q[1024], cls[8][1024];
        int64_t *ids = NULL, n = 0;
        float *vecs = NULL;
        clipsearch_search_params sp2 = clipsearch_search_default_params();
        clipsearch_query_term t = {CLIPSEARCH_TERM_TEXT, "a red, orange or yellow shape", 1};
        int k = 0;
        double scale = 100;
        clipsearch_model *tm = NULL;
        clipsearch_model_params mp = clipsearch_model_default_params();
        mp.towers = CLIPSEARCH_TOWER_TEXT;
        if (clipsearch_model_load(model_dir, &mp, &tm, NULL) == CLIPSEARCH_OK) {
            scale = exp(clipsearch_model_get_info(tm)->logit_scale);
            clipsearch_model_free(tm);
        }
        sp2.limit = 1000;
        CHECK(clipsearch_searcher_embed(s, &t, 1, q, &err) == CLIPSEARCH_OK, "%s", err.message);
        CHECK(clipsearch_library_search(clipsearch_searcher_library(s), m, q, &sp2, &res,
                                        &err) == CLIPSEARCH_OK,
              "%s", err.message);
        for (int i = 0; res && i < res->n; i++) {
            sc[k].name = strdup(base(res->items[i].path));
            sc[k++].score = res->items[i].score;
        }
        evaluate("zero-shot text query 'a red, orange or yellow shape'", sc, k, train, 16, &p20,
                 &text_ap);
        CHECK(p20 >= 0.5, "text query precision@20 %.2f", p20);
        for (int i = 0; i < k; i++)
            free((char *)sc[i].name);
        /* P(red) + P(orange) + P(yellow) of a zero-shot colour classifier
         * ("a photo of a {} shape.", softmax of exp(logit_scale) x cosine). */
        for (int c = 0; c < 8; c++) {
            char prompt[64];
            clipsearch_query_term ct = {CLIPSEARCH_TERM_TEXT, prompt, 1};
            snprintf(prompt, sizeof prompt, "a photo of a %s shape.", colours[c]);
            CHECK(clipsearch_searcher_embed(s, &ct, 1, cls[c], &err) == CLIPSEARCH_OK, "%s",
                  err.message);
        }
        CHECK(clipsearch_library_get_embeddings(clipsearch_searcher_library(s), m, &ids, &vecs,
                                                &n, &err) == CLIPSEARCH_OK,
              "%s", err.message);
        k = 0;
        for (int64_t i = 0; i < n && res; i++) {
            double z[8], mx = -1e300, sum = 0, warm = 0;
            const char *nm = NULL;
            for (int r = 0; r < res->n; r++)
                if (res->items[r].file_id == ids[i])
                    nm = base(res->items[r].path);
            if (!nm)
                continue;
            for (int c = 0; c < 8; c++) {
                z[c] = 0;
                for (int j = 0; j < m->dim; j++)
                    z[c] += (double)cls[c][j] * vecs[(size_t)i * m->dim + j];
                z[c] *= scale;
                mx = fmax(mx, z[c]);
            }
            for (int c = 0; c < 8; c++) {
                double p = exp(z[c] - mx);
                sum += p;
                if (c == 0 || c == 3 || c == 5)
                    warm += p;
            }
            sc[k].name = strdup(nm);
            sc[k++].score = warm / sum;
        }
        evaluate("zero-shot colour classifier, P(red+orange+yellow)", sc, k, train, 16, &p20,
                 &zs_ap);
        CHECK(p20 >= 0.8, "zero-shot colour classifier precision@20 %.2f", p20);
        for (int i = 0; i < k; i++)
            free((char *)sc[i].name);
        clipsearch_search_results_free(res);
        res = NULL;
        clipsearch_free(ids);
        clipsearch_free(vecs);
    }

    /* ---- 2 examples, with and without the text prior ---- */
    for (int with_prior = 0; with_prior <= 1; with_prior++) {
        clipsearch_learn_params lp = clipsearch_learn_default_params();
        clipsearch_search_params q = clipsearch_search_default_params();
        const char *name = with_prior ? "warm-2-like" : "warm-2";
        int n = 0;
        if (with_prior)
            lp.like = "a red, orange or yellow shape";
        CHECK(clipsearch_searcher_learn(s, name, (const char *const *)paths2, 2, NULL, 0, &lp,
                                        NULL, &err) == CLIPSEARCH_OK,
              "%s", err.message);
        q.limit = 1000;
        CHECK(clipsearch_searcher_rank(s, name, &q, &res, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        n = take_scores(&res, sc);
        evaluate(with_prior ? "probe, 2 examples + --like 'a red, orange or yellow shape'"
                            : "probe, 2 examples, no prior",
                 sc, n, train2, 2, &p20, with_prior ? &few_ap : &few_noprior_ap);
        for (int i = 0; i < n; i++)
            free((char *)sc[i].name);
        if (with_prior) {
            /* The prior keeps it at least about as good as its text alone. */
            CHECK(few_ap >= text_ap - 0.05, "2 examples + prior: AP %.3f, text alone %.3f",
                  few_ap, text_ap);
            /* ... and much better than the two examples alone. */
            CHECK(few_ap >= few_noprior_ap + 0.1, "2 examples: AP %.3f with prior, %.3f without",
                  few_ap, few_noprior_ap);
        }
    }
    printf("average precision: probe(16) %.3f, zero-shot colours %.3f, text query %.3f, "
           "probe(2)+like %.3f, probe(2) %.3f\n",
           probe_ap, zs_ap, text_ap, few_ap, few_noprior_ap);
out:
    free(sc);
    for (int i = 0; i < n_names; i++)
        free(names[i]);
    for (int i = 0; i < n_train; i++)
        free(paths16[i]);
    clipsearch_searcher_close(s);
    return tu_finish("test_probe_shapes");
}
