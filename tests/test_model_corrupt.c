/* test_model_corrupt.c — damaged and lying model files end in clean errors.
 *
 * Starting from the tiny clip-tiny-b32 model, each case writes a damaged copy
 * to a temporary model directory and loads it: truncations at many points,
 * flipped header bytes, offsets and shapes that lie, a dropped tensor, wrong
 * dtypes, a non-CLIP safetensors file, and bad config.json files.  Run under
 * AddressSanitizer in CI, so a read out of bounds fails the test too. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clipsearch.h"
#include "testutil.h"

static char *weights;     /* the original model.safetensors */
static size_t weights_size;
static char *config;      /* the original config.json */
static size_t header_len; /* its JSON header length */
static char dir[1024];    /* the damaged model's directory */

static void write_model(const void *w, size_t wsize, const char *cfg)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(tu_write_file(path, w, wsize) == 0, "write %s", path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK(tu_write_file(path, cfg, strlen(cfg)) == 0, "write %s", path);
}

/* Loads the damaged model; returns its status.  On failure the message
 * must be non-empty; when `must_fail`, success is a test failure. */
static clipsearch_status load(const char *what, int must_fail, const char *expect_in_message)
{
    clipsearch_model *m = NULL;
    clipsearch_error err = {0};
    clipsearch_status st = clipsearch_model_load(dir, NULL, &m, &err);
    if (st == CLIPSEARCH_OK) {
        CHECK(!must_fail, "%s: loaded, expected an error", what);
        CHECK(m != NULL, "%s: OK but no model", what);
        clipsearch_model_free(m);
    } else {
        CHECK(m == NULL, "%s: error but a model was returned", what);
        CHECK(err.status == st && err.message[0], "%s: no message", what);
        if (expect_in_message)
            CHECK(strstr(err.message, expect_in_message) != NULL, "%s: message '%s' lacks '%s'",
                  what, err.message, expect_in_message);
    }
    return st;
}

/* Writes a model whose header is `header` (the data section unchanged). */
static void write_with_header(cJSON *header, const char *cfg)
{
    char *json = cJSON_PrintUnformatted(header);
    size_t jl = strlen(json), data = weights_size - 8 - header_len;
    char *buf = malloc(8 + jl + data);
    for (int i = 0; i < 8; i++)
        buf[i] = (char)((uint64_t)jl >> (8 * i));
    memcpy(buf + 8, json, jl);
    memcpy(buf + 8 + jl, weights + 8 + header_len, data);
    write_model(buf, 8 + jl + data, cfg);
    free(buf);
    free(json);
}

static cJSON *parse_header(void)
{
    return cJSON_ParseWithLength(weights + 8, header_len);
}

static void truncations(void)
{
    size_t points[] = {0, 1, 7, 8, 9, 100, header_len / 2, 8 + header_len - 1, 8 + header_len,
                       8 + header_len + 1, 8 + header_len + 4096, weights_size / 2,
                       weights_size - 4, weights_size - 1};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu", points[i]);
        write_model(weights, points[i], config);
        load(what, 1, "model.safetensors");
    }
    /* And 40 more points spread over the file. */
    for (size_t k = 1; k <= 40; k++) {
        size_t at = weights_size / 41 * k;
        write_model(weights, at, config);
        load("truncated (spread)", 1, NULL);
    }
}

static void header_flips(void)
{
    char *copy = malloc(weights_size);
    uint32_t seed = 1;
    int failed = 0, loaded = 0;
    for (int i = 0; i < 300; i++) {
        size_t at;
        memcpy(copy, weights, weights_size);
        seed = seed * 1103515245u + 12345u;
        at = (seed >> 4) % (8 + header_len);
        seed = seed * 1103515245u + 12345u;
        copy[at] = (char)(copy[at] ^ (1 + (seed >> 8) % 255));
        write_model(copy, weights_size, config);
        if (load("flipped header byte", 0, NULL) == CLIPSEARCH_OK)
            loaded++;
        else
            failed++;
    }
    printf("header flips: %d refused, %d harmless\n", failed, loaded);
    CHECK(failed > 200, "most header flips must be refused (%d)", failed);
    free(copy);
}

