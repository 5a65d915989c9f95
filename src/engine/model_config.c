/* model_config.c — config.json and preprocessor_config.json parsing. */
#include "model_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

void cs_model_config_defaults(cs_model_config *cfg)
{
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    memset(cfg, 0, sizeof *cfg);
    cfg->projection_dim = 512;
    cfg->vision = (cs_tower_config){.width = 768, .layers = 12, .heads = 12, .mlp = 3072,
                                    .act = CLIPSEARCH_ACT_QUICK_GELU, .eps = 1e-5f,
                                    .image_size = 224, .patch_size = 32};
    cfg->text = (cs_tower_config){.width = 512, .layers = 12, .heads = 8, .mlp = 2048,
                                  .act = CLIPSEARCH_ACT_QUICK_GELU, .eps = 1e-5f,
                                  .vocab = 49408, .context = 77, .eos_id = 49407};
    memcpy(cfg->image_mean, mean, sizeof mean);
    memcpy(cfg->image_std, std, sizeof std);
}

/* Reads an integer field in [lo, hi] if present and not null. */
static clipsearch_status get_int(const cJSON *obj, const char *key, int lo, int hi, int *out,
                                 const char *name, const char *where, clipsearch_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return CLIPSEARCH_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: %s%s must be an integer in [%d, %d]",
                            name, where, key, lo, hi);
    *out = (int)v->valuedouble;
    return CLIPSEARCH_OK;
}

static clipsearch_status get_eps(const cJSON *obj, float *out, const char *name,
                                 const char *where, clipsearch_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "layer_norm_eps");
    if (!v || cJSON_IsNull(v))
        return CLIPSEARCH_OK;
    /* Positive as a float too: 1e-82 would round to 0 and divide by zero. */
    if (!cJSON_IsNumber(v) || !((float)v->valuedouble > 0) || v->valuedouble > 1)
        return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                            "%s: %slayer_norm_eps must be a number in (0, 1]", name, where);
    *out = (float)v->valuedouble;
    return CLIPSEARCH_OK;
}

static clipsearch_status get_act(const cJSON *obj, clipsearch_activation *out, const char *name,
                                 const char *where, clipsearch_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "hidden_act");
    if (!v || cJSON_IsNull(v))
        return CLIPSEARCH_OK;
    if (!cJSON_IsString(v))
        return cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: %shidden_act must be a string", name,
                            where);
    if (!strcmp(v->valuestring, "quick_gelu"))
        *out = CLIPSEARCH_ACT_QUICK_GELU;
    else if (!strcmp(v->valuestring, "gelu"))
        *out = CLIPSEARCH_ACT_GELU;
    else if (!strcmp(v->valuestring, "gelu_new") || !strcmp(v->valuestring, "gelu_pytorch_tanh"))
        *out = CLIPSEARCH_ACT_GELU_TANH;
    else
        return cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED,
                            "%s: %shidden_act '%s' is not supported (quick_gelu, gelu, gelu_new)",
                            name, where, v->valuestring);
    return CLIPSEARCH_OK;
}

/* A tower's sub-config: "vision_config" or, in older files, "vision_config_dict";
 * when both exist the first wins field by field. */
