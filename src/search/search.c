/* search.c — query terms, their combination, and the searcher
 * (clipsearch/search.h) on top of the library, model and tokenizer APIs. */
#include "clipsearch/search.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clipsearch/hub.h"
#include "clipsearch/image.h"
#include "clipsearch/model.h"
#include "clipsearch/tokenizer.h"
#include "error.h"
#include "search_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

clipsearch_status clipsearch_query_term_parse(const char *arg, float sign,
                                              clipsearch_query_term *out,
                                              clipsearch_error *err)
{
    const char *colon, *value = arg;
    float weight = 1.0f;
    if (!arg || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL query term");
    if (!is_regular_file(arg) && (colon = strchr(arg, ':')) != NULL && colon > arg) {
        char num[64], *end = NULL;
        size_t n = (size_t)(colon - arg);
        if (n < sizeof num) {
            double w;
            memcpy(num, arg, n);
            num[n] = '\0';
            errno = 0;
            w = strtod(num, &end);
            /* Only plain decimals: "inf", "nan" and hex are text. */
            if (end == num + n && errno == 0 && isfinite(w) &&
                strspn(num, "+-.0123456789eE") == n) {
                weight = (float)w;
                value = colon + 1;
            }
        }
    }
    if (!*value)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "empty query in '%s'", arg);
    out->kind = is_regular_file(value) ? CLIPSEARCH_TERM_IMAGE : CLIPSEARCH_TERM_TEXT;
    out->value = value;
    out->weight = weight * sign;
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_parse_date(const char *in, char out[CLIPSEARCH_DATE_SIZE])
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    size_t n;
    if (!in || !out)
        return CLIPSEARCH_ERR_INVALID_ARGUMENT;
    n = strlen(in);
    /* Only whole fields: 4, 7, 10, 13, 16 or 19 characters. */
    if (n != 4 && n != 7 && n != 10 && n != 13 && n != 16 && n != 19)
        return CLIPSEARCH_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (shape[i] == 'd' ? !(c >= '0' && c <= '9') : !(c == shape[i] || (i == 10 && c == 'T')))
            return CLIPSEARCH_ERR_INVALID_ARGUMENT;
        out[i] = i == 10 ? ' ' : c;
    }
    out[n] = '\0';
    return CLIPSEARCH_OK;
}

/* ---- the searcher ---------------------------------------------------------- */

struct clipsearch_searcher {
    clipsearch_library *lib;
    clipsearch_library_model model;
    char model_dir[PATH_MAX];
    char *vocab;
    int n_threads;
    int one_shot;
    /* loaded on demand */
    clipsearch_model *text_model, *vision_model;
    clipsearch_context *text_ctx, *vision_ctx;
    clipsearch_tokenizer *tok;
    clipsearch_searcher_times times;
    /* The tokenizer read on a thread of its own from open on (parsing
     * vocab.json and merges.txt costs about as much as mapping the text
     * tower, and a one-shot search would otherwise do both in turn). */
    pthread_t tok_thread;
    int tok_loading;
    clipsearch_tokenizer *tok_loaded;
};

