/*
 * model_config.h — a CLIP model's config.json (Hugging Face layout), with
 * transformers' defaults (those of ViT-B/32) for every absent field.
 */
#ifndef CS_MODEL_CONFIG_H
#define CS_MODEL_CONFIG_H

#include <stddef.h>

#include "clipsearch/model.h"

typedef struct cs_tower_config {
    int width;  /* hidden_size */
    int layers; /* num_hidden_layers */
    int layers_given; /* num_hidden_layers was in the file (checked against the weights) */
    int heads;  /* num_attention_heads */
    int mlp;    /* intermediate_size */
    clipsearch_activation act;
    float eps;
    /* vision only */
    int image_size, patch_size;
    /* text only */
    int vocab, context, eos_id;
} cs_tower_config;

typedef struct cs_model_config {
    int projection_dim;
    cs_tower_config vision, text;
    float image_mean[3], image_std[3];
} cs_model_config;

/* Fills cfg with transformers' CLIPConfig defaults (ViT-B/32). */
void cs_model_config_defaults(cs_model_config *cfg);

/* Parses config.json text (len bytes) over the defaults.  `name` is used in
 * messages.  Unknown activations and out-of-range values are errors. */
clipsearch_status cs_model_config_parse(const char *json, size_t len, const char *name,
                                        cs_model_config *cfg, clipsearch_error *err);

/* Parses preprocessor_config.json's image_mean/image_std over cfg. */
clipsearch_status cs_preprocessor_config_parse(const char *json, size_t len, const char *name,
                                               cs_model_config *cfg, clipsearch_error *err);

/* OpenCLIP's open_clip_config.json: {"model_cfg": {...}, "preprocess_cfg": {...}}.
 * Zero / -1 means absent; the loader takes geometry from the tensor shapes and
 * checks what is given here against them. */
typedef struct cs_open_clip_config {
    int embed_dim;           /* model_cfg.embed_dim; 0 absent */
    int quick_gelu;          /* model_cfg.quick_gelu; -1 absent */
    /* model_cfg.vision_cfg */
    int vision_width;        /* 0 absent */
    int vision_layers[4];    /* an int (ViT) in [0], or a list of 4 (ResNet) */
    int vision_n_layers;     /* 0 absent, 1 an int, 4 a list */
    int vision_heads;        /* 0 absent */
    int vision_head_width;   /* 0 absent (OpenCLIP's default: 64) */
    int vision_patch_size;   /* 0 absent */
    int vision_image_size;   /* 0 absent */
    /* model_cfg.text_cfg */
    int text_width, text_layers, text_heads, text_context, text_vocab; /* 0 absent */
    /* preprocess_cfg (or vision_cfg.image_mean / image_std) */
    int has_mean, has_std;
    float mean[3], std[3];
} cs_open_clip_config;

void cs_open_clip_config_defaults(cs_open_clip_config *cfg);

/* Parses open_clip_config.json text (len bytes) over cfg.  Options that change
 * the architecture in ways the engine does not implement (timm or Hugging
 * Face towers, attentional pooling, layer scale, other pooling types, ...)
 * give CLIPSEARCH_ERR_UNSUPPORTED naming the field; malformed values give
 * CLIPSEARCH_ERR_MODEL. */
clipsearch_status cs_open_clip_config_parse(const char *json, size_t len, const char *name,
                                            cs_open_clip_config *cfg, clipsearch_error *err);

/* Reads a whole (small) file into a malloc'd NUL-terminated buffer. */
clipsearch_status cs_read_small_file(const char *path, size_t max_size, char **out, size_t *len,
                                     clipsearch_error *err);

#endif
