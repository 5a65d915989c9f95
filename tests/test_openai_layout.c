/* test_openai_layout.c — the OpenAI / OpenCLIP checkpoint layout:
 *  - round trip: clip-tiny-b32's Hugging Face tensors rewritten in OpenAI's
 *    layout (q/k/v stacked into in_proj_*, projections transposed, renamed)
 *    load to the same embeddings as the Hugging Face files, under each of
 *    the three weight file names, with and without open_clip_config.json;
 *  - corrupt or inconsistent checkpoints (a missing block, wrong shapes, a
 *    config that disagrees with the weights, unknown layouts, unsupported
 *    OpenCLIP options, bad BatchNorm statistics) end in clear errors. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipsearch.h"
#include "safetensors.h"
#include "testutil.h"

/* ---- a small safetensors writer ------------------------------------------ */

typedef struct wt {
    char name[160];
    const char *dtype;
    int ndim;
    int64_t shape[4];
    void *data; /* owned */
    size_t nbytes;
} wt;

typedef struct wlist {
    wt *t;
    int n, cap;
} wlist;

static wt *push(wlist *l, const char *name, const char *dtype, int ndim, const int64_t *shape,
                const void *data, size_t nbytes)
{
    wt *t;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->t = realloc(l->t, (size_t)l->cap * sizeof *l->t);
    }
    t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = malloc(nbytes ? nbytes : 1);
    if (data)
        memcpy(t->data, data, nbytes);
    t->nbytes = nbytes;
    return t;
}

static void wlist_free(wlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->t[i].data);
    free(l->t);
    memset(l, 0, sizeof *l);
}

static wt *find(wlist *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->t[i].name, name))
            return &l->t[i];
    return NULL;
}

/* Removes every tensor whose name starts with prefix; returns how many. */
static int drop(wlist *l, const char *prefix)
{
    int k = 0, dropped = 0;
    for (int i = 0; i < l->n; i++) {
        if (!strncmp(l->t[i].name, prefix, strlen(prefix))) {
            free(l->t[i].data);
            dropped++;
        } else {
            l->t[k++] = l->t[i];
        }
    }
    l->n = k;
    return dropped;
}

static void write_st(const char *path, const wlist *l)
{
    cJSON *h = cJSON_CreateObject();
    size_t off = 0, hl, pad;
    char *json;
    FILE *f;
    for (int i = 0; i < l->n; i++) {
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "dtype", l->t[i].dtype);
        for (int d = 0; d < l->t[i].ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)l->t[i].shape[d]));
        cJSON_AddItemToObject(e, "shape", shape);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + l->t[i].nbytes)));
        cJSON_AddItemToObject(e, "data_offsets", offs);
        cJSON_AddItemToObject(h, l->t[i].name, e);
        off += l->t[i].nbytes;
    }
    json = cJSON_PrintUnformatted(h);
    hl = strlen(json);
    pad = (8 - hl % 8) % 8;
    f = fopen(path, "wb");
    CHECK(f != NULL, "create %s", path);
    if (f) {
        uint64_t n = hl + pad;
        unsigned char len8[8];
        for (int i = 0; i < 8; i++)
            len8[i] = (unsigned char)(n >> (8 * i));
        fwrite(len8, 1, 8, f);
        fwrite(json, 1, hl, f);
        fwrite("        ", 1, pad, f);
        for (int i = 0; i < l->n; i++)
            fwrite(l->t[i].data, 1, l->t[i].nbytes, f);
        CHECK(fclose(f) == 0, "write %s", path);
    }
    free(json);
    cJSON_Delete(h);
}

