/* model.c — loading a CLIP checkpoint into the layout-independent form of
 * model_internal.h: detecting the layout of a model directory (Hugging Face
 * or OpenAI / OpenCLIP, the latter in model_openai.c) and the Hugging Face
 * loader, plus the checked tensor access both loaders share (model_load.h).
 *
 * Geometry comes from the tensor shapes wherever they determine it (widths,
 * layer counts, patch and image size, vocabulary, context, projection);
 * config.json supplies what shapes cannot tell (head counts, activation,
 * LayerNorm epsilon), with transformers' defaults for absent fields.  Every
 * tensor is checked for presence, dtype and exact shape before use. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/stat.h>

#include "backend.h"
#include "error.h"
#include "kernels.h"
#include "model_config.h"
#include "model_internal.h"
#include "model_load.h"

#define CS_MAX_CONFIG_SIZE (4u << 20)

clipsearch_model_params clipsearch_model_default_params(void)
{
    clipsearch_model_params p = {.towers = CLIPSEARCH_TOWER_BOTH,
                                 .precision = CLIPSEARCH_PRECISION_AUTO};
    return p;
}

const clipsearch_model_info *clipsearch_model_get_info(const clipsearch_model *model)
{
    return &model->info;
}

int clipsearch_model_towers(const clipsearch_model *model) { return model->towers; }

void clipsearch_model_free(clipsearch_model *m)
{
    if (!m)
        return;
    cs_backend_release(m);
    for (int i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->vision.tf.blocks);
    free(m->resnet.blocks);
    free(m->text.tf.blocks);
    cs_safetensors_close(m->weights);
    free(m->dir);
    free(m);
}

typedef cs_loader loader;

static const cs_tensor *find_tensor(loader *ld, const char *fmt, va_list ap, char *name,
                                    size_t name_size)
{
    vsnprintf(name, name_size, fmt, ap);
    return cs_safetensors_find(ld->st, name);
}

int cs_load_own(loader *ld, float *buf)
{
    clipsearch_model *m = ld->m;
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        float **grown = realloc(m->owned, (size_t)cap * sizeof *grown);
        if (!grown) {
            free(buf);
            cs_error_set(ld->err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", ld->file);
            return 0;
        }
        m->owned = grown;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = buf;
    return 1;
}

float *cs_load_alloc(loader *ld, size_t n)
{
    float *buf = calloc(n ? n : 1, sizeof(float));
    if (!buf) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", ld->file);
        return NULL;
    }
    return cs_load_own(ld, buf) ? buf : NULL;
}

void cs_load_release(loader *ld, const float *data)
{
    clipsearch_model *m = ld->m;
    if (m->n_owned > 0 && m->owned[m->n_owned - 1] == data)
        free(m->owned[--m->n_owned]);
}

/* Maps a zero-copy tensor's pages now, in one call, rather than by a page
 * fault per 64 KB on first use: for a one-shot search the faults of the
 * text tower's 150 MB would cost more than the query itself.  Embedding
 * tables are read a few rows at a time and are left to fault lazily. */
static void populate(const cs_tensor *t)
{
#ifdef MADV_POPULATE_READ
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)t->data & ~(page - 1);
    uintptr_t end = (uintptr_t)t->data + t->nbytes;
    if (strstr(t->name, "token_embedding") || t->nbytes < 65536)
        return;
    madvise((void *)start, end - start, MADV_POPULATE_READ); /* a hint: errors ignored */
#else
    (void)t;
#endif
}