static void lies(void)
{
    const char *name = "vision_model.encoder.layers.1.mlp.fc1.weight";
    cJSON *h, *t, *off;
    struct {
        double begin, end;
        const char *expect;
    } offs[] = {{0, 1e12, "offsets"}, {-8, 100, "offsets"}, {100, 50, "offsets"},
                {0.5, 65536.5, "offsets"}, {0, 64 * 256 * 4, "overlap"}};

    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        h = parse_header();
        t = cJSON_GetObjectItem(h, name);
        off = cJSON_GetObjectItem(t, "data_offsets");
        cJSON_ReplaceItemInArray(off, 0, cJSON_CreateNumber(offs[i].begin));
        cJSON_ReplaceItemInArray(off, 1, cJSON_CreateNumber(offs[i].end));
        write_with_header(h, config);
        load("lying offsets", 1, offs[i].expect);
        cJSON_Delete(h);
    }
    /* A shape that disagrees with its byte range. */
    h = parse_header();
    t = cJSON_GetObjectItem(h, name);
    cJSON_ReplaceItemInObject(t, "shape", cJSON_CreateIntArray((const int[]){256, 65}, 2));
    write_with_header(h, config);
    load("shape vs offsets", 1, "shape");
    cJSON_Delete(h);
    /* A consistent byte count but the wrong geometry for the model. */
    h = parse_header();
    t = cJSON_GetObjectItem(h, name);
    cJSON_ReplaceItemInObject(t, "shape", cJSON_CreateIntArray((const int[]){128, 128}, 2));
    write_with_header(h, config);
    load("wrong geometry", 1, "fc1.weight");
    cJSON_Delete(h);
    /* Absurd shapes: overflow and too many dimensions. */
    h = parse_header();
    t = cJSON_GetObjectItem(h, name);
    cJSON_ReplaceItemInObject(t, "shape",
                              cJSON_CreateDoubleArray((const double[]){4294967296.0,
                                                                       4294967296.0, 1e6},
                                                      3));
    write_with_header(h, config);
    load("overflowing shape", 1, "shape");
    cJSON_Delete(h);
    h = parse_header();
    t = cJSON_GetObjectItem(h, name);
    cJSON_ReplaceItemInObject(t, "shape",
                              cJSON_CreateIntArray((const int[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, 9));
    write_with_header(h, config);
    load("nine dimensions", 1, "dimensions");
    cJSON_Delete(h);
}

static void dtypes_and_missing(void)
{
    const char *name = "text_model.encoder.layers.0.self_attn.k_proj.weight";
    const char *bad[][2] = {{"I32", "dtype I32"}, {"F64", "bytes"}, {"XYZ", "unknown dtype"},
                            {"U8", "bytes"}};
    cJSON *h;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h = parse_header();
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(h, name), "dtype",
                                  cJSON_CreateString(bad[i][0]));
        write_with_header(h, config);
        load(bad[i][0], 1, bad[i][1]);
        cJSON_Delete(h);
    }
    /* A dropped tensor, in the middle of the last layer and a top-level one. */
    h = parse_header();
    cJSON_DeleteItemFromObject(h, "vision_model.encoder.layers.1.mlp.fc2.bias");
    write_with_header(h, config);
    load("dropped bias", 1, "vision_model.encoder.layers.1.mlp.fc2.bias");
    cJSON_Delete(h);
    h = parse_header();
    cJSON_DeleteItemFromObject(h, "text_projection.weight");
    write_with_header(h, config);
    load("dropped projection", 1, "text_projection.weight");
    cJSON_Delete(h);
    /* A whole block gone from the middle of the layers: layer 0 of 2. */
    h = parse_header();
    {
        cJSON *it = h->child, *next;
        for (; it; it = next) {
            next = it->next;
            if (!strncmp(it->string, "text_model.encoder.layers.0.", 28))
                cJSON_DeleteItemFromObject(h, it->string);
        }
    }
    write_with_header(h, config);
    load("dropped block", 1, "text_model.encoder.layers.0");
    cJSON_Delete(h);
    /* Not a header at all; a NUL inside it; a length beyond the file. */
    {
        char *copy = malloc(weights_size);
        memcpy(copy, weights, weights_size);
        copy[8 + header_len / 2] = '\0';
        write_model(copy, weights_size, config);
        load("NUL in header", 1, NULL);
        memcpy(copy, weights, weights_size);
        copy[6] = 1; /* header length ~2^48 */
        write_model(copy, weights_size, config);
        load("huge header length", 1, "header length");
        free(copy);
    }
}