/* Every tensor of a file, raw bytes and dtype kept. */
static void load_all(const char *path, wlist *l)
{
    cs_safetensors *st = NULL;
    clipsearch_error err = {0};
    CHECK(cs_safetensors_open(path, &st, &err) == CLIPSEARCH_OK, "%s", err.message);
    if (!st)
        return;
    for (int i = 0; i < st->n_tensors; i++) {
        const cs_tensor *t = &st->tensors[i];
        push(l, t->name, cs_dtype_name(t->dtype), t->ndim, t->shape, t->data, t->nbytes);
    }
    cs_safetensors_close(st);
}

/* ---- Hugging Face -> OpenAI ----------------------------------------------- */

static const float *f32(const wt *t) { return t->data; }

static void convert_tower(const wlist *hf, wlist *oa, const char *from, const char *to,
                          int layers, int W)
{
    static const char *const renames[][2] = {
        {"layer_norm1", "ln_1"}, {"layer_norm2", "ln_2"}, {"self_attn.out_proj", "attn.out_proj"},
        {"mlp.fc1", "mlp.c_fc"}, {"mlp.fc2", "mlp.c_proj"}};
    char a[200], b[200];
    for (int i = 0; i < layers; i++) {
        for (size_t r = 0; r < sizeof renames / sizeof renames[0]; r++)
            for (int wb = 0; wb < 2; wb++) {
                const char *sfx = wb ? "bias" : "weight";
                wt *t;
                snprintf(a, sizeof a, "%s.encoder.layers.%d.%s.%s", from, i, renames[r][0], sfx);
                snprintf(b, sizeof b, "%s%d.%s.%s", to, i, renames[r][1], sfx);
                t = find((wlist *)hf, a);
                CHECK(t != NULL, "%s missing", a);
                if (t)
                    push(oa, b, t->dtype, t->ndim, t->shape, t->data, t->nbytes);
            }
        /* q, k, v stacked: weight [3W][W], bias [3W]. */
        for (int wb = 0; wb < 2; wb++) {
            const char *sfx = wb ? "bias" : "weight";
            int64_t shape[2] = {3 * W, W};
            size_t part = wb ? (size_t)W : (size_t)W * W;
            wt *dst;
            snprintf(b, sizeof b, "%s%d.attn.in_proj_%s", to, i, sfx);
            dst = push(oa, b, "F32", wb ? 1 : 2, shape, NULL, 3 * part * sizeof(float));
            for (int p = 0; p < 3; p++) {
                static const char *const qkv[3] = {"q_proj", "k_proj", "v_proj"};
                wt *t;
                snprintf(a, sizeof a, "%s.encoder.layers.%d.self_attn.%s.%s", from, i, qkv[p], sfx);
                t = find((wlist *)hf, a);
                CHECK(t && t->nbytes == part * sizeof(float), "%s", a);
                if (t)
                    memcpy((float *)dst->data + p * part, t->data, part * sizeof(float));
            }
        }
    }
}

static void copy_as(const wlist *hf, wlist *oa, const char *from, const char *to)
{
    wt *t = find((wlist *)hf, from);
    CHECK(t != NULL, "%s missing", from);
    if (t)
        push(oa, to, t->dtype, t->ndim, t->shape, t->data, t->nbytes);
}

/* [E][W] -> [W][E] */
static void transpose_as(const wlist *hf, wlist *oa, const char *from, const char *to)
{
    wt *t = find((wlist *)hf, from), *d;
    int64_t shape[2];
    if (!t) {
        CHECK(0, "%s missing", from);
        return;
    }
    shape[0] = t->shape[1];
    shape[1] = t->shape[0];
    d = push(oa, to, "F32", 2, shape, NULL, t->nbytes);
    for (int64_t e = 0; e < t->shape[0]; e++)
        for (int64_t w = 0; w < t->shape[1]; w++)
            ((float *)d->data)[w * t->shape[0] + e] = f32(t)[e * t->shape[1] + w];
}

