/* fuzz_serve_upload.c — what POST /api/search does with its body: bytes ->
 * a decoded example photo (under a pixel budget) -> an embedding by the
 * clip-shapes model's image tower, or an error with a 4xx/5xx status.
 * The model comes from $CLIPSEARCH_FIXTURES_DIR/clip-shapes when present;
 * without it the harness stops after preprocessing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static clipsearch_model *model;
static clipsearch_context *ctx;
static int tried;

static void load_model(void)
{
    const char *fix = getenv("CLIPSEARCH_FIXTURES_DIR");
    char dir[4096];
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_context_params cp = clipsearch_context_default_params();
    tried = 1;
    if (!fix)
        return;
    snprintf(dir, sizeof dir, "%s/clip-shapes", fix);
    mp.towers = CLIPSEARCH_TOWER_VISION;
    cp.n_threads = 1;
    cp.max_batch = 1;
    if (clipsearch_model_load(dir, &mp, &model, NULL) != CLIPSEARCH_OK ||
        clipsearch_context_new(model, &cp, &ctx, NULL) != CLIPSEARCH_OK) {
        clipsearch_model_free(model);
        model = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const clipsearch_model_info fallback = {.projection_dim = 8,
                                                   .image_size = 32,
                                                   .image_mean = {0.5f, 0.5f, 0.5f},
                                                   .image_std = {0.25f, 0.25f, 0.25f}};
    const clipsearch_model_info *mi;
    clipsearch_error err = {0};
    float out[1024];
    int status = 0;
    clipsearch_status r;
    if (!tried)
        load_model();
    mi = model ? clipsearch_model_get_info(model) : &fallback;
    /* A small budget keeps the harness fast; the server uses the default. */
    r = cs_upload_embed(mi, model ? ctx : NULL, data, size, 4LL * 1000 * 1000, out, &status,
                        &err);
    if (r == CLIPSEARCH_OK) {
        if (model) {
            double norm = 0;
            for (int i = 0; i < mi->projection_dim; i++)
                norm += (double)out[i] * out[i];
            if (!(fabs(norm - 1.0) < 1e-3))
                abort();
        }
    } else if (status < 400 || status > 599 || !err.message[0]) {
        abort();
    }
    return 0;
}
