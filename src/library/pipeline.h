/* pipeline.h — decode on worker threads, encode in batches on the calling
 * thread, hand each finished batch to a sink (which writes it in one
 * transaction).  Decoding of batch b+1.. overlaps encoding of batch b.
 * Private to libclipsearch. */
#ifndef CS_PIPELINE_H
#define CS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/image.h"
#include "clipsearch/model.h"

typedef struct cs_pipeline_item {
    const char *path;         /* input */
    void *user;               /* input: caller's bookkeeping */
    /* outputs, valid in the sink */
    int ok;                   /* decoded and embedded */
    clipsearch_image_info info;
    char error[512];          /* why not ok */
} cs_pipeline_item;

/* Receives items[0..n-1] of one batch and embeds[n][dim] (L2-normalised;
 * rows of items that are not ok are undefined).  Runs on the calling thread
 * of cs_pipeline_run.  A non-OK return stops the pipeline with that error. */
typedef clipsearch_status (*cs_pipeline_sink)(cs_pipeline_item *items, const float *embeds,
                                              int n, void *user, clipsearch_error *err);

typedef struct cs_pipeline_params {
    const clipsearch_model *model; /* vision tower loaded */
    int n_threads;                 /* decode workers; also the encoder's threads */
    int batch_size;
    clipsearch_preprocess_params preprocess;
    /* Polled after each batch; non-zero stops after sinking it. */
    int (*cancel)(void *user);
    void *cancel_user;
} cs_pipeline_params;

typedef struct cs_pipeline_times {
    double decode_seconds; /* summed over workers: read + decode + preprocess */
    double encode_seconds; /* wall time in clipsearch_encode_images */
    double sink_seconds;   /* wall time in the sink */
    double wait_seconds;   /* encoder waiting for decoded photos */
} cs_pipeline_times;

/* Runs items[0..n-1] through the pipeline in order.  Returns OK,
 * CLIPSEARCH_ERR_INTERRUPTED (cancel asked; the batches handed to the sink
 * are complete), or the first error of the encoder or the sink. */
clipsearch_status cs_pipeline_run(const cs_pipeline_params *params, cs_pipeline_item *items,
                                  size_t n, cs_pipeline_sink sink, void *sink_user,
                                  cs_pipeline_times *times, clipsearch_error *err);

#endif
