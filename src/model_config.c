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

clipsearch_status cs_preprocessor_config_parse(const char *json, size_t len, const char *name,
                                               cs_model_config *cfg, clipsearch_error *err)
{
    clipsearch_status rc = CLIPSEARCH_OK;
    static const char *keys[2] = {"image_mean", "image_std"};
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: not a JSON object", name);
        goto out;
    }
    for (int k = 0; k < 2; k++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, keys[k]);
        float vals[3];
        if (!arr || cJSON_IsNull(arr))
            continue;
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 3) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: %s must be an array of 3 numbers",
                              name, keys[k]);
            goto out;
        }
        for (int c = 0; c < 3; c++) {
            const cJSON *v = cJSON_GetArrayItem(arr, c);
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
                (k == 1 && !(v->valuedouble > 0))) {
                rc = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: %s[%d] is not a valid number",
                                  name, keys[k], c);
                goto out;
            }
            vals[c] = (float)v->valuedouble;
        }
        memcpy(k ? cfg->image_std : cfg->image_mean, vals, sizeof vals);
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