const float *cs_load_weight(loader *ld, int ndim, int64_t *shape, const char *fmt, ...)
{
    char name[256];
    const cs_tensor *t;
    float *buf;
    va_list ap;

    va_start(ap, fmt);
    t = find_tensor(ld, fmt, ap, name, sizeof name);
    va_end(ap);
    if (!t) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL, "%s: tensor '%s' is missing", ld->file, name);
        return NULL;
    }
    if (t->ndim != ndim) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL, "%s: tensor '%s' has %d dimensions, expected %d",
                     ld->file, name, t->ndim, ndim);
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        if (shape[i] >= 0 && t->shape[i] != shape[i]) {
            char got[128] = "", want[128] = "";
            for (int j = 0; j < ndim; j++) {
                size_t g = strlen(got), w = strlen(want);
                snprintf(got + g, sizeof got - g, "%s%lld", j ? ", " : "", (long long)t->shape[j]);
                if (shape[j] >= 0)
                    snprintf(want + w, sizeof want - w, "%s%lld", j ? ", " : "",
                             (long long)shape[j]);
                else
                    snprintf(want + w, sizeof want - w, "%s*", j ? ", " : "");
            }
            cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL, "%s: tensor '%s' has shape [%s], expected [%s]",
                         ld->file, name, got, want);
            return NULL;
        }
        if (t->shape[i] <= 0 || t->shape[i] > (1 << 24)) {
            cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL, "%s: tensor '%s' has an implausible dimension %lld",
                         ld->file, name, (long long)t->shape[i]);
            return NULL;
        }
        shape[i] = t->shape[i];
    }
    switch (t->dtype) {
    case CS_DTYPE_F32:
        ld->saw_f32 = 1;
        if (((uintptr_t)t->data & 3) == 0) {
            populate(t);
            return t->data; /* zero-copy from the mapping */
        }
        break;
    case CS_DTYPE_F16: ld->saw_f16 = 1; break;
    case CS_DTYPE_BF16: ld->saw_bf16 = 1; break;
    default:
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL,
                     "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16", ld->file,
                     name, cs_dtype_name(t->dtype));
        return NULL;
    }
    buf = malloc((size_t)t->numel * sizeof(float));
    if (!buf) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory for '%s'", ld->file, name);
        return NULL;
    }
    if (!cs_load_own(ld, buf))
        return NULL;
    if (cs_tensor_to_f32(t, buf, ld->err) != CLIPSEARCH_OK)
        return NULL;
    return buf;
}

int cs_count_layers(const cs_safetensors *st, const char *prefix)
{
    size_t plen = strlen(prefix);
    int n = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        const char *name = st->tensors[i].name;
        char *end;
        long idx;
        if (strncmp(name, prefix, plen) != 0 || name[plen] < '0' || name[plen] > '9')
            continue;
        idx = strtol(name + plen, &end, 10);
        if (*end == '.' && idx >= 0 && idx < 4096 && idx + 1 > n)
            n = (int)idx + 1;
    }
    return n;
}

int cs_check_layers_present(loader *ld, const char *prefix, int n)
{
    size_t plen = strlen(prefix);
    for (int want = 0; want < n; want++) {
        int found = 0;
        for (int i = 0; i < ld->st->n_tensors && !found; i++) {
            const char *name = ld->st->tensors[i].name;
            char *end;
            if (strncmp(name, prefix, plen) != 0 || name[plen] < '0' || name[plen] > '9')
                continue;
            found = strtol(name + plen, &end, 10) == want && *end == '.';
        }
        if (!found) {
            cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL,
                         "%s: block %d of %d is missing (no '%s%d.*' tensors)", ld->file, want, n,
                         prefix, want);
            return 0;
        }
    }
    return 1;
}

static int linear_hf(loader *ld, cs_linear *l, int in, int out, int bias, const char *prefix)
{
    int64_t ws[2] = {out, in}, bs[1] = {out};
    l->in = in;
    l->out = out;
    l->w_in_out = 0;
    if (!(l->w = cs_load_weight(ld, 2, ws, "%s.weight", prefix)))
        return 0;
    l->b = NULL;
    if (bias && !(l->b = cs_load_weight(ld, 1, bs, "%s.bias", prefix)))
        return 0;
    return 1;
}

static int norm_hf(loader *ld, cs_norm *n, int dim, const char *prefix)
{
    int64_t s[1] = {dim};
    if (!(n->w = cs_load_weight(ld, 1, s, "%s.weight", prefix)))
        return 0;
    s[0] = dim;
    return (n->b = cs_load_weight(ld, 1, s, "%s.bias", prefix)) != NULL;
}

