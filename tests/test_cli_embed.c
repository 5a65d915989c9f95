/* test_cli_embed.c — end to end: the real `clipsearch embed` program, from
 * photo files and text strings (so decoding, preprocessing, tokenising and
 * both towers all take part), against the float64 reference embeddings of
 * transformers: all 48 golden strings and all 18 golden photos, within
 * 1e-4 x max|golden|.  Also the program's errors and exit codes. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "testutil.h"

#define TOL 1e-4

static cJSON *golden_json(void)
{
    char *text = tu_read_file(tu_fixture("golden/golden.json"), NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    return root;
}

/* Runs embed over `n` inputs (flag "--text"/"--image" + value) and checks each
 * output line against golden rows (dim floats each). */
static void check_embed(const char *model, const char *golden_file, const char *flag,
                        const cJSON *values, const char *prefix, const char *tensor, int dim)
{
    char *argv[256];
    int argc = 0, n = cJSON_GetArraySize(values), line_no = 0;
    char *out = NULL, *save = NULL, *line;
    char *owned[128];
    int n_owned = 0;
    cs_safetensors *gold = NULL;
    const cs_tensor *t;
    double *want = NULL, scale = 0, worst = 0;

    CHECK(cs_safetensors_open(tu_fixture(golden_file), &gold, NULL) == CLIPSEARCH_OK, "%s",
          golden_file);
    if (!gold)
        return;
    t = cs_safetensors_find(gold, tensor);
    CHECK(t && t->numel == (int64_t)n * dim, "%s shape", tensor);
    if (!t)
        goto out;
    want = malloc((size_t)t->numel * sizeof *want);
    cs_tensor_to_f64(t, want, NULL);
    scale = tu_max_abs(want, (size_t)t->numel);

    argv[argc++] = (char *)tu_program("clipsearch");
    argv[argc++] = "embed";
    argv[argc++] = "--model";
    argv[argc++] = owned[n_owned++] = strdup(tu_fixture(model));
    argv[argc++] = "--vocab";
    argv[argc++] = owned[n_owned++] = strdup(tu_fixture("tokenizer"));
    argv[argc++] = "--no-normalize";
    for (int i = 0; i < n; i++) {
        const char *v = cJSON_GetArrayItem(values, i)->valuestring;
        argv[argc++] = (char *)flag;
        if (prefix) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", prefix, v);
            argv[argc++] = owned[n_owned++] = strdup(p);
        } else {
            argv[argc++] = (char *)v;
        }
    }
    argv[argc] = NULL;
    CHECK(tu_run(argv, &out) == 0, "clipsearch embed %s failed", flag);
    for (line = out ? strtok_r(out, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save), line_no++) {
        cJSON *obj = cJSON_Parse(line);
        const cJSON *emb = cJSON_GetObjectItem(obj, "embedding");
        const cJSON *key = cJSON_GetObjectItem(obj, flag[2] == 't' ? "text" : "image");
        CHECK(line_no < n, "more lines than inputs");
        CHECK(cJSON_IsArray(emb) && cJSON_GetArraySize(emb) == dim, "line %d: embedding", line_no);
        CHECK(cJSON_IsString(key), "line %d: input echoed", line_no);
        if (cJSON_IsArray(emb) && line_no < n && cJSON_GetArraySize(emb) == dim) {
            double d = 0;
            for (int j = 0; j < dim; j++) {
                double diff = fabs(cJSON_GetArrayItem(emb, j)->valuedouble -
                                   want[(size_t)line_no * dim + j]);
                if (diff > d)
                    d = diff;
            }
            if (d > worst)
                worst = d;
            CHECK(d <= TOL * scale, "%s %d: max|diff| %g > %g", flag, line_no, d, TOL * scale);
        }
        cJSON_Delete(obj);
    }
    CHECK(line_no == n, "%d lines for %d inputs", line_no, n);
    printf("%s %s: %d inputs, max|diff| %.3g = %.3g x max|golden|\n", model, flag, n, worst,
           scale > 0 ? worst / scale : 0);
