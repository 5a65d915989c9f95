/* test_engine_golden.c — both towers of both tiny Hugging Face models
 * against the float64 reference outputs of transformers: text embeddings of
 * the 48 golden strings, image embeddings of the 18 golden pixel tensors,
 * and every intermediate hidden state of the first string and image.
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

/* A golden tensor and its element count. */
static double *golden_n(const cs_safetensors *st, const char *name, int64_t *numel)
{
    const cs_tensor *t = NULL;
    double *d = tu_golden(st, name, &t);
    *numel = t ? t->numel : 0;
    return d;
}

static void check_model(const char *model_dir, const char *golden_file, int n_threads,
                        int max_batch)
{
    clipsearch_model *model = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_error err = {0};
    cs_safetensors *gold = NULL;
    clipsearch_context_params cp = clipsearch_context_default_params();
    const clipsearch_model_info *info;
    tu_trace tr = {0};
    char name[128];
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
    cp.n_threads = n_threads;
    cp.max_batch = max_batch;
    CHECK(clipsearch_context_new(model, &cp, &ctx, &err) == CLIPSEARCH_OK, "%s", err.message);

    /* ---- text ---- */
    {
        int64_t n_ids = 0, n_emb = 0;
        double *ids64 = golden_n(gold, "input_ids", &n_ids);
        double *want = golden_n(gold, "text_embeds", &n_emb);
        int n = (int)(n_ids / 77);
        int32_t *ids = malloc((size_t)n_ids * sizeof *ids);
        float *got = calloc((size_t)n_emb, sizeof *got);
        for (int64_t i = 0; i < n_ids; i++)
            ids[i] = (int32_t)ids64[i];
        CHECK(n == 48 && n_emb == (int64_t)n * info->projection_dim, "golden text shapes");
        CHECK(cs_encode_text_traced(ctx, ids, n, 77, got, tu_trace_capture, &tr, &err) == CLIPSEARCH_OK,
              "encode_text: %s", err.message);
        tu_compare("text_embeds [48]", got, want, (size_t)n_emb, TOL);
        CHECK(tr.layers == info->text_layers + 1, "text trace has %d layers", tr.layers);
        for (int l = 0; l < tr.layers; l++) {
            int64_t hn;
            double *h;
            snprintf(name, sizeof name, "text_hidden/%d", l);
            h = golden_n(gold, name, &hn);
            /* Only the positions up to the first <|endoftext|> are computed. */
            if (h)
                tu_compare(name, tr.out[l], h, (size_t)tr.tokens[l] * tr.width[l], TOL);
            free(h);
        }
        tu_trace_free(&tr);
        free(ids64);
        free(want);
        free(ids);
        free(got);
    }

    /* ---- images ---- */
    {
        int S = info->image_size;
        size_t img = (size_t)3 * S * S;
        float *pixels = tu_golden_pixels(images, n_images, S);
        int64_t n_emb = 0;
        double *want = golden_n(gold, "image_embeds", &n_emb);
        float *got = calloc((size_t)n_emb, sizeof *got);
        float *one = calloc((size_t)info->projection_dim, sizeof *one);
        CHECK(n_emb == (int64_t)n_images * info->projection_dim, "golden image shapes");
        CHECK(cs_encode_images_traced(ctx, pixels, n_images, got, tu_trace_capture, &tr, &err) ==
                  CLIPSEARCH_OK,
              "encode_images: %s", err.message);
        tu_compare("image_embeds [18]", got, want, (size_t)n_emb, TOL);
        for (int i = 0; i < n_images; i++) {
            char what[96];
            snprintf(what, sizeof what, "  image %s", images[i]);
            tu_compare(what, got + (size_t)i * info->projection_dim,
                    want + (size_t)i * info->projection_dim, (size_t)info->projection_dim, TOL);
        }
        CHECK(tr.layers == info->vision_layers + 1, "vision trace has %d layers",
              tr.layers);
        for (int l = 0; l < tr.layers; l++) {
            double *h;
            snprintf(name, sizeof name, "vision_hidden/%d", l);
            h = tu_golden(gold, name, NULL);
            if (h)
                tu_compare(name, tr.out[l], h, (size_t)tr.tokens[l] * tr.width[l], TOL);
            free(h);
        }
        /* A single image (OpenBLAS threads, not batch split) gives the same. */
        CHECK(clipsearch_encode_images(ctx, pixels + img * 5, 1, one, &err) == CLIPSEARCH_OK,
              "%s", err.message);
        tu_compare("image 5 alone", one, want + (size_t)5 * info->projection_dim,
                (size_t)info->projection_dim, TOL);
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

static void check_info(void)
{
    clipsearch_model *m = NULL;
    clipsearch_error err = {0};
    const clipsearch_model_info *i;
    CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b16-f16"), NULL, &m, &err) ==
              CLIPSEARCH_OK,
          "%s", err.message);
    if (!m)
        return;
    i = clipsearch_model_get_info(m);
    CHECK(i->projection_dim == 48 && i->image_size == 224 && i->patch_size == 16, "geometry");
    CHECK(i->vision_layers == 3 && i->vision_heads == 2 && i->text_layers == 3 &&
              i->text_heads == 2,
          "layers/heads");
    CHECK(i->vision_act == CLIPSEARCH_ACT_GELU && i->text_act == CLIPSEARCH_ACT_GELU,
          "activation");
    CHECK(i->context_length == 77 && i->vocab_size == 49408 && i->eot_token_id == 49407, "text");
    CHECK(!strcmp(i->weights_dtype, "F16"), "dtype %s", i->weights_dtype);
    clipsearch_model_free(m);

    /* Text-only load: the vision tower is refused, the text tower works. */
    {
        clipsearch_model_params p = clipsearch_model_default_params();
        clipsearch_context *ctx = NULL;
        float px[3 * 224 * 224] = {0}, e[64];
        p.towers = CLIPSEARCH_TOWER_TEXT;
        CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), &p, &m, &err) ==
                  CLIPSEARCH_OK,
              "%s", err.message);
        if (!m)
            return;
        CHECK(clipsearch_model_towers(m) == CLIPSEARCH_TOWER_TEXT, "towers");
        clipsearch_context_new(m, NULL, &ctx, &err);
        CHECK(clipsearch_encode_images(ctx, px, 1, e, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
              "image tower should be absent");
        {
            int32_t ids[4] = {49406, 320, 49407, 0}, bad[3] = {49406, 320, 5};
            CHECK(clipsearch_encode_text(ctx, ids, 1, 4, e, &err) == CLIPSEARCH_OK, "%s",
                  err.message);
            CHECK(clipsearch_encode_text(ctx, bad, 1, 3, e, &err) ==
                      CLIPSEARCH_ERR_INVALID_ARGUMENT,
                  "a row without <|endoftext|> must be refused");
            bad[2] = 49408;
            CHECK(clipsearch_encode_text(ctx, bad, 1, 3, e, &err) ==
                      CLIPSEARCH_ERR_INVALID_ARGUMENT,
                  "an id outside the vocabulary must be refused");
            CHECK(strstr(err.message, "49408") != NULL, "message names the id: %s", err.message);
        }
        clipsearch_context_free(ctx);
        clipsearch_model_free(m);
    }
}

static void check_normalize(void)
{
    float v[6] = {3, 4, 0, 0, 0, 0};
    clipsearch_normalize(v, 2, 3);
    CHECK(fabsf(v[0] - 0.6f) < 1e-7f && fabsf(v[1] - 0.8f) < 1e-7f, "normalize");
    CHECK(v[3] == 0 && v[4] == 0 && v[5] == 0, "zero row stays zero");
}

int main(void)
{
    tu_require_fixture("golden/golden-b32.safetensors");
    check_normalize();
    check_info();
    check_model("golden/clip-tiny-b32", "golden/golden-b32.safetensors", 2, 32);
    check_model("golden/clip-tiny-b32", "golden/golden-b32.safetensors", 1, 5);
    check_model("golden/clip-tiny-b16-f16", "golden/golden-b16-f16.safetensors", 2, 7);
    return tu_finish("test_engine_golden");
}