/* Loads the encoder blocks under "<tower>.encoder.layers.N." */
static int transformer_hf(loader *ld, cs_transformer *tf, const cs_tower_config *cfg,
                          const char *tower)
{
    char prefix[128], name[192];
    int64_t fc1[2] = {-1, tf->width};
    snprintf(prefix, sizeof prefix, "%s.encoder.layers.", tower);
    tf->layers = cs_count_layers(ld->st, prefix);
    if (tf->layers == 0) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL, "%s: no '%s*' tensors: not a CLIP checkpoint?",
                     ld->file, prefix);
        return 0;
    }
    if (cfg->layers_given && cfg->layers != tf->layers) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL,
                     "%s: config.json gives %s %d layers but the weights have %d", ld->file, tower,
                     cfg->layers, tf->layers);
        return 0;
    }
    tf->heads = cfg->heads;
    tf->act = cfg->act;
    tf->eps = cfg->eps;
    if (tf->width % tf->heads != 0) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL,
                     "%s: %s width %d is not divisible by its %d attention heads", ld->file, tower,
                     tf->width, tf->heads);
        return 0;
    }
    snprintf(name, sizeof name, "%s0.mlp.fc1", prefix);
    if (!cs_load_weight(ld, 2, fc1, "%s.weight", name))
        return 0;
    tf->mlp = (int)fc1[0];
    tf->blocks = calloc((size_t)tf->layers, sizeof *tf->blocks);
    if (!tf->blocks) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        return 0;
    }
    for (int i = 0; i < tf->layers; i++) {
        cs_block *b = &tf->blocks[i];
        int w = tf->width;
#define P(sub) (snprintf(name, sizeof name, "%s%d.%s", prefix, i, sub), name)
        if (!norm_hf(ld, &b->ln1, w, P("layer_norm1")) ||
            !linear_hf(ld, &b->q, w, w, 1, P("self_attn.q_proj")) ||
            !linear_hf(ld, &b->k, w, w, 1, P("self_attn.k_proj")) ||
            !linear_hf(ld, &b->v, w, w, 1, P("self_attn.v_proj")) ||
            !linear_hf(ld, &b->o, w, w, 1, P("self_attn.out_proj")) ||
            !norm_hf(ld, &b->ln2, w, P("layer_norm2")) ||
            !linear_hf(ld, &b->fc1, w, tf->mlp, 1, P("mlp.fc1")) ||
            !linear_hf(ld, &b->fc2, tf->mlp, w, 1, P("mlp.fc2")))
            return 0;
#undef P
    }
    return 1;
}

int cs_load_patches_and_positions(cs_loader *ld, cs_vision_tower *v, const char *patch_name,
                                  const char *pos_name)
{
    int64_t patch[4] = {v->tf.width, 3, -1, -1}, pos[2] = {-1, v->tf.width};
    int P;
    if (!(v->patch.w = cs_load_weight(ld, 4, patch, "%s", patch_name)))
        return 0;
    if (patch[2] != patch[3]) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL, "%s: %s: patch is not square (%lldx%lld)",
                     ld->file, patch_name, (long long)patch[2], (long long)patch[3]);
        return 0;
    }
    P = (int)patch[2];
    v->patch = (cs_linear){.w = v->patch.w, .b = NULL, .in = 3 * P * P, .out = v->tf.width};
    if (!(v->pos_emb = cs_load_weight(ld, 2, pos, "%s", pos_name)))
        return 0;
    v->patch_size = P;
    v->tokens = (int)pos[0];
    v->grid = 1;
    while ((v->grid + 1) * (v->grid + 1) <= v->tokens - 1)
        v->grid++;
    if (v->tokens < 2 || v->grid * v->grid != v->tokens - 1) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL,
                     "%s: %d vision positions is not 1 + a square number of patches", ld->file,
                     v->tokens);
        return 0;
    }
    v->image_size = v->grid * P;
    return 1;
}