static void hf_to_openai(const wlist *hf, wlist *oa)
{
    copy_as(hf, oa, "vision_model.embeddings.class_embedding", "visual.class_embedding");
    copy_as(hf, oa, "vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight");
    copy_as(hf, oa, "vision_model.embeddings.position_embedding.weight",
            "visual.positional_embedding");
    copy_as(hf, oa, "vision_model.pre_layrnorm.weight", "visual.ln_pre.weight");
    copy_as(hf, oa, "vision_model.pre_layrnorm.bias", "visual.ln_pre.bias");
    convert_tower(hf, oa, "vision_model", "visual.transformer.resblocks.", 2, 64);
    copy_as(hf, oa, "vision_model.post_layernorm.weight", "visual.ln_post.weight");
    copy_as(hf, oa, "vision_model.post_layernorm.bias", "visual.ln_post.bias");
    transpose_as(hf, oa, "visual_projection.weight", "visual.proj");
    copy_as(hf, oa, "text_model.embeddings.token_embedding.weight", "token_embedding.weight");
    copy_as(hf, oa, "text_model.embeddings.position_embedding.weight", "positional_embedding");
    convert_tower(hf, oa, "text_model", "transformer.resblocks.", 2, 64);
    copy_as(hf, oa, "text_model.final_layer_norm.weight", "ln_final.weight");
    copy_as(hf, oa, "text_model.final_layer_norm.bias", "ln_final.bias");
    transpose_as(hf, oa, "text_projection.weight", "text_projection");
    if (find((wlist *)hf, "logit_scale"))
        copy_as(hf, oa, "logit_scale", "logit_scale");
}

/* ---- helpers ------------------------------------------------------------- */

static char dir[1024];

static void clean_dir(void)
{
    static const char *const files[] = {"model.safetensors", "open_clip_model.safetensors",
                                        "open_clip_pytorch_model.safetensors", "config.json",
                                        "open_clip_config.json"};
    char path[1200];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
}

static void put(const char *file, const wlist *l)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    write_st(path, l);
}

static void put_text(const char *file, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    CHECK(tu_write_file(path, text, strlen(text)) == 0, "write %s", path);
}

/* Loads dir; must fail with a message containing `expect`. */
static void must_fail(const char *what, const char *expect)
{
    clipsearch_model *m = NULL;
    clipsearch_error err = {0};
    clipsearch_status st = clipsearch_model_load(dir, NULL, &m, &err);
    CHECK(st != CLIPSEARCH_OK, "%s: loaded, expected an error", what);
    if (st == CLIPSEARCH_OK) {
        clipsearch_model_free(m);
        return;
    }
    CHECK(m == NULL && err.status == st && err.message[0], "%s: no message / a model", what);
    printf("  %-40s -> %s\n", what, err.message);
    if (expect)
        CHECK(strstr(err.message, expect) != NULL, "%s: message '%s' lacks '%s'", what,
              err.message, expect);
}

/* Golden ids and a few pixel tensors to compare embeddings with. */
static int32_t ids[48 * 77];
static int n_ids;
static float *pixels;
static const int n_px = 3;

static void load_inputs(void)
{
    cs_safetensors *g = NULL, *p = NULL;
    const char *names[3] = {"pixel_values/astronaut.jpg", "pixel_values/chelsea_444.jpg",
                            "pixel_values/coffee_progressive.jpg"};
    double *d = malloc(48 * 77 * sizeof *d);
    cs_safetensors_open(tu_fixture("golden/golden-b32.safetensors"), &g, NULL);
    cs_safetensors_open(tu_fixture("golden/pixels.safetensors"), &p, NULL);
    CHECK(g && p, "golden inputs");
    if (g) {
        const cs_tensor *t = cs_safetensors_find(g, "input_ids");
        CHECK(t && t->numel == 48 * 77, "input_ids");
        if (t && t->numel == 48 * 77) {
            cs_tensor_to_f64(t, d, NULL);
            for (int i = 0; i < 48 * 77; i++)
                ids[i] = (int32_t)d[i];
            n_ids = 48;
        }
    }
    pixels = calloc((size_t)n_px * 3 * 224 * 224, sizeof *pixels);
    for (int i = 0; p && i < n_px; i++) {
        const cs_tensor *t = cs_safetensors_find(p, names[i]);
        CHECK(t && t->numel == 3 * 224 * 224, "%s", names[i]);
        if (t)
            cs_tensor_to_f32(t, pixels + (size_t)i * 3 * 224 * 224, NULL);
    }
    free(d);
    cs_safetensors_close(g);
    cs_safetensors_close(p);
}