static clipsearch_status parse_tower(const cJSON *root, const char *key, int vision,
                                     cs_tower_config *t, const char *name, clipsearch_error *err)
{
    char dict_key[64];
    const cJSON *objs[2];
    clipsearch_status rc;
    snprintf(dict_key, sizeof dict_key, "%s_dict", key);
    objs[0] = cJSON_GetObjectItemCaseSensitive(root, dict_key);
    objs[1] = cJSON_GetObjectItemCaseSensitive(root, key);
    for (int i = 0; i < 2; i++) {
        const cJSON *o = objs[i];
        char where[80];
        if (!o || cJSON_IsNull(o))
            continue;
        snprintf(where, sizeof where, "%s.", i ? key : dict_key);
        if (!cJSON_IsObject(o))
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: %s must be an object", name,
                                i ? key : dict_key);
        if (cJSON_GetObjectItemCaseSensitive(o, "num_hidden_layers") &&
            !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "num_hidden_layers")))
            t->layers_given = 1;
        if ((rc = get_int(o, "hidden_size", 1, 1 << 16, &t->width, name, where, err)) ||
            (rc = get_int(o, "num_hidden_layers", 1, 1024, &t->layers, name, where, err)) ||
            (rc = get_int(o, "num_attention_heads", 1, 4096, &t->heads, name, where, err)) ||
            (rc = get_int(o, "intermediate_size", 1, 1 << 20, &t->mlp, name, where, err)) ||
            (rc = get_eps(o, &t->eps, name, where, err)) ||
            (rc = get_act(o, &t->act, name, where, err)))
            return rc;
        if (vision) {
            if ((rc = get_int(o, "image_size", 1, 1 << 14, &t->image_size, name, where, err)) ||
                (rc = get_int(o, "patch_size", 1, 1 << 12, &t->patch_size, name, where, err)))
                return rc;
        } else {
            if ((rc = get_int(o, "vocab_size", 1, 1 << 24, &t->vocab, name, where, err)) ||
                (rc = get_int(o, "max_position_embeddings", 2, 1 << 16, &t->context, name, where,
                              err)) ||
                (rc = get_int(o, "eos_token_id", 0, 1 << 24, &t->eos_id, name, where, err)))
                return rc;
        }
    }
    return CLIPSEARCH_OK;
}

clipsearch_status cs_model_config_parse(const char *json, size_t len, const char *name,
                                        cs_model_config *cfg, clipsearch_error *err)
{
    clipsearch_status rc = CLIPSEARCH_OK;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: not a JSON object", name);
        goto out;
    }
    if ((rc = get_int(root, "projection_dim", 1, 1 << 16, &cfg->projection_dim, name, "", err)) ||
        (rc = parse_tower(root, "vision_config", 1, &cfg->vision, name, err)) ||
        (rc = parse_tower(root, "text_config", 0, &cfg->text, name, err)))
        goto out;
    /* transformers' legacy configs say eos_token_id 2 and pool at the
     * argmax of the ids, which is the first <|endoftext|> (the largest id). */
    if (cfg->text.eos_id == 2)
        cfg->text.eos_id = 49407;
out:
    cJSON_Delete(root);
    return rc;
}

/* A float array of 3 finite numbers (positive when `positive`). */
static clipsearch_status get_triple(const cJSON *obj, const char *key, int positive, float *out,
                                    int *given, const char *name, const char *where,
                                    clipsearch_error *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    float vals[3];
    if (!arr || cJSON_IsNull(arr))
        return CLIPSEARCH_OK;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 3)
        return cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: %s%s must be an array of 3 numbers",
                            name, where, key);
    for (int c = 0; c < 3; c++) {
        const cJSON *v = cJSON_GetArrayItem(arr, c);
        /* Checked as floats: 1e39 is a finite double but an infinite float. */
        if (!cJSON_IsNumber(v) || !isfinite((float)v->valuedouble) ||
            (positive && !((float)v->valuedouble > 0)))
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: %s%s[%d] is not a valid number",
                                name, where, key, c);
        vals[c] = (float)v->valuedouble;
    }
    memcpy(out, vals, sizeof vals);
    *given = 1;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_preprocessor_config_parse(const char *json, size_t len, const char *name,
                                               cs_model_config *cfg, clipsearch_error *err)
{
    clipsearch_status rc = CLIPSEARCH_OK;
    int given = 0;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root))
        rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: not a JSON object", name);
    else if ((rc = get_triple(root, "image_mean", 0, cfg->image_mean, &given, name, "", err)) ==
             CLIPSEARCH_OK)
        rc = get_triple(root, "image_std", 1, cfg->image_std, &given, name, "", err);
    cJSON_Delete(root);
    return rc;
}

void cs_open_clip_config_defaults(cs_open_clip_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->quick_gelu = -1;
}


/* Fails when `key` is present and "set": a true boolean, a non-empty string,
 * a number other than 0, or (for `allowed`) a string other than it. */