out:
    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
    free(out);
    free(want);
    cs_safetensors_close(gold);
}

static void check_errors(void)
{
    char *out = NULL;
    char model[1024], img[1024], broken[1024];
    snprintf(model, sizeof model, "%s", tu_fixture("golden/clip-tiny-b32"));
    snprintf(img, sizeof img, "%s", tu_fixture("images/astronaut.jpg"));
    snprintf(broken, sizeof broken, "%s", tu_fixture("images/broken/truncated.jpg"));
    {
        char *argv[] = {(char *)tu_program("clipsearch"), "embed", "--image", img, NULL};
        unsetenv("CLIPSEARCH_MODEL");
        CHECK(tu_run(argv, NULL) == 2, "no model must be a usage error");
    }
    {
        char *argv[] = {(char *)tu_program("clipsearch"), "embed", "--model", "/nonexistent",
                        "--image", img, NULL};
        CHECK(tu_run(argv, NULL) == 1, "missing model directory must fail");
    }
    {
        /* One broken photo: exit 1, an error line for it, the good one embedded
         * and unit length (default normalisation). */
        char *argv[] = {(char *)tu_program("clipsearch"), "embed", "--model", model, "--image",
                        broken, "--image", img, NULL};
        char *save = NULL, *l1, *l2;
        CHECK(tu_run(argv, &out) == 1, "a broken photo must give exit 1");
        l1 = out ? strtok_r(out, "\n", &save) : NULL;
        l2 = l1 ? strtok_r(NULL, "\n", &save) : NULL;
        CHECK(l1 && strstr(l1, "\"error\"") && strstr(l1, "truncated.jpg"), "error line: %s",
              l1 ? l1 : "(none)");
        if (l2) {
            cJSON *o = cJSON_Parse(l2);
            const cJSON *e = cJSON_GetObjectItem(o, "embedding"), *v;
            double ss = 0;
            cJSON_ArrayForEach(v, e) ss += v->valuedouble * v->valuedouble;
            CHECK(fabs(sqrt(ss) - 1) < 1e-5, "normalised embedding has norm %g", sqrt(ss));
            cJSON_Delete(o);
        } else {
            CHECK(0, "no line for the good photo");
        }
        free(out);
    }
    {
        /* Text without a tokenizer in the model directory: a clear failure. */
        char *argv[] = {(char *)tu_program("clipsearch"), "embed", "--model", model, "--text",
                        "dog", NULL};
        CHECK(tu_run(argv, NULL) == 1, "text without a tokenizer must fail");
    }
    {
        char *argv[] = {(char *)tu_program("clipsearch"), "embed", "--bogus", NULL};
        CHECK(tu_run(argv, NULL) == 2, "unknown option is a usage error");
    }
}

int main(void)
{
    cJSON *root;
    const cJSON *strings, *images;
    char images_dir[1024];
    tu_require_fixture("golden/golden-b32.safetensors");
    tu_require_fixture("tokenizer/vocab.json");
    root = golden_json();
    strings = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "tokens"), "strings");
    images = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "provenance"), "images");
    CHECK(cJSON_GetArraySize(strings) == 48 && cJSON_GetArraySize(images) == 18,
          "golden.json lists");
    snprintf(images_dir, sizeof images_dir, "%s", tu_fixture("images"));
    check_embed("golden/clip-tiny-b32", "golden/golden-b32.safetensors", "--text", strings, NULL,
                "text_embeds", 64);
    check_embed("golden/clip-tiny-b32", "golden/golden-b32.safetensors", "--image", images,
                images_dir, "image_embeds", 64);
    check_embed("golden/clip-tiny-b16-f16", "golden/golden-b16-f16.safetensors", "--text",
                strings, NULL, "text_embeds", 48);
    check_embed("golden/clip-tiny-b16-f16", "golden/golden-b16-f16.safetensors", "--image",
                images, images_dir, "image_embeds", 48);
    check_errors();
    cJSON_Delete(root);
    return tu_finish("test_cli_embed");
}