int cs_load_token_embeddings(cs_loader *ld, cs_text_tower *t, const char *tok_name,
                             const char *pos_name)
{
    int64_t tok[2] = {-1, -1}, pos[2] = {-1, -1};
    if (!(t->tok_emb = cs_load_weight(ld, 2, tok, "%s", tok_name)))
        return 0;
    t->vocab = (int)tok[0];
    t->tf.width = (int)tok[1];
    pos[1] = t->tf.width;
    if (!(t->pos_emb = cs_load_weight(ld, 2, pos, "%s", pos_name)))
        return 0;
    t->context = (int)pos[0];
    return 1;
}

static int vision_hf(loader *ld, const cs_model_config *cfg)
{
    cs_vision_tower *v = &ld->m->vision;
    int64_t cls[1] = {-1};
    if (!(v->class_emb = cs_load_weight(ld, 1, cls, "vision_model.embeddings.class_embedding")))
        return 0;
    v->tf.width = (int)cls[0];
    if (!cs_load_patches_and_positions(ld, v, "vision_model.embeddings.patch_embedding.weight",
                                       "vision_model.embeddings.position_embedding.weight"))
        return 0;
    if (cfg->vision.image_size != v->image_size && cfg->vision.patch_size == v->patch_size) {
        /* Shapes win, but a config that disagrees is worth refusing: the
         * preprocessing would be set up for the wrong size. */
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL,
                     "%s: config.json says image_size %d but the weights are for %d", ld->file,
                     cfg->vision.image_size, v->image_size);
        return 0;
    }
    if (!norm_hf(ld, &v->ln_pre, v->tf.width, "vision_model.pre_layrnorm") ||
        !transformer_hf(ld, &v->tf, &cfg->vision, "vision_model") ||
        !norm_hf(ld, &v->ln_post, v->tf.width, "vision_model.post_layernorm"))
        return 0;
    return 1;
}

static int text_hf(loader *ld, const cs_model_config *cfg)
{
    cs_text_tower *t = &ld->m->text;
    if (!cs_load_token_embeddings(ld, t, "text_model.embeddings.token_embedding.weight",
                                  "text_model.embeddings.position_embedding.weight"))
        return 0;
    t->eot_id = cfg->text.eos_id;
    if (t->eot_id >= t->vocab) {
        cs_error_set(ld->err, CLIPSEARCH_ERR_MODEL, "%s: eos_token_id %d is outside the vocabulary (%d)",
                     ld->file, t->eot_id, t->vocab);
        return 0;
    }
    if (!transformer_hf(ld, &t->tf, &cfg->text, "text_model") ||
        !norm_hf(ld, &t->ln_final, t->tf.width, "text_model.final_layer_norm"))
        return 0;
    return 1;
}

/* Projection matrices: [projection_dim][width], bias-free. */
static int projection_hf(loader *ld, cs_linear *l, int width, const char *name, int *dim)
{
    int64_t s[2] = {*dim > 0 ? *dim : -1, width};
    const float *w = cs_load_weight(ld, 2, s, "%s.weight", name);
    if (!w)
        return 0;
    *l = (cs_linear){.w = w, .b = NULL, .in = width, .out = (int)s[0], .w_in_out = 0};
    *dim = (int)s[0];
    return 1;
}

void cs_load_fill_tower_info(clipsearch_model *m)
{
    clipsearch_model_info *i = &m->info;
    if (m->towers & CLIPSEARCH_TOWER_VISION) {
        const cs_vision_tower *v = &m->vision;
        i->image_size = v->image_size;
        i->patch_size = v->patch_size;
        i->vision_width = v->tf.width;
        i->vision_layers = v->tf.layers;
        i->vision_heads = v->tf.heads;
        i->vision_act = v->tf.act;
        i->vision_eps = v->tf.eps;
    }
    if (m->towers & CLIPSEARCH_TOWER_TEXT) {
        const cs_text_tower *t = &m->text;
        i->context_length = t->context;
        i->vocab_size = t->vocab;
        i->text_width = t->tf.width;
        i->text_layers = t->tf.layers;
        i->text_heads = t->tf.heads;
        i->text_act = t->tf.act;
        i->text_eps = t->tf.eps;
        i->eot_token_id = t->eot_id;
    }
}