clipsearch_searcher_params clipsearch_searcher_default_params(void)
{
    clipsearch_searcher_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static void *tok_main(void *arg)
{
    clipsearch_searcher *s = arg;
    if (clipsearch_tokenizer_load(s->vocab ? s->vocab : s->model_dir, &s->tok_loaded, NULL) !=
        CLIPSEARCH_OK)
        s->tok_loaded = NULL;
    return NULL;
}

/* Waits for the background tokenizer, if any; NULL when it failed (the
 * caller loads it again to get the error). */
static clipsearch_tokenizer *take_tokenizer(clipsearch_searcher *s)
{
    clipsearch_tokenizer *t;
    if (!s->tok_loading)
        return NULL;
    pthread_join(s->tok_thread, NULL);
    s->tok_loading = 0;
    t = s->tok_loaded;
    s->tok_loaded = NULL;
    return t;
}

void clipsearch_searcher_close(clipsearch_searcher *s)
{
    if (!s)
        return;
    clipsearch_tokenizer_free(take_tokenizer(s));
    clipsearch_context_free(s->text_ctx);
    clipsearch_context_free(s->vision_ctx);
    clipsearch_model_free(s->text_model);
    clipsearch_model_free(s->vision_model);
    clipsearch_tokenizer_free(s->tok);
    clipsearch_library_close(s->lib);
    free(s->vocab);
    free(s);
}

clipsearch_library *clipsearch_searcher_library(clipsearch_searcher *s) { return s->lib; }
const clipsearch_library_model *clipsearch_searcher_model(const clipsearch_searcher *s)
{
    return &s->model;
}
const char *clipsearch_searcher_model_dir(const clipsearch_searcher *s) { return s->model_dir; }

void clipsearch_searcher_get_times(const clipsearch_searcher *s,
                                   clipsearch_searcher_times *times)
{
    *times = s->times;
}

/* Lists the library's models with embeddings as "name (N photos)". */
static void describe_models(clipsearch_library *lib, char *buf, size_t size, int *n_used)
{
    clipsearch_library_model models[16];
    int n = 0;
    size_t at = 0;
    buf[0] = '\0';
    *n_used = 0;
    if (clipsearch_library_models(lib, models, 16, &n, NULL) != CLIPSEARCH_OK)
        return;
    for (int i = 0; i < n && i < 16; i++) {
        if (models[i].n_embeddings <= 0)
            continue;
        (*n_used)++;
        if (at < size)
            at += (size_t)snprintf(buf + at, size - at, "%s%s (%lld photos, fingerprint %.12s)",
                                   at ? ", " : "", models[i].name,
                                   (long long)models[i].n_embeddings, models[i].fingerprint);
    }
}

static clipsearch_status pick_model(clipsearch_searcher *s, const char *requested,
                                    clipsearch_error *err)
{
    clipsearch_library_model models[16];
    char names[600];
    int n = 0, used = 0;
    clipsearch_status r;
    const char *env = getenv("CLIPSEARCH_MODEL");
    if (!requested && env && *env)
        requested = env;
    if (requested) {
        clipsearch_error e = {0};
        if ((r = clipsearch_model_resolve(requested, s->model_dir, sizeof s->model_dir, err)) !=
            CLIPSEARCH_OK)
            return r;
        /* The common case first: one lookup.  Listing the library's models
         * (for the messages) costs a scan of the embeddings. */
        r = clipsearch_library_find_model(s->lib, s->model_dir, &s->model, &e);
        if (r == CLIPSEARCH_OK)
            return CLIPSEARCH_OK;
        if (r != CLIPSEARCH_ERR_NOT_FOUND) {
            if (err)
                *err = e;
            return r;
        }
        describe_models(s->lib, names, sizeof names, &used);
        if (used == 0)
            goto empty;
        return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                            "the model %s is not the one the library %s was built with "
                            "(%s): pass that model with --model, or re-index with this "
                            "one (clipsearch-index --model %s FOLDER)",
                            s->model_dir, clipsearch_library_path(s->lib), names,
                            s->model_dir);
    }
    /* No model given: an installed model with the library's fingerprint. */
    if ((r = clipsearch_library_models(s->lib, models, 16, &n, err)) != CLIPSEARCH_OK)
        return r;
    for (int i = 0; i < n && i < 16; i++) {
        if (models[i].n_embeddings <= 0)
            continue;
        if (clipsearch_model_find_by_fingerprint(models[i].fingerprint, s->model_dir,
                                                 sizeof s->model_dir, NULL) == CLIPSEARCH_OK) {
            s->model = models[i];
            return CLIPSEARCH_OK;
        }
    }
    describe_models(s->lib, names, sizeof names, &used);
    if (used == 0)
        goto empty;
    return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                        "no model given and none of the installed models is the one the "
                        "library %s was built with (%s): pass --model DIR or set "
                        "CLIPSEARCH_MODEL (see 'clipsearch model list')",
                        clipsearch_library_path(s->lib), names);
