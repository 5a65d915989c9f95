/* context.c — a worker context: scratch memory and the splitting of a batch
 * between threads.
 *
 * A batch of images (or texts) is cut into one contiguous share per thread;
 * each thread runs the whole tower over its share with single-threaded
 * OpenBLAS, so threads never wait on each other inside a layer.  A single
 * image or text cannot be split that way: its matrix products are split by
 * output columns over OpenMP threads instead (kernels.c). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "kernels.h"
#include "resnet.h"
#include "towers.h"

struct clipsearch_context {
    const clipsearch_model *model;
    int n_threads;
    int max_batch;
    cs_scratch *scratch; /* [n_threads] */
};

clipsearch_context_params clipsearch_context_default_params(void)
{
    clipsearch_context_params p = {.n_threads = 0, .max_batch = 32};
    return p;
}

clipsearch_status clipsearch_context_new(const clipsearch_model *model,
                                         const clipsearch_context_params *params,
                                         clipsearch_context **out, clipsearch_error *err)
{
    clipsearch_context_params p = params ? *params : clipsearch_context_default_params();
    clipsearch_context *ctx;
    if (!model || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "model or out is NULL");
    *out = NULL;
    if (p.n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p.n_threads = n > 0 ? (int)n : 1;
    }
    if (p.n_threads > 256)
        p.n_threads = 256;
    if (p.max_batch <= 0)
        p.max_batch = 32;
    if (p.max_batch > 4096)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "max_batch %d is too large",
                            p.max_batch);
    ctx = calloc(1, sizeof *ctx);
    if (!ctx || !(ctx->scratch = calloc((size_t)p.n_threads, sizeof *ctx->scratch))) {
        free(ctx);
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    }
    ctx->model = model;
    ctx->n_threads = p.n_threads;
    ctx->max_batch = p.max_batch;
    *out = ctx;
    return CLIPSEARCH_OK;
}

void clipsearch_context_free(clipsearch_context *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < ctx->n_threads; i++)
        cs_scratch_free(&ctx->scratch[i]);
    free(ctx->scratch);
    free(ctx);
}

void clipsearch_normalize(float *vectors, int n, int dim)
{
    for (int i = 0; i < n; i++) {
        float *v = vectors + (size_t)i * dim;
        double ss = 0;
        for (int j = 0; j < dim; j++)
            ss += (double)v[j] * v[j];
        if (ss > 0) {
            float inv = (float)(1.0 / sqrt(ss));
            for (int j = 0; j < dim; j++)
                v[j] *= inv;
        }
    }
}

/* One thread's share of a batch. */
typedef struct job {
    const clipsearch_model *model;
    cs_scratch *scratch;
    int vision;
    int first, count; /* rows of the batch */
    const float *pixels;
    const int32_t *ids;
    int stride;
    const int *len;
    float *embeds;
    cs_hidden_fn fn; /* only for the share holding row 0 */
    void *user;
} job;

static void run_job(job *j)
{
    const clipsearch_model *m = j->model;
    int dim = m->info.projection_dim;
    if (j->vision && m->vision_kind == CS_VISION_RESNET) {
        size_t img = (size_t)3 * m->resnet.image_size * m->resnet.image_size;
        cs_resnet_forward(&m->resnet, j->pixels + (size_t)j->first * img, j->count,
                          j->embeds + (size_t)j->first * dim, j->scratch, j->fn, j->user);
    } else if (j->vision) {
        size_t img = (size_t)3 * m->vision.image_size * m->vision.image_size;
        cs_vision_forward(&m->vision, j->pixels + (size_t)j->first * img, j->count,
                          j->embeds + (size_t)j->first * dim, j->scratch, j->fn, j->user);
    } else {
        cs_text_forward(&m->text, j->ids + (size_t)j->first * j->stride, j->stride,
                        j->len + j->first, j->count, j->embeds + (size_t)j->first * dim,
                        j->scratch, j->fn, j->user);
    }
}

static void *job_thread(void *arg)
{
    run_job(arg);
    return NULL;
}