static void fill_info(clipsearch_model *m, const cs_model_config *cfg, const loader *ld)
{
    clipsearch_model_info *i = &m->info;
    cs_load_fill_tower_info(m);
    memcpy(i->image_mean, cfg->image_mean, sizeof i->image_mean);
    memcpy(i->image_std, cfg->image_std, sizeof i->image_std);
    cs_load_fill_dtype(ld, i);
}

void cs_load_fill_dtype(const loader *ld, clipsearch_model_info *i)
{
    snprintf(i->weights_dtype, sizeof i->weights_dtype, "%s",
             ld->saw_f32 + ld->saw_f16 + ld->saw_bf16 > 1 ? "mixed"
             : ld->saw_f16                               ? "F16"
             : ld->saw_bf16                              ? "BF16"
                                                         : "F32");
}

/* The Hugging Face layout: config.json (required), preprocessor_config.json
 * (optional), weights already open in m->weights. */
static clipsearch_status load_hf(clipsearch_model *m, const char *dir, const char *weights_path,
                                 clipsearch_error *err)
{
    clipsearch_status rc = CLIPSEARCH_OK;
    cs_model_config cfg;
    char path[4096];
    char *json = NULL;
    size_t json_len = 0;
    loader ld = {0};
    int proj_dim = 0;

    cs_model_config_defaults(&cfg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    rc = cs_read_small_file(path, CS_MAX_CONFIG_SIZE, &json, &json_len, err);
    if (rc == CLIPSEARCH_ERR_NOT_FOUND) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                          "%s: no config.json: not a Hugging Face CLIP model directory", dir);
        goto out;
    }
    if (rc != CLIPSEARCH_OK || (rc = cs_model_config_parse(json, json_len, path, &cfg, err)))
        goto out;
    free(json);
    json = NULL;
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    rc = cs_read_small_file(path, CS_MAX_CONFIG_SIZE, &json, &json_len, err);
    if (rc == CLIPSEARCH_OK)
        rc = cs_preprocessor_config_parse(json, json_len, path, &cfg, err);
    else if (rc == CLIPSEARCH_ERR_NOT_FOUND)
        rc = CLIPSEARCH_OK; /* optional: OpenAI's mean and std */
    if (rc != CLIPSEARCH_OK)
        goto out;

    ld = (loader){.m = m, .st = m->weights, .file = weights_path, .err = err};
    if (m->towers & CLIPSEARCH_TOWER_VISION) {
        if (!vision_hf(&ld, &cfg) ||
            !projection_hf(&ld, &m->vision.proj, m->vision.tf.width, "visual_projection",
                           &proj_dim)) {
            rc = err->status;
            goto out;
        }
    }
    if (m->towers & CLIPSEARCH_TOWER_TEXT) {
        if (!text_hf(&ld, &cfg) ||
            !projection_hf(&ld, &m->text.proj, m->text.tf.width, "text_projection", &proj_dim)) {
            rc = err->status;
            goto out;
        }
    }
    m->info.projection_dim = proj_dim;
    fill_info(m, &cfg, &ld);
out:
    free(json);
    return rc;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* 1 when the file's tensor names are Hugging Face's CLIPModel ones. */
static int hf_layout(const cs_safetensors *st)
{
    for (int i = 0; i < st->n_tensors; i++)
        if (!strncmp(st->tensors[i].name, "vision_model.", 13) ||
            !strncmp(st->tensors[i].name, "text_model.", 11))
            return 1;
    return 0;
}

int cs_model_weights_path(const char *dir, char *path, size_t size)
{
    /* In the order they are looked for: Hugging Face's, then those OpenCLIP
     * repositories carry. */
    static const char *const names[] = {"model.safetensors", "open_clip_model.safetensors",
                                        "open_clip_pytorch_model.safetensors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (snprintf(path, size, "%s/%s", dir, names[i]) < (int)size && file_exists(path))
            return 1;
    }
    if (size)
        path[0] = '\0';
    return 0;
}

