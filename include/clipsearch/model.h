/*
 * clipsearch/model.h — loading a CLIP checkpoint and running its two towers.
 *
 * A model (clipsearch_model) is read-only after load and may be shared by any
 * number of threads.  A context (clipsearch_context) holds one worker's
 * scratch buffers: use one context per thread.
 */
#ifndef CLIPSEARCH_MODEL_H
#define CLIPSEARCH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clipsearch_model clipsearch_model;
typedef struct clipsearch_context clipsearch_context;

typedef enum clipsearch_activation {
    CLIPSEARCH_ACT_QUICK_GELU = 0, /* x * sigmoid(1.702 x) */
    CLIPSEARCH_ACT_GELU = 1,       /* exact, erf-based ("gelu") */
    CLIPSEARCH_ACT_GELU_TANH = 2   /* tanh approximation ("gelu_new", "gelu_pytorch_tanh") */
} clipsearch_activation;

/* Which towers to load.  A search process only needs the text tower. */
enum {
    CLIPSEARCH_TOWER_VISION = 1,
    CLIPSEARCH_TOWER_TEXT = 2,
    CLIPSEARCH_TOWER_BOTH = 3
};

typedef struct clipsearch_model_params {
    int towers; /* CLIPSEARCH_TOWER_* bits; default both */
} clipsearch_model_params;

CLIPSEARCH_API
clipsearch_model_params clipsearch_model_default_params(void);

/* Kind of image tower (clipsearch_model_info.vision_kind). */
typedef enum clipsearch_vision_kind {
    CLIPSEARCH_VISION_VIT = 0,    /* Vision Transformer */
    CLIPSEARCH_VISION_RESNET = 1  /* CLIP's ModifiedResNet (RN50, RN101, RN50x4, ...) */
} clipsearch_vision_kind;

/* Which checkpoint layout a model was loaded from (clipsearch_model_info.layout). */
typedef enum clipsearch_layout {
    CLIPSEARCH_LAYOUT_HF = 0,    /* config.json + model.safetensors, transformers' names */
    CLIPSEARCH_LAYOUT_OPENAI = 1 /* OpenAI / OpenCLIP names, optional open_clip_config.json */
} clipsearch_layout;

/* Geometry and preprocessing of a loaded model.
 * For a ResNet image tower (vision_kind == CLIPSEARCH_VISION_RESNET) the
 * vision_* fields mean: patch_size = 32, the total stride (one cell of the
 * final feature map per 32x32 pixels); vision_width = the stem width (64 for
 * RN50; stage s has width * 2^s planes and width * 2^(s+2) output channels);
 * vision_layers = the number of Bottleneck blocks (16 for RN50, per stage in
 * resnet_blocks); vision_heads = the attention-pool heads; vision_eps = the
 * BatchNorm epsilon (folded into the convolutions at load). */
typedef struct clipsearch_model_info {
    int projection_dim;       /* embedding size */
    /* image tower */
    int image_size;           /* S: input is [3][S][S] */
    int patch_size;
    int vision_width;
    int vision_layers;
    int vision_heads;
    clipsearch_activation vision_act;
    float vision_eps;
    float image_mean[3];
    float image_std[3];
    /* text tower */
    int context_length;       /* max tokens, 77 for CLIP */
    int vocab_size;
    int text_width;
    int text_layers;
    int text_heads;
    clipsearch_activation text_act;
    float text_eps;
    int eot_token_id;         /* pooling position: first occurrence */
    float logit_scale;        /* exp(logit_scale) as stored, 0 if absent */
    char weights_dtype[8];    /* "F32", "F16", "BF16" or "mixed" */
    /* appended fields */
    clipsearch_vision_kind vision_kind;
    int resnet_blocks[4];     /* ResNet: Bottlenecks per stage ([3,4,6,3] for RN50); else 0 */
    clipsearch_layout layout;
} clipsearch_model_info;

/*
 * Loads a model directory.  The layout is detected from the directory:
 *  - Hugging Face: config.json (+ optional preprocessor_config.json) and
 *    model.safetensors with transformers' tensor names;
 *  - OpenAI / OpenCLIP: a weight file (model.safetensors,
 *    open_clip_model.safetensors or open_clip_pytorch_model.safetensors, the
 *    first found) with OpenAI's tensor names (visual.*, transformer.resblocks.*,
 *    token_embedding.weight, ...) and an optional open_clip_config.json
 *    (model_cfg, preprocess_cfg).  Both ViT and ModifiedResNet image towers.
 *    Without open_clip_config.json the weights are taken as OpenAI's own:
 *    QuickGELU, width / 64 heads, OpenAI's mean and std.
 * The weight file is memory-mapped; every offset, dtype and shape is checked
 * before use.  params may be NULL (defaults).  On success *out owns the model.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_model_load(const char *dir,
                                        const clipsearch_model_params *params,
                                        clipsearch_model **out,
                                        clipsearch_error *err);

/* Frees a model; NULL is allowed.  Free every context using it first. */
CLIPSEARCH_API
void clipsearch_model_free(clipsearch_model *model);

/* The model's geometry; valid as long as the model. */
CLIPSEARCH_API
const clipsearch_model_info *clipsearch_model_get_info(const clipsearch_model *model);

/* Which towers were loaded (CLIPSEARCH_TOWER_* bits). */
CLIPSEARCH_API
int clipsearch_model_towers(const clipsearch_model *model);

typedef struct clipsearch_context_params {
    int n_threads; /* threads for one call; <= 0: all cores */
    int max_batch; /* largest n per encode call (default 32) */
} clipsearch_context_params;

CLIPSEARCH_API
clipsearch_context_params clipsearch_context_default_params(void);

/* Creates a context for `model`, which must outlive it.  params may be NULL. */
CLIPSEARCH_API
clipsearch_status clipsearch_context_new(const clipsearch_model *model,
                                         const clipsearch_context_params *params,
                                         clipsearch_context **out,
                                         clipsearch_error *err);

CLIPSEARCH_API
void clipsearch_context_free(clipsearch_context *ctx);

/*
 * Image tower.  pixels: [n][3][S][S] float32 (preprocessed, see image.h).
 * Writes the projected, NOT normalised embeddings to embeds[n][projection_dim].
 * Any n >= 1 is accepted (processed in chunks of max_batch).
 */
CLIPSEARCH_API
clipsearch_status clipsearch_encode_images(clipsearch_context *ctx,
                                           const float *pixels, int n,
                                           float *embeds, clipsearch_error *err);

/*
 * Text tower.  ids: [n][stride] token ids; each row is read up to and
 * including its first <|endoftext|> (or `stride` ids, at most
 * context_length).  Writes projected, NOT normalised embeddings to
 * embeds[n][projection_dim].
 */
CLIPSEARCH_API
clipsearch_status clipsearch_encode_text(clipsearch_context *ctx,
                                         const int32_t *ids, int n, int stride,
                                         float *embeds, clipsearch_error *err);

/* L2-normalises n rows of dim floats in place (a zero row stays zero). */
CLIPSEARCH_API
void clipsearch_normalize(float *vectors, int n, int dim);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_MODEL_H */