static clipsearch_status refuse(const cJSON *obj, const char *key, const char *allowed,
                                const char *name, const char *where, clipsearch_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    int set;
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return CLIPSEARCH_OK;
    if (cJSON_IsString(v))
        set = allowed ? strcmp(v->valuestring, allowed) != 0 : v->valuestring[0] != '\0';
    else if (cJSON_IsNumber(v))
        set = v->valuedouble != 0;
    else if (cJSON_IsObject(v) || cJSON_IsArray(v))
        set = cJSON_GetArraySize(v) != 0;
    else
        set = 1;
    if (set)
        return cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED,
                            "%s: %s%s is set: this OpenCLIP architecture is not supported%s%s%s",
                            name, where, key, allowed ? " (only \"" : "", allowed ? allowed : "",
                            allowed ? "\")" : "");
    return CLIPSEARCH_OK;
}

static clipsearch_status open_clip_vision(const cJSON *o, cs_open_clip_config *cfg,
                                          const char *name, clipsearch_error *err)
{
    static const char *const unsupported[] = {"timm_model_name", "attentional_pool",
                                              "global_average_pool", "input_patchnorm",
                                              "ls_init_value", "no_ln_pre", "attn_pooler_queries",
                                              "norm_kwargs", "act_kwargs"};
    const char *where = "model_cfg.vision_cfg.";
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(o, "layers");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "image_size");
    clipsearch_status rc;
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if ((rc = refuse(o, unsupported[i], NULL, name, where, err)))
            return rc;
    if ((rc = refuse(o, "pool_type", "tok", name, where, err)) ||
        (rc = get_int(o, "width", 1, 1 << 16, &cfg->vision_width, name, where, err)) ||
        (rc = get_int(o, "heads", 1, 4096, &cfg->vision_heads, name, where, err)) ||
        (rc = get_int(o, "head_width", 1, 1 << 16, &cfg->vision_head_width, name, where, err)) ||
        (rc = get_int(o, "patch_size", 1, 1 << 12, &cfg->vision_patch_size, name, where, err)) ||
        (rc = get_triple(o, "image_mean", 0, cfg->mean, &cfg->has_mean, name, where, err)) ||
        (rc = get_triple(o, "image_std", 1, cfg->std, &cfg->has_std, name, where, err)))
        return rc;
    if (cJSON_IsArray(layers)) {
        if (cJSON_GetArraySize(layers) != 4)
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                "%s: %slayers must be an integer or a list of 4 (ResNet stages)",
                                name, where);
        for (int i = 0; i < 4; i++) {
            const cJSON *v = cJSON_GetArrayItem(layers, i);
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                v->valuedouble < 1 || v->valuedouble > 1024)
                return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                    "%s: %slayers[%d] must be an integer in [1, 1024]", name,
                                    where, i);
            cfg->vision_layers[i] = (int)v->valuedouble;
        }
        cfg->vision_n_layers = 4;
    } else if (layers && !cJSON_IsNull(layers)) {
        if ((rc = get_int(o, "layers", 1, 1024, &cfg->vision_layers[0], name, where, err)))
            return rc;
        cfg->vision_n_layers = 1;
    }
    /* image_size: an integer or [height, width] (square only). */
    if (cJSON_IsArray(size)) {
        const cJSON *h = cJSON_GetArrayItem(size, 0), *w = cJSON_GetArrayItem(size, 1);
        if (cJSON_GetArraySize(size) != 2 || !cJSON_IsNumber(h) || !cJSON_IsNumber(w) ||
            h->valuedouble != w->valuedouble || h->valuedouble != floor(h->valuedouble) ||
            h->valuedouble < 1 || h->valuedouble > (1 << 14))
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                "%s: %simage_size must be an integer or a square [size, size]",
                                name, where);
        cfg->vision_image_size = (int)h->valuedouble;
    } else if ((rc = get_int(o, "image_size", 1, 1 << 14, &cfg->vision_image_size, name, where,
                             err))) {
        return rc;
    }
    return CLIPSEARCH_OK;
}