empty:
    return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                        "the library %s is empty: index photos first "
                        "(clipsearch-index --model MODEL FOLDER)",
                        clipsearch_library_path(s->lib));
}

clipsearch_status clipsearch_searcher_open(const clipsearch_searcher_params *params,
                                           clipsearch_searcher **out,
                                           clipsearch_error *err)
{
    clipsearch_searcher_params dp = clipsearch_searcher_default_params();
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_searcher *s = NULL;
    clipsearch_status r;
    double t0 = now();
    if (!out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!params)
        params = &dp;
    if (!(s = calloc(1, sizeof *s)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    s->n_threads = params->n_threads;
    s->one_shot = params->one_shot;
    if (params->vocab && !(s->vocab = strdup(params->vocab))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    lp.read_only = 1;
    if ((r = clipsearch_library_open(params->library, &lp, &s->lib, err)) != CLIPSEARCH_OK)
        goto fail;
    if ((r = pick_model(s, params->model, err)) != CLIPSEARCH_OK)
        goto fail;
    /* Read the vector index while the caller loads the model and embeds
     * the query: the two are the bulk of a one-shot search. */
    clipsearch_library_prefetch_index(s->lib, &s->model, NULL);
    s->tok_loading = pthread_create(&s->tok_thread, NULL, tok_main, s) == 0;
    s->times.load_seconds += now() - t0;
    *out = s;
    return CLIPSEARCH_OK;
fail:
    clipsearch_searcher_close(s);
    return r;
}

static clipsearch_status load_tower(clipsearch_searcher *s, int tower, clipsearch_error *err)
{
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_context_params cp = clipsearch_context_default_params();
    clipsearch_model **m = tower == CLIPSEARCH_TOWER_TEXT ? &s->text_model : &s->vision_model;
    clipsearch_context **c = tower == CLIPSEARCH_TOWER_TEXT ? &s->text_ctx : &s->vision_ctx;
    clipsearch_status r;
    double t0 = now();
    if (*c)
        return CLIPSEARCH_OK;
    mp.towers = tower;
    mp.quick_start = s->one_shot && tower == CLIPSEARCH_TOWER_TEXT;
    if ((r = clipsearch_model_load(s->model_dir, &mp, m, err)) != CLIPSEARCH_OK)
        return r;
    if (clipsearch_model_get_info(*m)->projection_dim != s->model.dim) {
        r = cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                         "%s: embedding size %d differs from the library's %d", s->model_dir,
                         clipsearch_model_get_info(*m)->projection_dim, s->model.dim);
        return r;
    }
    /* A text query by default on one thread: the vector index is read on
     * the other core meanwhile (prefetch), and a second encoding thread
     * would only wait for it.  A photo is worth all cores. */
    cp.n_threads = s->n_threads > 0 ? s->n_threads : tower == CLIPSEARCH_TOWER_TEXT ? 1 : 0;
    cp.max_batch = 1;
    if ((r = clipsearch_context_new(*m, &cp, c, err)) != CLIPSEARCH_OK)
        return r;
    if (tower == CLIPSEARCH_TOWER_TEXT && !s->tok && !(s->tok = take_tokenizer(s))) {
        const char *path = s->vocab ? s->vocab : s->model_dir;
        if ((r = clipsearch_tokenizer_load(path, &s->tok, err)) != CLIPSEARCH_OK) {
            if (!s->vocab)
                cs_error_prefix(err, "the model folder has no usable tokenizer "
                                     "(vocab.json + merges.txt); pass --vocab PATH");
            return r;
        }
    }
    s->times.load_seconds += now() - t0;
    return CLIPSEARCH_OK;
}

static clipsearch_status embed_text(clipsearch_searcher *s, const char *text, float *out,
                                    clipsearch_error *err)
{
    const clipsearch_model_info *mi;
    int32_t *ids = NULL;
    int n_ids = 0;
    clipsearch_status r;
    if ((r = load_tower(s, CLIPSEARCH_TOWER_TEXT, err)) != CLIPSEARCH_OK)
        return r;
    mi = clipsearch_model_get_info(s->text_model);
    if (!(ids = calloc((size_t)mi->context_length, sizeof *ids)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    r = clipsearch_tokenize(s->tok, text, strlen(text), ids, mi->context_length, &n_ids, err);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_encode_text(s->text_ctx, ids, 1, mi->context_length, out, err);
    free(ids);
    return r;
}

static clipsearch_status embed_image(clipsearch_searcher *s, const char *path, float *out,
                                     clipsearch_error *err)
{
    char real[PATH_MAX];
    const clipsearch_model_info *mi;
    clipsearch_preprocess_params pp = clipsearch_preprocess_default_params();
    float *pixels = NULL;
    clipsearch_status r;
    /* Indexed already: the stored embedding is what the library compares. */
    if (realpath(path, real) &&
        clipsearch_library_get_embedding(s->lib, &s->model, real, out, NULL) == CLIPSEARCH_OK)
        return CLIPSEARCH_OK;
    if ((r = load_tower(s, CLIPSEARCH_TOWER_VISION, err)) != CLIPSEARCH_OK)
        return r;
    mi = clipsearch_model_get_info(s->vision_model);
    pp.size = mi->image_size;
    memcpy(pp.mean, mi->image_mean, sizeof pp.mean);
    memcpy(pp.std, mi->image_std, sizeof pp.std);
    pp.mode = CLIPSEARCH_PREPROCESS_FAST; /* as the indexer does */
    if (!(pixels = malloc((size_t)3 * (size_t)pp.size * (size_t)pp.size * sizeof *pixels)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    r = clipsearch_preprocess_file(path, &pp, pixels, NULL, err);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_encode_images(s->vision_ctx, pixels, 1, out, err);
    free(pixels);
    return r;
}

void cs_query_add_term(float *query, float *e, float weight, int dim)
{
    clipsearch_normalize(e, 1, dim);
    for (int j = 0; j < dim; j++)
        query[j] += weight * e[j];
}

clipsearch_status cs_query_finish(float *query, int dim, clipsearch_error *err)
{
    double norm = 0;
    for (int j = 0; j < dim; j++)
        norm += (double)query[j] * query[j];
    if (!(norm > 1e-12))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "the query terms cancel out: nothing left to search for");
    clipsearch_normalize(query, 1, dim);
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_searcher_embed(clipsearch_searcher *s,
                                            const clipsearch_query_term *terms, int n,
                                            float *query, clipsearch_error *err)
{
    int dim = s->model.dim;
    float *e = NULL;
    double t0 = now();
    clipsearch_status r = CLIPSEARCH_OK;
    if (!terms || n <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "no query given");
    if (n > CLIPSEARCH_MAX_QUERY_TERMS)
        return cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE,
                            "%d query terms: at most %d can be combined", n,
                            CLIPSEARCH_MAX_QUERY_TERMS);
    if (!(e = malloc((size_t)dim * sizeof *e)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    memset(query, 0, (size_t)dim * sizeof *query);
    for (int i = 0; i < n; i++) {
        r = terms[i].kind == CLIPSEARCH_TERM_IMAGE ? embed_image(s, terms[i].value, e, err)
                                                   : embed_text(s, terms[i].value, e, err);
        if (r != CLIPSEARCH_OK)
            goto out;
        cs_query_add_term(query, e, terms[i].weight, dim);
    }
    r = cs_query_finish(query, dim, err);
out:
    s->times.embed_seconds += now() - t0;
    free(e);
    return r;
}

clipsearch_status clipsearch_searcher_search(clipsearch_searcher *s,
                                             const clipsearch_query_term *terms, int n,
                                             const clipsearch_search_params *params,
                                             clipsearch_search_results **out,
                                             clipsearch_error *err)
{
    float *q = malloc((size_t)s->model.dim * sizeof *q);
    clipsearch_status r;
    double t0;
    if (!q)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    r = clipsearch_searcher_embed(s, terms, n, q, err);
    t0 = now();
    if (r == CLIPSEARCH_OK)
        r = clipsearch_library_search(s->lib, &s->model, q, params, out, err);
    s->times.search_seconds += now() - t0;
    free(q);
    return r;
}
