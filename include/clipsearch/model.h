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

/* Number format of the matrix products (weights and their inputs); the
 * accumulation, LayerNorm, softmax, residuals and pooling are float32 in
 * both.  Chosen once per model at load: the weights are converted then. */
typedef enum clipsearch_precision {
    CLIPSEARCH_PRECISION_AUTO = 0, /* bf16 where the CPU has native bf16 dot products
                                      (AVX512_BF16 or AMX) and the oneDNN backend is in
                                      use, else fp32 */
    CLIPSEARCH_PRECISION_FP32 = 1,
    CLIPSEARCH_PRECISION_BF16 = 2  /* bfloat16 products, float32 accumulation and output;
                                      needs the oneDNN backend */
} clipsearch_precision;

typedef struct clipsearch_model_params {
    int towers; /* CLIPSEARCH_TOWER_* bits; default both */
    clipsearch_precision precision; /* default CLIPSEARCH_PRECISION_AUTO */
    int quick_start; /* 1: the caller encodes a few short texts and exits (a
                        one-shot search).  With the text tower alone, precision
                        AUTO and nothing pinning the backend or the precision
                        (CLIPSEARCH_BACKEND, CLIPSEARCH_PRECISION,
                        clipsearch_engine_set_precision), the weights are used
                        in place (float32, OpenBLAS and the streaming few-row
                        kernel) instead of being reordered for oneDNN: ~55 ms
                        less to start a ViT-B/32 text tower, a few ms more per
                        query.  Default 0. */
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
    clipsearch_precision precision; /* what the loaded model runs: FP32 or BF16, never AUTO */
    char backend[16];               /* matrix backend of this model: "onednn" or "openblas" */
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

/* ---- matrix backend and precision (issue 12) ------------------------------
 * The towers' matrix products run on oneDNN (JIT kernels chosen from the
 * instructions the CPU has: AVX2, AVX-512, AVX512_BF16, AMX) when the library
 * was built with it, else on OpenBLAS.  The environment variable
 * CLIPSEARCH_BACKEND=openblas|onednn, read at each model load, overrides the
 * default.  All functions below are thread-safe and return static strings. */

/* "onednn" or "openblas": the backend the next model load will use. */
CLIPSEARCH_API
const char *clipsearch_engine_backend_name(void);

/* One line for --version and benchmarks, e.g. "onednn 2.6.3 (cpu isa
 * avx512_core_amx; cpu: avx2 avx512f avx512_bf16 amx_bf16)" or "openblas
 * 0.3.21 ...".  Says what the CPU has and what oneDNN will dispatch to. */
CLIPSEARCH_API
const char *clipsearch_engine_describe(void);

/* 1 when the CPU (and the backend) can do bfloat16 dot products natively,
 * i.e. when CLIPSEARCH_PRECISION_AUTO means BF16. */
CLIPSEARCH_API
int clipsearch_engine_native_bf16(void);

/* What CLIPSEARCH_PRECISION_AUTO means in this process from now on (for
 * the loads the library makes itself: indexing, search, serve, tags...):
 * FP32 or BF16 pins it, AUTO restores the default (the environment variable
 * CLIPSEARCH_PRECISION=fp32|bf16 if set, else the CPU's choice above).
 * The programs' --precision option calls this. */
CLIPSEARCH_API
void clipsearch_engine_set_precision(clipsearch_precision p);

/* "fp32", "bf16" or "auto". */
CLIPSEARCH_API
const char *clipsearch_precision_name(clipsearch_precision p);

/* Parses "fp32", "bf16" or "auto" (as --precision takes them); -1 if none. */
CLIPSEARCH_API
int clipsearch_precision_parse(const char *s, clipsearch_precision *out);

/* L2-normalises n rows of dim floats in place (a zero row stays zero). */
CLIPSEARCH_API
void clipsearch_normalize(float *vectors, int n, int dim);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_MODEL_H */