static clipsearch_status open_clip_text(const cJSON *o, cs_open_clip_config *cfg,
                                        const char *name, clipsearch_error *err)
{
    static const char *const unsupported[] = {"hf_model_name", "hf_tokenizer_name",
                                              "no_causal_mask", "proj_bias", "embed_cls",
                                              "ls_init_value", "norm_kwargs", "act_kwargs"};
    const char *where = "model_cfg.text_cfg.";
    clipsearch_status rc;
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if ((rc = refuse(o, unsupported[i], NULL, name, where, err)))
            return rc;
    if ((rc = refuse(o, "pool_type", "argmax", name, where, err)) ||
        (rc = get_int(o, "width", 1, 1 << 16, &cfg->text_width, name, where, err)) ||
        (rc = get_int(o, "heads", 1, 4096, &cfg->text_heads, name, where, err)) ||
        (rc = get_int(o, "layers", 1, 1024, &cfg->text_layers, name, where, err)) ||
        (rc = get_int(o, "context_length", 2, 1 << 16, &cfg->text_context, name, where, err)) ||
        (rc = get_int(o, "vocab_size", 1, 1 << 24, &cfg->text_vocab, name, where, err)))
        return rc;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_open_clip_config_parse(const char *json, size_t len, const char *name,
                                            cs_open_clip_config *cfg, clipsearch_error *err)
{
    clipsearch_status rc = CLIPSEARCH_OK;
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *model, *sub, *pre;
    if (!root || !cJSON_IsObject(root)) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: not a JSON object", name);
        goto out;
    }
    model = cJSON_GetObjectItemCaseSensitive(root, "model_cfg");
    if (model && !cJSON_IsNull(model)) {
        const cJSON *qg;
        if (!cJSON_IsObject(model)) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: model_cfg must be an object", name);
            goto out;
        }
        if ((rc = get_int(model, "embed_dim", 1, 1 << 16, &cfg->embed_dim, name, "model_cfg.",
                          err)))
            goto out;
        qg = cJSON_GetObjectItemCaseSensitive(model, "quick_gelu");
        if (qg && !cJSON_IsNull(qg)) {
            if (!cJSON_IsBool(qg)) {
                rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                  "%s: model_cfg.quick_gelu must be true or false", name);
                goto out;
            }
            cfg->quick_gelu = cJSON_IsTrue(qg);
        }
        sub = cJSON_GetObjectItemCaseSensitive(model, "vision_cfg");
        if (sub && !cJSON_IsNull(sub)) {
            if (!cJSON_IsObject(sub)) {
                rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                  "%s: model_cfg.vision_cfg must be an object", name);
                goto out;
            }
            if ((rc = open_clip_vision(sub, cfg, name, err)))
                goto out;
        }
        sub = cJSON_GetObjectItemCaseSensitive(model, "text_cfg");
        if (sub && !cJSON_IsNull(sub)) {
            if (!cJSON_IsObject(sub)) {
                rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                  "%s: model_cfg.text_cfg must be an object", name);
                goto out;
            }
            if ((rc = open_clip_text(sub, cfg, name, err)))
                goto out;
        }
    }
    pre = cJSON_GetObjectItemCaseSensitive(root, "preprocess_cfg");
    if (pre && !cJSON_IsNull(pre)) {
        if (!cJSON_IsObject(pre)) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: preprocess_cfg must be an object",
                              name);
            goto out;
        }
        if ((rc = get_triple(pre, "mean", 0, cfg->mean, &cfg->has_mean, name, "preprocess_cfg.",
                             err)) ||
            (rc = get_triple(pre, "std", 1, cfg->std, &cfg->has_std, name, "preprocess_cfg.",
                             err)))
            goto out;
    }
out:
    cJSON_Delete(root);
    return rc;
}

clipsearch_status cs_read_small_file(const char *path, size_t max_size, char **out, size_t *len,
                                     clipsearch_error *err)
{
    FILE *f;
    struct stat sb;
    char *buf = NULL;
    *out = NULL;
    f = fopen(path, "rb");
    if (!f)
        return cs_error_set(err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                            "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: not a regular file", path);
    }
    if ((unsigned long long)sb.st_size > max_size) {
        fclose(f);
        return cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE, "%s: file too large (%lld bytes)", path,
                            (long long)sb.st_size);
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        fclose(f);
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        fclose(f);
        free(buf);
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: read error", path);
    }
    fclose(f);
    buf[sb.st_size] = '\0';
    *out = buf;
    if (len)
        *len = (size_t)sb.st_size;
    return CLIPSEARCH_OK;
}
