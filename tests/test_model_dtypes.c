/* test_model_dtypes.c — BF16 weights and unaligned F32 weights load to the
 * same model as aligned F32 ones.
 *
 * From clip-tiny-b32, every float tensor is rounded to bfloat16 and written
 * twice: as BF16, and as F32 holding the same (exactly representable)
 * values.  Both must give identical embeddings.  A third copy stores F32
 * with a header length that leaves the data misaligned, which the loader
 * must copy rather than read through unaligned pointers (UBSan checks). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clipsearch.h"
#include "safetensors.h"
#include "testutil.h"

static uint16_t to_bf16(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    b += 0x7fff + ((b >> 16) & 1); /* round to nearest even */
    return (uint16_t)(b >> 16);
}

/* Writes `st`'s tensors to dir/model.safetensors as `dtype` ("F32" or
 * "BF16"), each float value rounded to bfloat16 first; `pad` extra header
 * bytes (not a multiple of 4 misaligns the data). */
static void write_variant(const cs_safetensors *st, const char *dir, const char *dtype, int pad)
{
    cJSON *h = cJSON_CreateObject();
    size_t offset = 0, total = 0;
    uint8_t *data;
    char *json, path[1100];
    FILE *f;
    int bf16 = !strcmp(dtype, "BF16");
    for (int i = 0; i < st->n_tensors; i++)
        total += (size_t)st->tensors[i].numel * 4;
    data = malloc(total ? total : 1);
    for (int i = 0; i < st->n_tensors; i++) {
        const cs_tensor *t = &st->tensors[i];
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
        float *v = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *v);
        size_t nb = (size_t)t->numel * (bf16 ? 2 : 4);
        cs_tensor_to_f32(t, v, NULL);
        for (int64_t k = 0; k < t->numel; k++) {
            uint16_t b = to_bf16(v[k]);
            if (bf16) {
                memcpy(data + offset + 2 * k, &b, 2);
            } else {
                float r = cs_bf16_to_f32(b);
                memcpy(data + offset + 4 * k, &r, 4);
            }
        }
        free(v);
        cJSON_AddStringToObject(e, "dtype", dtype);
        for (int d = 0; d < t->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(e, "shape", shape);
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(offset + nb)));
        cJSON_AddItemToObject(e, "data_offsets", off);
        cJSON_AddItemToObject(h, t->name, e);
        offset += nb;
    }
    json = cJSON_PrintUnformatted(h);
    {
        size_t jl = strlen(json) + (size_t)pad;
        uint8_t len8[8];
        for (int i = 0; i < 8; i++)
            len8[i] = (uint8_t)((uint64_t)jl >> (8 * i));
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        f = fopen(path, "wb");
        fwrite(len8, 1, 8, f);
        fwrite(json, 1, strlen(json), f);
        for (int i = 0; i < pad; i++)
            fputc(' ', f);
        fwrite(data, 1, offset, f);
        fclose(f);
    }
    {
        size_t n;
        char *cfg = tu_read_file(tu_fixture("golden/clip-tiny-b32/config.json"), &n);
        snprintf(path, sizeof path, "%s/config.json", dir);
        tu_write_file(path, cfg, n);
        free(cfg);
    }
    free(json);
    free(data);
    cJSON_Delete(h);
}

/* Embeds 3 pseudo-random images and 2 texts. */
static int embed(const char *dir, float *out, char *dtype_out)
{
    clipsearch_model *m = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_error err = {0};
    int32_t ids[2][6] = {{49406, 1929, 525, 320, 2117, 49407}, {49406, 320, 49407, 0, 0, 0}};
    float *px = malloc(3 * 3 * 224 * 224 * sizeof *px);
    uint32_t seed = 99;
    int ok = 0;
    for (int i = 0; i < 3 * 3 * 224 * 224; i++) {
        seed = seed * 1664525u + 1013904223u;
        px[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
    }
    if (clipsearch_model_load(dir, NULL, &m, &err) == CLIPSEARCH_OK &&
        clipsearch_context_new(m, NULL, &ctx, &err) == CLIPSEARCH_OK &&
        clipsearch_encode_images(ctx, px, 3, out, &err) == CLIPSEARCH_OK &&
        clipsearch_encode_text(ctx, &ids[0][0], 2, 6, out + 3 * 64, &err) == CLIPSEARCH_OK) {
        ok = 1;
        snprintf(dtype_out, 8, "%s", clipsearch_model_get_info(m)->weights_dtype);
    }
    CHECK(ok, "%s: %s", dir, err.message);
    clipsearch_context_free(ctx);
    clipsearch_model_free(m);
    free(px);
    return ok;
}

int main(void)
{
    cs_safetensors *st = NULL;
    char a[1024], b[1024], c[1024], dt_a[8] = "", dt_b[8] = "", dt_c[8] = "";
    float ea[5 * 64], eb[5 * 64], ec[5 * 64];
    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    CHECK(cs_safetensors_open(tu_fixture("golden/clip-tiny-b32/model.safetensors"), &st, NULL) ==
              CLIPSEARCH_OK,
          "open fixture");
    if (!st)
        return tu_finish("test_model_dtypes");
    snprintf(a, sizeof a, "%s/f32", tu_tmpdir());
    snprintf(b, sizeof b, "%s/bf16", tu_tmpdir());
    snprintf(c, sizeof c, "%s/f32-unaligned", tu_tmpdir());
    write_variant(st, a, "F32", 0);
    write_variant(st, b, "BF16", 0);
    write_variant(st, c, "F32", 1); /* data starts at an odd offset */
    cs_safetensors_close(st);
    if (embed(a, ea, dt_a) && embed(b, eb, dt_b) && embed(c, ec, dt_c)) {
        double dab = 0, dac = 0, scale = 0;
        for (int i = 0; i < 5 * 64; i++) {
            dab = fmax(dab, fabs(ea[i] - eb[i]));
            dac = fmax(dac, fabs(ea[i] - ec[i]));
            scale = fmax(scale, fabs(ea[i]));
        }
        printf("BF16 vs F32 of the same values: max|diff| %g; unaligned F32: %g (max %g)\n", dab,
               dac, scale);
        CHECK(!strcmp(dt_a, "F32") && !strcmp(dt_b, "BF16") && !strcmp(dt_c, "F32"),
              "dtypes %s %s %s", dt_a, dt_b, dt_c);
        CHECK(scale > 0.1, "embeddings are not trivial");
        CHECK(dab <= 1e-6 * scale, "BF16 weights differ from their F32 values: %g", dab);
        CHECK(dac == 0, "unaligned F32 weights differ: %g", dac);
    }
    return tu_finish("test_model_dtypes");
}
