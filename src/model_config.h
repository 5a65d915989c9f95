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

/* Reads a whole (small) file into a malloc'd NUL-terminated buffer. */
clipsearch_status cs_read_small_file(const char *path, size_t max_size, char **out, size_t *len,
                                     clipsearch_error *err);

#endif
