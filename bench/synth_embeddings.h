/* synth_embeddings.h — clustered synthetic embeddings and libraries made of
 * them, for bench_search and the index tests (tests/test_index_scale.c).
 *
 * Uniform random unit vectors are a poor stand-in for CLIP embeddings: in
 * high dimension they are all nearly orthogonal, so an approximate index
 * either finds nothing near (hard) or its errors do not matter (every
 * neighbour is equally far).  Real photo embeddings share a common
 * direction (CLIP's are anisotropic: two random photos have cosine ~0.2-0.5)
 * and bunch around many topics.  The model here:
 *
 *   x = normalise(0.5 m + c_k + s e)
 *
 * m a fixed unit "mean" direction, c_k one of n_dirs unit topic directions
 * (topic k drawn with Zipf-like weights 1/(k+10): a few big topics, a long
 * tail), e fresh unit noise, s the spread (0.8: same-topic cosine ~0.66,
 * different topics ~0.13; photos of one topic differ as much as they agree).
 * A "text-like" query uses a larger s (it matches its topic more loosely).
 * Deterministic for a given seed.
 */
#ifndef CS_SYNTH_EMBEDDINGS_H
#define CS_SYNTH_EMBEDDINGS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch/common.h"
#include "store.h"

typedef struct synth {
    int dim, n_dirs;
    uint64_t rng;
    float *mean;   /* [dim] */
    float *dirs;   /* [n_dirs][dim] */
    double *cum;   /* [n_dirs] cumulative topic weights, last = 1 */
} synth;

static inline double synth_uniform(synth *s)
{
    s->rng ^= s->rng << 13, s->rng ^= s->rng >> 7, s->rng ^= s->rng << 17;
    return ((double)(s->rng >> 11) + 0.5) / 9007199254740992.0;
}

static inline double synth_gauss(synth *s)
{
    double u = synth_uniform(s), v = synth_uniform(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static inline void synth_unit(synth *s, float *out)
{
    double n = 0;
    for (int j = 0; j < s->dim; j++)
        out[j] = (float)synth_gauss(s), n += (double)out[j] * out[j];
    for (int j = 0; j < s->dim; j++)
        out[j] = (float)(out[j] / sqrt(n));
}

static inline void synth_free(synth *s)
{
    free(s->mean);
    free(s->dirs);
    free(s->cum);
    memset(s, 0, sizeof *s);
}

/* 0 on success, -1 out of memory. */
static inline int synth_init(synth *s, int dim, int n_dirs, uint64_t seed)
{
    double total = 0;
    memset(s, 0, sizeof *s);
    s->dim = dim;
    s->n_dirs = n_dirs;
    s->rng = seed * 0x9e3779b97f4a7c15ull + 1;
    s->mean = malloc((size_t)dim * sizeof *s->mean);
    s->dirs = malloc((size_t)n_dirs * (size_t)dim * sizeof *s->dirs);
    s->cum = malloc((size_t)n_dirs * sizeof *s->cum);
    if (!s->mean || !s->dirs || !s->cum) {
        synth_free(s);
        return -1;
    }
    synth_unit(s, s->mean);
    for (int k = 0; k < n_dirs; k++) {
        synth_unit(s, s->dirs + (size_t)k * dim);
        total += 1.0 / (k + 10);
        s->cum[k] = total;
    }
    for (int k = 0; k < n_dirs; k++)
        s->cum[k] /= total;
    return 0;
}

/* One embedding with spread `spread` (0.8 for photos) into out[dim]. */
static inline void synth_next(synth *s, double spread, float *out)
{
    double u = synth_uniform(s), n = 0;
    int lo = 0, hi = s->n_dirs - 1;
    const float *c;
    float *e = out; /* the noise is drawn into out, then combined in place */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s->cum[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    c = s->dirs + (size_t)lo * s->dim;
    synth_unit(s, e);
    for (int j = 0; j < s->dim; j++) {
        out[j] = (float)(0.5 * s->mean[j] + c[j] + spread * e[j]);
        n += (double)out[j] * out[j];
    }
    for (int j = 0; j < s->dim; j++)
        out[j] = (float)(out[j] / sqrt(n));
}

/* Writes n photos numbered first.. (files rows with plausible metadata, one
 * embedding each from synth_next(spread 0.8)) for a model (name,
 * fingerprint, dim, index_type: NULL keeps the model's, "auto" for a new
 * one) into the library database db_file, in transactions of 10,000.
 * *model_id gets the model's id. */
static inline clipsearch_status synth_write_library(const char *db_file, const char *name,
                                                    const char *fingerprint, int dim,
                                                    int64_t first, int64_t n,
                                                    const char *index_type,
                                                    synth *s, int64_t *model_id,
                                                    clipsearch_error *err)
{
    cs_store *st = NULL;
    cs_model_row row;
    float *v = malloc((size_t)dim * sizeof *v);
    clipsearch_status r;
    if (!v)
        return CLIPSEARCH_ERR_OUT_OF_MEMORY;
    if ((r = cs_store_open(db_file, 0, &st, err)) != CLIPSEARCH_OK ||
        (r = cs_store_begin_write(st, err)) != CLIPSEARCH_OK ||
        (r = cs_store_model_get_or_add(st, name, dim, fingerprint, index_type, &row, err)) !=
            CLIPSEARCH_OK)
        goto out;
    for (int64_t i = first; i < first + n; i++) {
        char path[64], taken[32];
        cs_file_meta m;
        int64_t id = 0;
        memset(&m, 0, sizeof m);
        snprintf(path, sizeof path, "/photos/%03lld/IMG_%07lld.jpg", (long long)(i / 1000),
                 (long long)i);
        snprintf(taken, sizeof taken, "20%02d-%02d-%02d 12:00:00", (int)(10 + i % 15),
                 (int)(1 + i % 12), (int)(1 + i % 28));
        m.path = path;
        m.size = 3000000 + i;
        m.mtime_ns = 1600000000000000000ll + i;
        m.format = "jpeg";
        m.width = 4000;
        m.height = 3000;
        m.orientation = 1;
        m.taken = taken;
        synth_next(s, 0.8, v);
        if ((r = cs_store_file_put(st, &m, &id, err)) != CLIPSEARCH_OK ||
            (r = cs_store_embedding_put(st, id, row.id, v, dim, err)) != CLIPSEARCH_OK)
            goto out;
        if ((i - first + 1) % 10000 == 0 && ((r = cs_store_commit(st, err)) != CLIPSEARCH_OK ||
                                     (r = cs_store_begin_write(st, err)) != CLIPSEARCH_OK))
            goto out;
    }
    if ((r = cs_store_model_bump(st, row.id, err)) != CLIPSEARCH_OK ||
        (r = cs_store_commit(st, err)) != CLIPSEARCH_OK)
        goto out;
    *model_id = row.id;
out:
    if (r != CLIPSEARCH_OK)
        cs_store_rollback(st);
    cs_store_close(st);
    free(v);
    return r;
}

#endif
