/* test_preprocess_embed.c — what preprocessing does to embeddings with the
 * tiny clip-tiny-b32 model: exact mode from the photo files reproduces the
 * golden image_embeds (within 1e-4 x max|golden|), and the cosine between
 * fast-mode and exact-mode embeddings of each fixture photo is reported
 * (and must stay above 0.99). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clipsearch.h"
#include "safetensors.h"
#include "testutil.h"

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

int main(void)
{
    clipsearch_model *model = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_error err = {0, ""};
    cs_safetensors *st = NULL;
    const clipsearch_model_info *mi;
    clipsearch_preprocess_params p;
    const cJSON *images;
    cJSON *json = NULL;
    char *text;
    double *golden = NULL, gmax = 0;
    float *px = NULL, *e_exact = NULL, *e_fast = NULL;
    int P, S, n;
    const cs_tensor *t;

    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    tu_require_fixture("golden/golden-b32.safetensors");
    text = tu_read_file(tu_fixture("golden/golden.json"), NULL);
    json = text ? cJSON_Parse(text) : NULL;
    free(text);
    images = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(json, "provenance"),
                                              "images");
    n = cJSON_GetArraySize(images);
    CHECK(n == 18, "18 images in golden.json");

    if (clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), NULL, &model, &err) !=
            CLIPSEARCH_OK ||
        clipsearch_context_new(model, NULL, &ctx, &err) != CLIPSEARCH_OK) {
        CHECK(0, "model: %s", err.message);
        goto out;
    }
    mi = clipsearch_model_get_info(model);
    P = mi->projection_dim;
    S = mi->image_size;
    p = clipsearch_preprocess_default_params();
    p.size = S;
    memcpy(p.mean, mi->image_mean, sizeof p.mean);
    memcpy(p.std, mi->image_std, sizeof p.std);

    CHECK(cs_safetensors_open(tu_fixture("golden/golden-b32.safetensors"), &st, &err) ==
              CLIPSEARCH_OK,
          "%s", err.message);
    t = st ? cs_safetensors_find(st, "image_embeds") : NULL;
    CHECK(t && t->numel == (int64_t)n * P, "image_embeds [%d,%d]", n, P);
    if (!t || t->numel != (int64_t)n * P)
        goto out;
    golden = malloc(sizeof(double) * (size_t)n * P);
    CHECK(cs_tensor_to_f64(t, golden, &err) == CLIPSEARCH_OK, "%s", err.message);
    gmax = tu_max_abs(golden, (size_t)n * P);

    px = malloc(sizeof(float) * 3 * (size_t)S * S);
    e_exact = malloc(sizeof(float) * (size_t)P);
    e_fast = malloc(sizeof(float) * (size_t)P);
    printf("%-24s %14s %18s\n", "image", "exact vs golden", "cos(fast, exact)");
    for (int i = 0; i < n; i++) {
        const char *name = cJSON_GetArrayItem(images, i)->valuestring;
        char rel[128];
        double d, c;
        snprintf(rel, sizeof rel, "images/%s", name);
        p.mode = CLIPSEARCH_PREPROCESS_EXACT;
        if (clipsearch_preprocess_file(tu_fixture(rel), &p, px, NULL, &err) != CLIPSEARCH_OK ||
            clipsearch_encode_images(ctx, px, 1, e_exact, &err) != CLIPSEARCH_OK) {
            CHECK(0, "%s: %s", name, err.message);
            continue;
        }
        p.mode = CLIPSEARCH_PREPROCESS_FAST;
        if (clipsearch_preprocess_file(tu_fixture(rel), &p, px, NULL, &err) != CLIPSEARCH_OK ||
            clipsearch_encode_images(ctx, px, 1, e_fast, &err) != CLIPSEARCH_OK) {
            CHECK(0, "%s (fast): %s", name, err.message);
            continue;
        }
        d = tu_max_abs_diff(e_exact, golden + (size_t)i * P, (size_t)P);
        c = cosine(e_fast, e_exact, P);
        printf("%-24s %14.3g %18.7f\n", name, d / gmax, c);
        CHECK(d <= 1e-4 * gmax, "%s: exact-mode embedding off by %.3g x max|golden|", name,
              d / gmax);
        CHECK(c >= 0.99, "%s: cos(fast, exact) = %.6f", name, c);
    }
out:
    free(golden);
    free(px);
    free(e_exact);
    free(e_fast);
    cs_safetensors_close(st);
    clipsearch_context_free(ctx);
    clipsearch_model_free(model);
    cJSON_Delete(json);
    return tu_finish("test_preprocess_embed");
}
