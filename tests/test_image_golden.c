/* test_image_golden.c — exact-mode preprocessing of every fixture photo
 * against transformers' pixel_values (golden/pixels.safetensors), the
 * geometry and orientation recorded in golden.json, and fast mode's
 * difference from exact mode (reported, loosely bounded). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clipsearch.h"
#include "safetensors.h"
#include "testutil.h"

#define S 224
#define N (3 * S * S)

static void diff_stats(const float *a, const float *b, size_t n, double *max, double *mean)
{
    double m = 0.0, sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m)
            m = d;
        sum += d;
    }
    *max = m;
    *mean = sum / (double)n;
}

static int geometry_int(const cJSON *geo, const char *key, int idx)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(geo, key);
    const cJSON *v = cJSON_GetArrayItem(a, idx);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

int main(void)
{
    cs_safetensors *st = NULL;
    clipsearch_error err = {0, ""};
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    float *golden = malloc(sizeof(float) * N);
    float *exact = malloc(sizeof(float) * N);
    float *fast = malloc(sizeof(float) * N);
    char *json_text;
    cJSON *json = NULL;
    const cJSON *images, *geometry;
    int n_images = 0, n_identical = 0;

    tu_require_fixture("golden/pixels.safetensors");
    tu_require_fixture("golden/golden.json");
    if (!golden || !exact || !fast)
        return 1;
    json_text = tu_read_file(tu_fixture("golden/golden.json"), NULL);
    json = json_text ? cJSON_Parse(json_text) : NULL;
    free(json_text);
    CHECK(json != NULL, "golden.json parses");
    if (!json)
        return tu_finish("test_image_golden");
    images = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(json, "provenance"), "images");
    geometry = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(json, "provenance"), "image_geometry");
    CHECK(cJSON_GetArraySize(images) == 18, "18 golden images");

    CHECK(cs_safetensors_open(tu_fixture("golden/pixels.safetensors"), &st, &err) == CLIPSEARCH_OK,
          "open pixels.safetensors: %s", err.message);
    if (!st)
        return tu_finish("test_image_golden");

    printf("%-24s %12s %12s %10s | %12s %12s\n", "image", "exact max", "exact mean", "identical",
           "fast-exact max", "fast mean");
    for (int i = 0; i < cJSON_GetArraySize(images); i++) {
        const char *name = cJSON_GetArrayItem(images, i)->valuestring;
        const cJSON *geo = cJSON_GetObjectItemCaseSensitive(geometry, name);
        char rel[256], tname[256];
        const cs_tensor *t;
        clipsearch_image_info info;
        double mx, mean, fmx, fmean;
        size_t same = 0;

        snprintf(rel, sizeof rel, "images/%s", name);
        snprintf(tname, sizeof tname, "pixel_values/%s", name);
        t = cs_safetensors_find(st, tname);
        CHECK(t != NULL && t->numel == N, "%s: golden tensor present", name);
        if (!t || t->numel != N)
            continue;
        CHECK(cs_tensor_to_f32(t, golden, &err) == CLIPSEARCH_OK, "%s: %s", name, err.message);

        p.mode = CLIPSEARCH_PREPROCESS_EXACT;
        memset(&info, 0, sizeof info);
        if (clipsearch_preprocess_file(tu_fixture(rel), &p, exact, &info, &err) != CLIPSEARCH_OK) {
            CHECK(0, "%s: %s", name, err.message);
            continue;
        }
        n_images++;
        diff_stats(exact, golden, N, &mx, &mean);
        for (size_t k = 0; k < N; k++)
            same += exact[k] == golden[k];
        n_identical += same == N;
        CHECK(mx <= 0.0152, "%s: exact max |diff| %.6f > 0.0152", name, mx);
        CHECK(mean <= 0.001, "%s: exact mean |diff| %.6f > 0.001", name, mean);

        p.mode = CLIPSEARCH_PREPROCESS_FAST;
        if (clipsearch_preprocess_file(tu_fixture(rel), &p, fast, NULL, &err) != CLIPSEARCH_OK) {
            CHECK(0, "%s (fast): %s", name, err.message);
            continue;
        }
        diff_stats(fast, exact, N, &fmx, &fmean);
        /* Fast mode only changes large JPEGs; a loose bound catches a broken
         * scaling path, the figures themselves are reported. */
        CHECK(fmean <= 0.02, "%s: fast mean |diff| %.6f", name, fmean);
        printf("%-24s %12.3g %12.3g %7zu/%d | %12.4f %12.6f\n", name, mx, mean, same, N, fmx,
               fmean);

        if (geo) {
            int orient = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(geo, "exif_orientation"))
                             ? cJSON_GetObjectItemCaseSensitive(geo, "exif_orientation")->valueint
                             : 1;
            CHECK(info.stored_width == geometry_int(geo, "stored_size", 0) &&
                      info.stored_height == geometry_int(geo, "stored_size", 1),
                  "%s: stored size %dx%d", name, info.stored_width, info.stored_height);
            CHECK(info.width == geometry_int(geo, "upright_size", 0) &&
                      info.height == geometry_int(geo, "upright_size", 1),
                  "%s: upright size %dx%d", name, info.width, info.height);
            CHECK(info.orientation == orient, "%s: orientation %d, want %d", name,
                  info.orientation, orient);
        }
    }
    printf("%d images, %d bit-identical to the golden tensors\n", n_images, n_identical);
    CHECK(n_images == 18, "all 18 images preprocessed (%d)", n_images);

    cs_safetensors_close(st);
    cJSON_Delete(json);
    free(golden);
    free(exact);
    free(fast);
    return tu_finish("test_image_golden");
}