/* Text and image embeddings of dir (or NULL on failure): [48 + n_px][dim]. */
static float *embed(const char *model_dir, clipsearch_model_info *info_out)
{
    clipsearch_model *m = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_error err = {0};
    clipsearch_context_params cp = clipsearch_context_default_params();
    float *out = NULL;
    int D;
    CHECK(clipsearch_model_load(model_dir, NULL, &m, &err) == CLIPSEARCH_OK, "load %s: %s",
          model_dir, err.message);
    if (!m)
        return NULL;
    if (info_out)
        *info_out = *clipsearch_model_get_info(m);
    D = clipsearch_model_get_info(m)->projection_dim;
    cp.n_threads = 2;
    clipsearch_context_new(m, &cp, &ctx, &err);
    out = calloc((size_t)(n_ids + n_px) * D, sizeof *out);
    CHECK(clipsearch_encode_text(ctx, ids, n_ids, 77, out, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    CHECK(clipsearch_encode_images(ctx, pixels, n_px, out + (size_t)n_ids * D, &err) ==
              CLIPSEARCH_OK,
          "%s", err.message);
    clipsearch_context_free(ctx);
    clipsearch_model_free(m);
    return out;
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double mx = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > mx)
            mx = fabs(b[i]);
        if (fabs((double)a[i] - b[i]) > d)
            d = fabs((double)a[i] - b[i]);
    }
    return mx > 0 ? d / mx : d;
}

/* ---- round trip ------------------------------------------------------------ */

