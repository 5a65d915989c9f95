/*
 * model_load.h — what the checkpoint loaders (model.c: Hugging Face layout,
 * model_openai.c: OpenAI / OpenCLIP layout) share: a loader state and a
 * checked tensor accessor that returns float32 data.
 */
#ifndef CS_MODEL_LOAD_H
#define CS_MODEL_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "model_internal.h"

/* State of one load: the model being built and what the messages name. */
typedef struct cs_loader {
    clipsearch_model *m;
    const cs_safetensors *st;
    const char *file; /* weights path, for messages */
    int saw_f32, saw_f16, saw_bf16;
    clipsearch_error *err;
} cs_loader;

/* Returns float32 data for tensor `fmt...` whose shape must be exactly
 * shape[0..ndim) (entries < 0 accept any size and receive it), or NULL with
 * the error set.  Zero-copy for aligned F32 data; otherwise a converted copy
 * owned by the model. */
const float *cs_load_weight(cs_loader *ld, int ndim, int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A zeroed float buffer of n values owned by the model, or NULL with the
 * error set (for tensors built at load: folded BatchNorm, reordered convs). */
float *cs_load_alloc(cs_loader *ld, size_t n);

/* Hands a malloc'd buffer to the model (freed with it); 0 with the error set,
 * buf already freed, on failure. */
int cs_load_own(cs_loader *ld, float *buf);

/* Frees `data` if it is the most recent converted copy (a tensor only needed
 * while building another, such as a convolution before BatchNorm folding);
 * zero-copy data is left alone. */
void cs_load_release(cs_loader *ld, const float *data);

/* ViT patch embedding (a conv [width][3][P][P]) and positions
 * ([1 + grid^2][width]) into v, whose tf.width must be set: fills patch,
 * pos_emb, patch_size, tokens, grid and image_size; 0 with the error set. */
int cs_load_patches_and_positions(cs_loader *ld, cs_vision_tower *v, const char *patch_name,
                                  const char *pos_name);

/* Token embeddings ([vocab][width]) and positions ([context][width]) into
 * t: fills tok_emb, pos_emb, vocab, tf.width and context; 0 with the error
 * set. */
int cs_load_token_embeddings(cs_loader *ld, cs_text_tower *t, const char *tok_name,
                             const char *pos_name);

/* Highest N + 1 over tensors named "<prefix>N.<anything>", 0 if none. */
int cs_count_layers(const cs_safetensors *st, const char *prefix);

/* Checks that every index 0..n-1 has at least one "<prefix>N." tensor; 0 with
 * an error naming the first missing one otherwise. */
int cs_check_layers_present(cs_loader *ld, const char *prefix, int n);

/* Fills the model info's geometry fields from the loaded ViT and text
 * towers (a ResNet loader overrides the vision fields afterwards). */
void cs_load_fill_tower_info(clipsearch_model *m);

/* Fills the weights_dtype field of the model info from what was seen. */
void cs_load_fill_dtype(const cs_loader *ld, clipsearch_model_info *info);

/* The OpenAI / OpenCLIP loader (model_openai.c). */

/* 1 when the file's tensor names are OpenAI's (visual.*, transformer.resblocks.*,
 * token_embedding.weight, ...). */
int cs_openai_layout(const cs_safetensors *st);

/* Loads the towers in m->towers from m->weights (opened from weights_path),
 * reading <dir>/open_clip_config.json when present. */
clipsearch_status cs_openai_load(clipsearch_model *m, const char *dir, const char *weights_path,
                                 clipsearch_error *err);

#endif