clipsearch_status clipsearch_model_load(const char *dir, const clipsearch_model_params *params,
                                        clipsearch_model **out, clipsearch_error *err)
{
    clipsearch_model_params p = params ? *params : clipsearch_model_default_params();
    clipsearch_model *m = NULL;
    clipsearch_status rc = CLIPSEARCH_OK;
    char path[4096], weights_path[4096];
    int has_config, has_open_clip_config, backend;
    clipsearch_precision precision;
    clipsearch_error local_err;

    /* The engine runs OpenBLAS single-threaded and threads itself; settle
     * that before the load, so OpenBLAS's idle workers stop spinning now
     * (see cs_blas_set_threads). */
    cs_blas_set_threads(1);
    if (!err)
        err = &local_err; /* the status of a failed step is read back below */

    if (!out || !dir)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "model directory is NULL");
    *out = NULL;
    if (!(p.towers & CLIPSEARCH_TOWER_BOTH))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "no tower requested");
    backend = cs_backend_selected();
    /* A one-shot text query: reordering the weights for oneDNN would cost
     * more than the query itself. */
    if (p.quick_start && p.towers == CLIPSEARCH_TOWER_TEXT &&
        p.precision == CLIPSEARCH_PRECISION_AUTO && cs_backend_unpinned())
        backend = CS_BACKEND_OPENBLAS;
    rc = cs_backend_resolve(backend, p.precision, &precision, err);
    if (rc != CLIPSEARCH_OK)
        return rc;

    snprintf(path, sizeof path, "%s/config.json", dir);
    has_config = file_exists(path);
    snprintf(path, sizeof path, "%s/open_clip_config.json", dir);
    has_open_clip_config = file_exists(path);
    if (!cs_model_weights_path(dir, weights_path, sizeof weights_path)) {
        if (!has_config && !has_open_clip_config)
            return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                                "%s: no config.json, open_clip_config.json or weights "
                                "(model.safetensors, open_clip_model.safetensors, "
                                "open_clip_pytorch_model.safetensors): not a CLIP model directory",
                                dir);
        /* Let the open below name the file that should have been there. */
        snprintf(weights_path, sizeof weights_path, "%s/%s", dir,
                 has_config ? "model.safetensors" : "open_clip_model.safetensors");
    }

    m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    m->towers = p.towers & CLIPSEARCH_TOWER_BOTH;
    rc = cs_safetensors_open(weights_path, &m->weights, err);
    if (rc != CLIPSEARCH_OK)
        goto out;

    if (cs_openai_layout(m->weights)) {
        rc = cs_openai_load(m, dir, weights_path, err);
    } else if (has_config) {
        rc = load_hf(m, dir, weights_path, err);
    } else if (hf_layout(m->weights)) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                          "%s: no config.json: not a Hugging Face CLIP model directory "
                          "(%s has Hugging Face tensor names)",
                          dir, weights_path);
    } else {
        rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                          "%s: unknown tensor layout: neither Hugging Face names "
                          "('vision_model.*', 'text_model.*') nor OpenAI / OpenCLIP ones "
                          "('visual.*', 'transformer.resblocks.*', 'token_embedding.weight')",
                          weights_path);
    }
    if (rc != CLIPSEARCH_OK)
        goto out;
    {
        const cs_tensor *ls = cs_safetensors_find(m->weights, "logit_scale");
        float v;
        if (ls && ls->numel == 1 && cs_tensor_to_f32(ls, &v, NULL) == CLIPSEARCH_OK)
            m->info.logit_scale = v;
    }
    /* Weights reordered (and converted) once, for the backend's kernels. */
    rc = cs_backend_prepare(m, backend, precision, err);
out:
    if (rc != CLIPSEARCH_OK) {
        clipsearch_model_free(m);
        return rc;
    }
    *out = m;
    return CLIPSEARCH_OK;
}