static void round_trip(void)
{
    wlist hf = {0}, oa = {0};
    clipsearch_model_info info;
    float *ref, *got;
    size_t n;
    static const char *const files[3] = {"model.safetensors", "open_clip_model.safetensors",
                                         "open_clip_pytorch_model.safetensors"};

    printf("round trip: clip-tiny-b32, Hugging Face -> OpenAI layout\n");
    load_all(tu_fixture("golden/clip-tiny-b32/model.safetensors"), &hf);
    hf_to_openai(&hf, &oa);
    ref = embed(tu_fixture("golden/clip-tiny-b32"), NULL);
    n = (size_t)(n_ids + n_px) * 64;
    for (int f = 0; f < 3 && ref; f++) {
        clean_dir();
        put(files[f], &oa);
        got = embed(dir, &info);
        if (got) {
            double rel = max_rel_diff(got, ref, n);
            printf("  %-36s max|diff| %.3g x max|ref|\n", files[f], rel);
            CHECK(rel <= 1e-5, "%s: embeddings differ by %g", files[f], rel);
            CHECK(info.layout == CLIPSEARCH_LAYOUT_OPENAI && info.text_heads == 1 &&
                      info.vision_heads == 1 && info.text_act == CLIPSEARCH_ACT_QUICK_GELU &&
                      info.vision_layers == 2 && info.patch_size == 32 &&
                      info.projection_dim == 64 && !strcmp(info.weights_dtype, "F32"),
                  "%s: info", files[f]);
        }
        free(got);
    }
    /* With an open_clip_config.json saying so, same result; custom mean/std. */
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    put_text("open_clip_config.json",
             "{\"model_cfg\": {\"embed_dim\": 64, \"quick_gelu\": true, \"vision_cfg\": "
             "{\"image_size\": 224, \"layers\": 2, \"width\": 64, \"patch_size\": 32, "
             "\"head_width\": 64}, \"text_cfg\": {\"context_length\": 77, \"vocab_size\": 49408, "
             "\"width\": 64, \"heads\": 1, \"layers\": 2}}, \"preprocess_cfg\": {\"mean\": "
             "[0.5, 0.5, 0.5], \"std\": [0.25, 0.5, 0.75], \"interpolation\": \"bicubic\"}}");
    got = embed(dir, &info);
    if (got && ref) {
        double rel = max_rel_diff(got, ref, n);
        printf("  %-36s max|diff| %.3g x max|ref|\n", "with open_clip_config.json", rel);
        CHECK(rel <= 1e-5, "with config: embeddings differ by %g", rel);
        CHECK(info.image_mean[1] == 0.5f && info.image_std[2] == 0.75f, "preprocess_cfg");
    }
    free(got);
    /* OpenCLIP's default activation is GELU: different embeddings. */
    put_text("open_clip_config.json", "{\"model_cfg\": {\"embed_dim\": 64}}");
    got = embed(dir, &info);
    if (got && ref) {
        CHECK(info.text_act == CLIPSEARCH_ACT_GELU && info.vision_act == CLIPSEARCH_ACT_GELU,
              "no quick_gelu: GELU");
        CHECK(max_rel_diff(got, ref, n) > 1e-3, "GELU should change the embeddings");
    }
    free(got);
    /* Both layouts in one directory: the Hugging Face files win (model.safetensors). */
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    put("model.safetensors", &hf);
    {
        char *cfg = tu_read_file(tu_fixture("golden/clip-tiny-b32/config.json"), NULL);
        if (cfg)
            put_text("config.json", cfg);
        free(cfg);
    }
    got = embed(dir, &info);
    if (got && ref)
        CHECK(info.layout == CLIPSEARCH_LAYOUT_HF && max_rel_diff(got, ref, n) == 0,
              "Hugging Face files preferred");
    free(got);
    free(ref);
    wlist_free(&hf);
    wlist_free(&oa);
}

/* ---- corrupt and inconsistent checkpoints ------------------------------------ */

