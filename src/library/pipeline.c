/* pipeline.c — overlapped decode / encode / write (see pipeline.h).
 *
 * Items are cut into batches of batch_size.  K batch slots of preprocessed
 * pixels rotate: workers claim items in order and decode into the slot of
 * their batch, as long as that batch is fewer than K ahead of the one being
 * encoded; the calling thread waits for each batch to be complete, encodes
 * it, hands it to the sink and frees its slot. */
#include "pipeline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

#define SLOTS 3

typedef struct pipe {
    const cs_pipeline_params *p;
    cs_pipeline_item *items;
    size_t n;
    size_t B;        /* batch size */
    size_t per;      /* floats per image: 3*S*S */
    float *pixels;   /* [SLOTS][B][3][S][S] */
    size_t next;     /* next item to claim */
    size_t consumed; /* batches encoded and sunk */
    size_t done[SLOTS];
    int stop;
    double decode_seconds;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
} pipe_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t batch_len(const pipe_t *q, size_t b)
{
    size_t start = b * q->B;
    return q->n - start < q->B ? q->n - start : q->B;
}

static void *worker(void *arg)
{
    pipe_t *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        size_t i, b;
        double t0;
        cs_pipeline_item *it;
        clipsearch_error e = {0};
        if (q->stop || q->next >= q->n)
            break;
        i = q->next;
        b = i / q->B;
        if (b >= q->consumed + SLOTS) {
            pthread_cond_wait(&q->cv_work, &q->mu);
            continue;
        }
        q->next++;
        pthread_mutex_unlock(&q->mu);

        it = &q->items[i];
        t0 = now();
        memset(&it->info, 0, sizeof it->info);
        it->error[0] = '\0';
        it->ok = clipsearch_preprocess_file(it->path, &q->p->preprocess,
                                            q->pixels + ((b % SLOTS) * q->B + i % q->B) * q->per,
                                            &it->info, &e) == CLIPSEARCH_OK;
        if (!it->ok)
            snprintf(it->error, sizeof it->error, "%.*s", (int)sizeof it->error - 1,
                     e.message[0] ? e.message : clipsearch_strerror(e.status));
        t0 = now() - t0;

        pthread_mutex_lock(&q->mu);
        q->decode_seconds += t0;
        if (++q->done[b % SLOTS] == batch_len(q, b))
            pthread_cond_broadcast(&q->cv_done);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

clipsearch_status cs_pipeline_run(const cs_pipeline_params *params, cs_pipeline_item *items,
                                  size_t n, cs_pipeline_sink sink, void *sink_user,
                                  cs_pipeline_times *times, clipsearch_error *err)
{
    const clipsearch_model_info *mi = clipsearch_model_get_info(params->model);
    clipsearch_context_params cp = clipsearch_context_default_params();
    clipsearch_context *ctx = NULL;
    pipe_t q;
    pthread_t *threads = NULL;
    int n_workers = params->n_threads > 0 ? params->n_threads : 1, started = 0;
    int dim = mi->projection_dim, S = params->preprocess.size;
    float *embeds = NULL, *compact_out = NULL;
    size_t nb;
    clipsearch_status r = CLIPSEARCH_OK;
    int mu_init = 0;

    memset(&q, 0, sizeof q);
    if (times)
        memset(times, 0, sizeof *times);
    if (n == 0)
        return CLIPSEARCH_OK;
    if (S != mi->image_size)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "preprocess size %d differs from the model's image size %d", S,
                            mi->image_size);
    q.p = params;
    q.items = items;
    q.n = n;
    q.B = params->batch_size > 0 ? (size_t)params->batch_size : 32;
    q.per = (size_t)3 * (size_t)S * (size_t)S;
    nb = (n + q.B - 1) / q.B;

    cp.n_threads = params->n_threads;
    cp.max_batch = (int)q.B;
    if ((r = clipsearch_context_new(params->model, &cp, &ctx, err)) != CLIPSEARCH_OK)
        return r;
    q.pixels = malloc(SLOTS * q.B * q.per * sizeof(float));
    embeds = malloc(q.B * (size_t)dim * sizeof(float));
    compact_out = malloc(q.B * (size_t)dim * sizeof(float));
    threads = calloc((size_t)n_workers, sizeof *threads);
    if (!q.pixels || !embeds || !compact_out || !threads) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY,
                         "out of memory for a batch of %zu photos", q.B);
        goto out;
    }
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.cv_work, NULL);
    pthread_cond_init(&q.cv_done, NULL);
    mu_init = 1;
    for (; started < n_workers; started++)
        if (pthread_create(&threads[started], NULL, worker, &q) != 0)
            break;
    if (started == 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "cannot start decoding threads");
        goto out;
    }

    for (size_t b = 0; b < nb; b++) {
        size_t len = batch_len(&q, b), n_ok = 0;
        float *slot = q.pixels + (b % SLOTS) * q.B * q.per;
        cs_pipeline_item *bi = items + b * q.B;
        double t0 = now();
        int stop_now;
        pthread_mutex_lock(&q.mu);
        while (q.done[b % SLOTS] < len)
            pthread_cond_wait(&q.cv_done, &q.mu);
        pthread_mutex_unlock(&q.mu);
        if (times)
            times->wait_seconds += now() - t0;

        /* Pack the decoded photos together, encode, scatter back. */
        for (size_t k = 0; k < len; k++) {
            if (!bi[k].ok)
                continue;
            if (k != n_ok)
                memcpy(slot + n_ok * q.per, slot + k * q.per, q.per * sizeof(float));
            n_ok++;
        }
        if (n_ok > 0) {
            t0 = now();
            r = clipsearch_encode_images(ctx, slot, (int)n_ok, compact_out, err);
            if (times)
                times->encode_seconds += now() - t0;
            if (r != CLIPSEARCH_OK)
                goto stop;
            clipsearch_normalize(compact_out, (int)n_ok, dim);
            for (size_t k = 0, j = 0; k < len; k++)
                if (bi[k].ok)
                    memcpy(embeds + k * (size_t)dim, compact_out + (j++) * (size_t)dim,
                           (size_t)dim * sizeof(float));
        }
        t0 = now();
        r = sink(bi, embeds, (int)len, sink_user, err);
        if (times)
            times->sink_seconds += now() - t0;
        if (r != CLIPSEARCH_OK)
            goto stop;
        stop_now = params->cancel && params->cancel(params->cancel_user);
        pthread_mutex_lock(&q.mu);
        q.done[b % SLOTS] = 0;
        q.consumed++;
        if (stop_now)
            q.stop = 1;
        pthread_cond_broadcast(&q.cv_work);
        pthread_mutex_unlock(&q.mu);
        if (stop_now && b + 1 < nb) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INTERRUPTED,
                             "interrupted after %zu of %zu photos", (b + 1) * q.B < n ? (b + 1) * q.B : n, n);
            goto out;
        }
    }
    goto out;
stop:
    pthread_mutex_lock(&q.mu);
    q.stop = 1;
    pthread_cond_broadcast(&q.cv_work);
    pthread_mutex_unlock(&q.mu);
out:
    if (mu_init) {
        pthread_mutex_lock(&q.mu);
        q.stop = 1;
        pthread_cond_broadcast(&q.cv_work);
        pthread_mutex_unlock(&q.mu);
    }
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    if (times)
        times->decode_seconds = q.decode_seconds;
    if (mu_init) {
        pthread_mutex_destroy(&q.mu);
        pthread_cond_destroy(&q.cv_work);
        pthread_cond_destroy(&q.cv_done);
    }
    free(threads);
    free(q.pixels);
    free(embeds);
    free(compact_out);
    clipsearch_context_free(ctx);
    return r;
}