static void not_clip(void)
{
    size_t size;
    char *other = tu_read_file(tu_fixture("golden/golden-b32.safetensors"), &size);
    write_model(other, size, config);
    load("golden outputs as a model", 1, "missing");
    free(other);
    write_model("hello, world", 12, config);
    load("text file", 1, "model.safetensors");
}

static void configs(void)
{
    struct {
        const char *cfg;
        const char *expect; /* NULL: must load */
    } cases[] = {
        {"{not json", "config.json"},
        {"[]", "config.json"},
        {"{\"vision_config\": {\"hidden_act\": \"relu\"}}", "relu"},
        {"{\"vision_config\": {\"num_attention_heads\": 7, \"hidden_act\": \"quick_gelu\"},"
         " \"text_config\": {\"num_attention_heads\": 1}}",
         "divisible"},
        {"{\"text_config\": {\"num_hidden_layers\": 5}, \"vision_config\": "
         "{\"num_attention_heads\": 1}}",
         "layers"},
        {"{\"vision_config\": {\"layer_norm_eps\": -1}}", "layer_norm_eps"},
        /* Found by fuzzing: positive as a double, zero as a float. */
        {"{\"vision_config\": {\"layer_norm_eps\": 1e-82}}", "layer_norm_eps"},
        {"{\"vision_config\": {\"num_attention_heads\": 1.5}}", "num_attention_heads"},
        {"{\"vision_config\": {\"image_size\": 336, \"num_attention_heads\": 1}, "
         "\"text_config\": {\"num_attention_heads\": 1}}",
         "image_size"},
        {"{\"text_config\": {\"eos_token_id\": 99999999}, \"vision_config\": "
         "{\"num_attention_heads\": 1}}",
         "eos_token_id"},
        /* Absent fields take the defaults; heads must still divide the width. */
        {"{\"vision_config\": {\"num_attention_heads\": 1}, \"text_config\": "
         "{\"num_attention_heads\": 1}}",
         NULL},
        /* Older files: *_config_dict, with nulls in *_config. */
        {"{\"vision_config_dict\": {\"num_attention_heads\": 1}, \"vision_config\": null,"
         " \"text_config_dict\": {\"num_attention_heads\": 1}}",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "config case %zu", i);
        write_model(weights, weights_size, cases[i].cfg);
        if (cases[i].expect)
            load(what, 1, cases[i].expect);
        else
            CHECK(load(what, 0, NULL) == CLIPSEARCH_OK, "%s must load", what);
    }
    {
        char path[1100];
        write_model(weights, weights_size, config);
        snprintf(path, sizeof path, "%s/config.json", dir);
        remove(path);
        load("no config.json", 1, "config.json");
    }
}

int main(void)
{
    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    weights = tu_read_file(tu_fixture("golden/clip-tiny-b32/model.safetensors"), &weights_size);
    config = tu_read_file(tu_fixture("golden/clip-tiny-b32/config.json"), NULL);
    CHECK(weights && config && weights_size > 8, "fixture readable");
    if (!weights || !config)
        return tu_finish("test_model_corrupt");
    for (int i = 7; i >= 0; i--)
        header_len = header_len << 8 | (unsigned char)weights[i];
    snprintf(dir, sizeof dir, "%s/model", tu_tmpdir());
    mkdir(dir, 0755);

    /* The untouched copy loads: the damage, not the harness, is refused. */
    write_model(weights, weights_size, config);
    CHECK(load("intact copy", 0, NULL) == CLIPSEARCH_OK, "intact copy must load");

    truncations();
    header_flips();
    lies();
    dtypes_and_missing();
    not_clip();
    configs();
    free(weights);
    free(config);
    return tu_finish("test_model_corrupt");
}