static void corrupt_vit(void)
{
    wlist hf = {0}, oa = {0};
    load_all(tu_fixture("golden/clip-tiny-b32/model.safetensors"), &hf);
    printf("corrupt ViT checkpoints\n");

    hf_to_openai(&hf, &oa);
    drop(&oa, "visual.transformer.resblocks.0.");
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    must_fail("missing first vision block", "visual.transformer.resblocks.0.");
    wlist_free(&oa);

    hf_to_openai(&hf, &oa);
    drop(&oa, "transformer.resblocks.1.ln_2.bias");
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    must_fail("missing tensor", "transformer.resblocks.1.ln_2.bias");
    wlist_free(&oa);

    /* in_proj_weight of [2W][W]: consistent with its data, wrong for CLIP. */
    hf_to_openai(&hf, &oa);
    {
        wt *t = find(&oa, "visual.transformer.resblocks.1.attn.in_proj_weight");
        t->shape[0] = 128;
        t->nbytes = 128 * 64 * sizeof(float);
    }
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    must_fail("in_proj_weight [2W][W]", "in_proj_weight");
    wlist_free(&oa);

    /* A projection the wrong way round for the text tower's width. */
    hf_to_openai(&hf, &oa);
    {
        wt *t = find(&oa, "text_projection");
        t->shape[0] = 32;
        t->shape[1] = 128;
    }
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    must_fail("text_projection [32][128]", "text_projection");
    wlist_free(&oa);

    /* Towers projecting to different sizes. */
    hf_to_openai(&hf, &oa);
    {
        wt *t = find(&oa, "text_projection");
        t->shape[0] = 64;
        t->shape[1] = 32;
        t->nbytes = 64 * 32 * sizeof(float);
    }
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    must_fail("text projects to 32, image to 64", "image tower to 64");
    wlist_free(&oa);

    /* Positions that are not 1 + a square. */
    hf_to_openai(&hf, &oa);
    {
        wt *t = find(&oa, "visual.positional_embedding");
        t->shape[0] = 49;
        t->nbytes = 49 * 64 * sizeof(float);
    }
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    must_fail("48 + 1 vision positions", "square");
    wlist_free(&oa);

    /* open_clip_config.json that disagrees with the weights, or asks for
     * what is not implemented, or is malformed. */
    hf_to_openai(&hf, &oa);
    clean_dir();
    put("open_clip_model.safetensors", &oa);
    {
        static const char *const cases[][2] = {
            {"{\"model_cfg\": {\"text_cfg\": {\"layers\": 3}}}", "layers"},
            {"{\"model_cfg\": {\"vision_cfg\": {\"layers\": 12, \"width\": 768}}}", "width"},
            {"{\"model_cfg\": {\"vision_cfg\": {\"layers\": [3, 4, 6, 3]}}}", "ResNet"},
            {"{\"model_cfg\": {\"embed_dim\": 512}}", "embed_dim"},
            {"{\"model_cfg\": {\"vision_cfg\": {\"image_size\": 336}}}", "image_size"},
            {"{\"model_cfg\": {\"vision_cfg\": {\"patch_size\": 16}}}", "patch_size"},
            {"{\"model_cfg\": {\"text_cfg\": {\"heads\": 3}}}", "heads"},
            {"{\"model_cfg\": {\"vision_cfg\": {\"timm_model_name\": \"convnext_base\"}}}",
             "timm_model_name"},
            {"{\"model_cfg\": {\"text_cfg\": {\"hf_model_name\": \"xlm-roberta-base\"}}}",
             "hf_model_name"},
            {"{\"model_cfg\": {\"text_cfg\": {\"pool_type\": \"last\"}}}", "pool_type"},
            {"{\"model_cfg\": {\"vision_cfg\": {\"attentional_pool\": true}}}",
             "attentional_pool"},
            {"{\"model_cfg\": {\"quick_gelu\": \"yes\"}}", "quick_gelu"},
            {"{\"preprocess_cfg\": {\"std\": [0.2, 0, 0.2]}}", "std"},
            {"{\"preprocess_cfg\": {\"mean\": [0.2, 0.2]}}", "mean"},
            {"{\"model_cfg\": [1, 2]}", "model_cfg"},
            {"{not json", "open_clip_config.json"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char what[64];
            snprintf(what, sizeof what, "config case %zu", i);
            put_text("open_clip_config.json", cases[i][0]);
            must_fail(what, cases[i][1]);
        }
    }
    wlist_free(&oa);

    /* Unknown layouts; Hugging Face weights without config.json; nothing. */
    {
        wlist other = {0};
        float x[4] = {1, 2, 3, 4};
        int64_t s[1] = {4};
        push(&other, "encoder.weight", "F32", 1, s, x, sizeof x);
        clean_dir();
        put("open_clip_model.safetensors", &other);
        must_fail("unknown tensor names", "unknown tensor layout");
        must_fail("unknown tensor names (file named)", "open_clip_model.safetensors");
        wlist_free(&other);
        clean_dir();
        put("model.safetensors", &hf);
        must_fail("Hugging Face weights, no config.json", "config.json");
        clean_dir();
        must_fail("empty directory", "not a CLIP model directory");
        put_text("open_clip_config.json", "{}");
        must_fail("config but no weights", "open_clip_model.safetensors");
        put_text("open_clip_model.safetensors", "not a safetensors file");
        must_fail("text as weights", "open_clip_model.safetensors");
    }
    wlist_free(&hf);
}

static void corrupt_resnet(void)
{
    wlist rn = {0};
    char *cfg = tu_read_file(tu_fixture("golden/openai-tiny-rn/open_clip_config.json"), NULL);
    printf("corrupt ResNet checkpoints\n");

    /* The intact copy loads. */
    load_all(tu_fixture("golden/openai-tiny-rn/model.safetensors"), &rn);
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    {
        clipsearch_model *m = NULL;
        clipsearch_error err = {0};
        CHECK(clipsearch_model_load(dir, NULL, &m, &err) == CLIPSEARCH_OK, "intact: %s",
              err.message);
        clipsearch_model_free(m);
    }

    CHECK(drop(&rn, "visual.layer2.0.") > 0, "layer2.0 present");
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    must_fail("missing block in the middle", "visual.layer2.0.");
    wlist_free(&rn);

    load_all(tu_fixture("golden/openai-tiny-rn/model.safetensors"), &rn);
    drop(&rn, "visual.layer3.");
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    must_fail("missing stage", "visual.layer3.");
    wlist_free(&rn);

    load_all(tu_fixture("golden/openai-tiny-rn/model.safetensors"), &rn);
    drop(&rn, "visual.layer2.0.downsample.");
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    must_fail("missing downsample", "visual.layer2.0.downsample");
    wlist_free(&rn);

    load_all(tu_fixture("golden/openai-tiny-rn/model.safetensors"), &rn);
    drop(&rn, "visual.layer1.0.bn2.running_var");
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    must_fail("missing running_var", "visual.layer1.0.bn2.running_var");
    wlist_free(&rn);

    load_all(tu_fixture("golden/openai-tiny-rn/model.safetensors"), &rn);
    {
        wt *t = find(&rn, "visual.layer1.0.bn1.running_var");
        ((float *)t->data)[3] = -1.0f;
    }
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    must_fail("negative running_var", "running_var");
    wlist_free(&rn);

    load_all(tu_fixture("golden/openai-tiny-rn/model.safetensors"), &rn);
    {
        wt *t = find(&rn, "visual.layer2.1.conv2.weight"); /* [32][32][3][3] -> [32][32][1][9] */
        t->shape[2] = 1;
        t->shape[3] = 9;
    }
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    must_fail("conv2 kernel 1x9", "visual.layer2.1.conv2.weight");
    wlist_free(&rn);

    load_all(tu_fixture("golden/openai-tiny-rn/model.safetensors"), &rn);
    {
        wt *t = find(&rn, "visual.attnpool.positional_embedding"); /* [50][512] -> [40][512] */
        t->shape[0] = 40;
        t->nbytes = (size_t)40 * 512 * sizeof(float);
    }
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    must_fail("attnpool positions 40", "square");
    wlist_free(&rn);

    load_all(tu_fixture("golden/openai-tiny-rn/model.safetensors"), &rn);
    clean_dir();
    put("open_clip_model.safetensors", &rn);
    put_text("open_clip_config.json",
             "{\"model_cfg\": {\"vision_cfg\": {\"layers\": [1, 2, 2, 1], \"width\": 16}}}");
    must_fail("config stage blocks", "stage 3");
    put_text("open_clip_config.json", "{\"model_cfg\": {\"vision_cfg\": {\"layers\": 12}}}");
    must_fail("config says ViT", "ViT");
    put_text("open_clip_config.json",
             "{\"model_cfg\": {\"vision_cfg\": {\"layers\": [1, 2, 1]}}}");
    must_fail("config layers list of 3", "list of 4");
    put_text("open_clip_config.json", "{\"model_cfg\": {\"vision_cfg\": {\"head_width\": 96}}}");
    must_fail("attnpool heads", "heads");
    wlist_free(&rn);
    free(cfg);
}

int main(void)
{
    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    tu_require_fixture("golden/openai-tiny-rn/model.safetensors");
    snprintf(dir, sizeof dir, "%s/model", tu_tmpdir());
    mkdir(dir, 0755);
    load_inputs();
    round_trip();
    corrupt_vit();
    corrupt_resnet();
    clean_dir();
    free(pixels);
    return tu_finish("test_openai_layout");
}
