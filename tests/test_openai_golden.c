/* test_openai_golden.c — the OpenAI / OpenCLIP layout against OpenAI's own
 * model code (float64 reference): openai-tiny-vit (ViT) and openai-tiny-rn
 * (ModifiedResNet).  Text embeddings of the 48 golden input_ids, image
 * embeddings of the 18 golden pixel tensors, and for the ResNet the first
 * image's activations after layer1..layer4 and after the attention pool.
 * Tolerance: max |diff| <= 1e-4 x max |golden| (fixtures/README.md). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "model_internal.h"
#include "safetensors.h"
#include "testutil.h"

#define TOL 1e-4

/* The golden [C][H][W] activation against our [H*W][C]. */
static void compare_chw(const char *what, const float *hwc, int hw, int c, const double *chw)
{
    float *t = malloc((size_t)hw * c * sizeof *t);
    for (int p = 0; p < hw; p++)
        for (int ch = 0; ch < c; ch++)
            t[(size_t)ch * hw + p] = hwc[(size_t)p * c + ch];
    tu_compare(what, t, chw, (size_t)hw * c, TOL);
    free(t);
}

static void check_model(const char *model_dir, const char *golden_file, int resnet, int n_threads,
                        int max_batch)
{
    clipsearch_model *model = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_error err = {0};
    cs_safetensors *gold = NULL;
    clipsearch_context_params cp = clipsearch_context_default_params();
    const clipsearch_model_info *info;
    tu_trace tr = {0};
    int n_images = 0;
    char **images = tu_golden_image_names(&n_images);

    printf("%s (threads %d, batch %d)\n", model_dir, n_threads, max_batch);
    CHECK(clipsearch_model_load(tu_fixture(model_dir), NULL, &model, &err) == CLIPSEARCH_OK,
          "load %s: %s", model_dir, err.message);
    CHECK(cs_safetensors_open(tu_fixture(golden_file), &gold, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    if (!model || !gold)
        goto out;
    info = clipsearch_model_get_info(model);
    CHECK(info->layout == CLIPSEARCH_LAYOUT_OPENAI, "layout %d", (int)info->layout);
    CHECK(info->vision_kind == (resnet ? CLIPSEARCH_VISION_RESNET : CLIPSEARCH_VISION_VIT),
          "vision kind %d", (int)info->vision_kind);
    CHECK(info->projection_dim == 64 && info->image_size == 224 && info->patch_size == 32,
          "geometry: proj %d, image %d, patch %d", info->projection_dim, info->image_size,
          info->patch_size);
    CHECK(info->text_width == 64 && info->text_layers == 2 && info->text_heads == 1 &&
              info->context_length == 77 && info->vocab_size == 49408 &&
              info->eot_token_id == 49407,
          "text geometry");
    CHECK(info->text_act == CLIPSEARCH_ACT_QUICK_GELU && info->vision_act == CLIPSEARCH_ACT_QUICK_GELU,
          "quick_gelu from open_clip_config.json");
    CHECK(!strcmp(info->weights_dtype, "mixed"), "dtype %s", info->weights_dtype);
    CHECK(fabsf(info->image_mean[0] - 0.48145466f) < 1e-7f &&
              fabsf(info->image_std[2] - 0.27577711f) < 1e-7f,
          "mean/std");
    if (resnet)
        CHECK(info->vision_width == 16 && info->vision_layers == 5 && info->vision_heads == 8 &&
                  info->resnet_blocks[0] == 1 && info->resnet_blocks[1] == 2 &&
                  info->resnet_blocks[2] == 1 && info->resnet_blocks[3] == 1,
              "resnet geometry: width %d, blocks %d, heads %d", info->vision_width,
              info->vision_layers, info->vision_heads);
    else
        CHECK(info->vision_width == 128 && info->vision_layers == 2 && info->vision_heads == 2,
              "vit geometry: width %d, layers %d, heads %d", info->vision_width,
              info->vision_layers, info->vision_heads);
    cp.n_threads = n_threads;
    cp.max_batch = max_batch;
    CHECK(clipsearch_context_new(model, &cp, &ctx, &err) == CLIPSEARCH_OK, "%s", err.message);

    /* ---- text ---- */
    {
        const cs_tensor *ti = NULL;
        double *ids64 = tu_golden(gold, "input_ids", &ti);
        double *want = tu_golden(gold, "text_embeds", NULL);
        int n = ti ? (int)ti->shape[0] : 0, stride = ti ? (int)ti->shape[1] : 1;
        int32_t *ids = malloc((size_t)n * stride * sizeof *ids);
        float *got = calloc((size_t)n * info->projection_dim, sizeof *got);
        for (size_t i = 0; i < (size_t)n * stride; i++)
            ids[i] = (int32_t)ids64[i];
        CHECK(n == 48 && stride == 77, "golden input_ids shape");
        CHECK(clipsearch_encode_text(ctx, ids, n, stride, got, &err) == CLIPSEARCH_OK,
              "encode_text: %s", err.message);
        if (want)
            tu_compare("text_embeds [48]", got, want, (size_t)n * info->projection_dim, TOL);
        free(ids64);
        free(want);
        free(ids);
        free(got);
    }

    /* ---- images ---- */
    {
        const int S = info->image_size, D = info->projection_dim;
        const size_t img = (size_t)3 * S * S;
        float *pixels = tu_golden_pixels(images, n_images, S);
        double *want = tu_golden(gold, "image_embeds", NULL);
        float *got = calloc((size_t)n_images * D, sizeof *got);
        float *one = calloc((size_t)D, sizeof *one);
        CHECK(cs_encode_images_traced(ctx, pixels, n_images, got, resnet ? tu_trace_capture : NULL, &tr,
                                      &err) == CLIPSEARCH_OK,
              "encode_images: %s", err.message);
        if (want) {
            tu_compare("image_embeds [18]", got, want, (size_t)n_images * D, TOL);
            for (int i = 0; i < n_images; i++) {
                char what[96];
                snprintf(what, sizeof what, "  image %s", images[i]);
                tu_compare(what, got + (size_t)i * D, want + (size_t)i * D, (size_t)D, TOL);
            }
        }
        if (resnet) {
            static const char *const stages[4] = {"resnet/layer1", "resnet/layer2",
                                                  "resnet/layer3", "resnet/layer4"};
            for (int s = 0; s < 4; s++) {
                const cs_tensor *gt = NULL;
                double *g = tu_golden(gold, stages[s], &gt);
                CHECK(tr.out[s + 1] != NULL, "no trace of stage %d", s + 1);
                if (g && gt && tr.out[s + 1]) {
                    CHECK(gt->ndim == 3 && gt->shape[0] == tr.width[s + 1] &&
                              gt->shape[1] * gt->shape[2] == tr.tokens[s + 1],
                          "%s: shape [%lld][%lld][%lld] vs [%d][%d]", stages[s],
                          (long long)gt->shape[0], (long long)gt->shape[1],
                          (long long)gt->shape[2], tr.tokens[s + 1], tr.width[s + 1]);
                    if (gt->shape[0] == tr.width[s + 1])
                        compare_chw(stages[s], tr.out[s + 1], tr.tokens[s + 1], tr.width[s + 1],
                                    g);
                }
                free(g);
            }
            {
                double *g = tu_golden(gold, "resnet/attnpool", NULL);
                CHECK(tr.out[5] && tr.width[5] == D, "attnpool trace");
                if (g && tr.out[5])
                    tu_compare("resnet/attnpool", tr.out[5], g, (size_t)D, TOL);
                free(g);
            }
        }
        /* A single image (OpenBLAS threads, no batch split) gives the same. */
        CHECK(clipsearch_encode_images(ctx, pixels + img * 5, 1, one, &err) == CLIPSEARCH_OK,
              "%s", err.message);
        if (want)
            tu_compare("image 5 alone", one, want + (size_t)5 * D, (size_t)D, TOL);
        tu_trace_free(&tr);
        free(pixels);
        free(want);
        free(got);
        free(one);
    }
out:
    tu_free_strings(images, n_images);
    clipsearch_context_free(ctx);
    clipsearch_model_free(model);
    cs_safetensors_close(gold);
}

/* Each tower alone: a search process loads only the text tower. */
static void check_towers(void)
{
    clipsearch_model_params p = clipsearch_model_default_params();
    clipsearch_model *m = NULL;
    clipsearch_error err = {0};
    const char *dirs[2] = {"golden/openai-tiny-vit", "golden/openai-tiny-rn"};
    for (int d = 0; d < 2; d++) {
        p.towers = CLIPSEARCH_TOWER_TEXT;
        CHECK(clipsearch_model_load(tu_fixture(dirs[d]), &p, &m, &err) == CLIPSEARCH_OK,
              "%s text only: %s", dirs[d], err.message);
        if (m)
            CHECK(clipsearch_model_towers(m) == CLIPSEARCH_TOWER_TEXT &&
                      clipsearch_model_get_info(m)->projection_dim == 64,
                  "text-only info");
        clipsearch_model_free(m);
        m = NULL;
        p.towers = CLIPSEARCH_TOWER_VISION;
        CHECK(clipsearch_model_load(tu_fixture(dirs[d]), &p, &m, &err) == CLIPSEARCH_OK,
              "%s vision only: %s", dirs[d], err.message);
        if (m)
            CHECK(clipsearch_model_get_info(m)->image_size == 224, "vision-only info");
        clipsearch_model_free(m);
        m = NULL;
    }
}

int main(void)
{
    tu_require_fixture("golden/golden-openai-rn.safetensors");
    tu_require_fixture("golden/openai-tiny-rn/model.safetensors");
    check_towers();
    check_model("golden/openai-tiny-vit", "golden/golden-openai-vit.safetensors", 0, 2, 32);
    check_model("golden/openai-tiny-vit", "golden/golden-openai-vit.safetensors", 0, 1, 5);
    check_model("golden/openai-tiny-rn", "golden/golden-openai-rn.safetensors", 1, 2, 32);
    check_model("golden/openai-tiny-rn", "golden/golden-openai-rn.safetensors", 1, 1, 5);
    return tu_finish("test_openai_golden");
}