/* Runs a chunk of `n` rows split over up to ctx->n_threads threads. */
static clipsearch_status run_chunk(clipsearch_context *ctx, job proto, int n,
                                   clipsearch_error *err)
{
    job jobs[256];
    pthread_t threads[256];
    int started[256] = {0};
    int nt = n < ctx->n_threads ? n : ctx->n_threads;
    const clipsearch_model *m = ctx->model;
    int first = proto.first;

    for (int t = 0; t < nt; t++) {
        const cs_transformer *tf = proto.vision ? &m->vision.tf : &m->text.tf;
        int count = n / nt + (t < n % nt);
        int rows, tokens, patch_cols = 0;
        jobs[t] = proto;
        jobs[t].scratch = &ctx->scratch[t];
        jobs[t].first = first;
        jobs[t].count = count;
        if (t > 0)
            jobs[t].fn = NULL;
        if (proto.vision && m->vision_kind == CS_VISION_RESNET) {
            if (!cs_resnet_reserve(&ctx->scratch[t], &m->resnet, count))
                return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY,
                                    "out of memory for a batch of %d", n);
            first += count;
            continue;
        }
        if (proto.vision) {
            tokens = m->vision.tokens;
            rows = count * tokens;
            patch_cols = 3 * m->vision.patch_size * m->vision.patch_size;
        } else {
            rows = 0;
            tokens = 0;
            for (int i = 0; i < count; i++) {
                rows += proto.len[first + i];
                if (proto.len[first + i] > tokens)
                    tokens = proto.len[first + i];
            }
        }
        if (!cs_scratch_reserve(&ctx->scratch[t], rows, tf->width, tf->mlp, tokens, patch_cols,
                                count))
            return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY,
                                "out of memory for a batch of %d", n);
        first += count;
    }
    /* OpenBLAS always runs single-threaded under the engine: its own worker
     * threads spin after each call and would fight ours for the cores. */
    cs_blas_set_threads(1);
    if (nt == 1) {
        ctx->scratch[0].threads = ctx->n_threads;
        run_job(&jobs[0]);
        return CLIPSEARCH_OK;
    }
    for (int t = 0; t < nt; t++)
        ctx->scratch[t].threads = 1;
    for (int t = 1; t < nt; t++)
        started[t] = pthread_create(&threads[t], NULL, job_thread, &jobs[t]) == 0;
    run_job(&jobs[0]);
    /* A thread that could not start runs here: slower, still correct. */
    for (int t = 1; t < nt; t++) {
        if (started[t])
            pthread_join(threads[t], NULL);
        else
            run_job(&jobs[t]);
    }
    return CLIPSEARCH_OK;
}

clipsearch_status cs_encode_images_traced(clipsearch_context *ctx, const float *pixels, int n,
                                          float *embeds, cs_hidden_fn fn, void *user,
                                          clipsearch_error *err)
{
    job proto = {0};
    if (!ctx || !pixels || !embeds || n < 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "invalid arguments");
    if (!(ctx->model->towers & CLIPSEARCH_TOWER_VISION))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "the model was loaded without its image tower");
    proto = (job){.model = ctx->model, .vision = 1, .pixels = pixels, .embeds = embeds,
                  .fn = fn, .user = user};
    for (int done = 0; done < n;) {
        int chunk = n - done < ctx->max_batch ? n - done : ctx->max_batch;
        clipsearch_status rc;
        proto.first = done;
        rc = run_chunk(ctx, proto, chunk, err);
        if (rc != CLIPSEARCH_OK)
            return rc;
        proto.fn = NULL;
        done += chunk;
    }
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_encode_images(clipsearch_context *ctx, const float *pixels, int n,
                                           float *embeds, clipsearch_error *err)
{
    return cs_encode_images_traced(ctx, pixels, n, embeds, NULL, NULL, err);
}

clipsearch_status cs_encode_text_traced(clipsearch_context *ctx, const int32_t *ids, int n,
                                        int stride, float *embeds, cs_hidden_fn fn, void *user,
                                        clipsearch_error *err)
{
    const cs_text_tower *t;
    job proto = {0};
    int *len = NULL;
    clipsearch_status rc = CLIPSEARCH_OK;
    if (!ctx || !ids || !embeds || n < 0 || stride < 1)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "invalid arguments");
    if (!(ctx->model->towers & CLIPSEARCH_TOWER_TEXT))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "the model was loaded without its text tower");
    t = &ctx->model->text;
    len = malloc((n ? (size_t)n : 1) * sizeof *len);
    if (!len)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    /* Check every id, and find each row's first <|endoftext|>: under the
     * causal mask nothing after it changes the pooled state. */
    for (int i = 0; i < n; i++) {
        const int32_t *row = ids + (size_t)i * stride;
        int limit = stride < t->context ? stride : t->context;
        len[i] = 0;
        for (int j = 0; j < limit; j++) {
            if (row[j] < 0 || row[j] >= t->vocab) {
                rc = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                  "text %d: token id %d at position %d is outside the "
                                  "vocabulary (0..%d)",
                                  i, (int)row[j], j, t->vocab - 1);
                goto out;
            }
            if (row[j] == t->eot_id) {
                len[i] = j + 1;
                break;
            }
        }
        if (len[i] == 0) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                              "text %d: no end-of-text token (%d) within its first %d ids", i,
                              t->eot_id, limit);
            goto out;
        }
    }
    proto = (job){.model = ctx->model, .vision = 0, .ids = ids, .stride = stride, .len = len,
                  .embeds = embeds, .fn = fn, .user = user};
    for (int done = 0; done < n;) {
        int chunk = n - done < ctx->max_batch ? n - done : ctx->max_batch;
        proto.first = done;
        rc = run_chunk(ctx, proto, chunk, err);
        if (rc != CLIPSEARCH_OK)
            goto out;
        proto.fn = NULL;
        done += chunk;
    }
out:
    free(len);
    return rc;
}

clipsearch_status clipsearch_encode_text(clipsearch_context *ctx, const int32_t *ids, int n,
                                         int stride, float *embeds, clipsearch_error *err)
{
    return cs_encode_text_traced(ctx, ids, n, stride, embeds, NULL, NULL, err);
}
