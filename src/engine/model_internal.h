/*
 * model_internal.h — the in-memory form of a CLIP model, independent of the
 * checkpoint layout it was loaded from.
 *
 * Every weight pointer is float32, either straight into the memory-mapped
 * safetensors file (F32 data, zero-copy) or into a buffer the model owns
 * (converted F16/BF16 data).  Shapes are written next to each pointer.
 */
#ifndef CS_MODEL_INTERNAL_H
#define CS_MODEL_INTERNAL_H

#include "clipsearch/model.h"
#include "safetensors.h"

/* y = x W^T + b (w_in_out == 0, Hugging Face / PyTorch Linear layout) or
 * y = x W + b (w_in_out == 1, OpenAI's `proj` matrices). */
typedef struct cs_linear {
    const float *w; /* [out][in], or [in][out] when w_in_out */
    const float *b; /* [out], or NULL */
    int in, out;
    int w_in_out;
    struct cs_packed *packed; /* W reordered for oneDNN (backend.h), or NULL: OpenBLAS on w */
} cs_linear;

typedef struct cs_norm {
    const float *w; /* [dim] */
    const float *b; /* [dim] */
} cs_norm;

typedef struct cs_block {
    cs_norm ln1;         /* before attention */
    cs_linear q, k, v;   /* [width] -> [width] each */
    cs_linear o;         /* attention output projection */
    cs_norm ln2;         /* before the MLP */
    cs_linear fc1;       /* [width] -> [mlp] */
    cs_linear fc2;       /* [mlp] -> [width] */
} cs_block;

typedef struct cs_transformer {
    int width, layers, heads, mlp;
    clipsearch_activation act;
    float eps;
    cs_block *blocks; /* [layers] */
} cs_transformer;

typedef struct cs_vision_tower {
    cs_transformer tf;
    int image_size, patch_size, grid; /* grid = image_size / patch_size */
    int tokens;                       /* 1 + grid * grid */
    cs_linear patch;                  /* [3*P*P] -> [width], no bias; input (c, ky, kx) */
    const float *class_emb;           /* [width] */
    const float *pos_emb;             /* [tokens][width] */
    cs_norm ln_pre, ln_post;
    cs_linear proj;                   /* [width] -> [projection_dim], no bias */
} cs_vision_tower;

typedef struct cs_text_tower {
    cs_transformer tf;
    int vocab, context;
    int eot_id;
    const float *tok_emb; /* [vocab][width] */
    const float *pos_emb; /* [context][width] */
    cs_norm ln_final;
    cs_linear proj;       /* [width] -> [projection_dim], no bias */
} cs_text_tower;

/* A convolution with its BatchNorm folded in (inference form):
 * y = conv(x, w) + b.  Activations are NHWC (channels last), so a 1x1
 * convolution is a plain GEMM over pixels and a 3x3 one a GEMM over
 * im2col rows in (ky, kx, c) order. */
typedef struct cs_conv {
    const float *w; /* [out][k][k][in], folded: w * gamma / sqrt(var + eps) */
    const float *b; /* [out], folded: beta - mean * gamma / sqrt(var + eps) */
    int in, out;
    int k;          /* kernel size: 1 or 3 (padding k / 2) */
    int stride;     /* 1 or 2 (the stem's first convolution) */
    cs_linear lin;  /* the same weights as a [k*k*in] -> [out] product, set at load */
} cs_conv;

/* One Bottleneck of the ModifiedResNet (expansion 4).  Strided blocks
 * downsample with a 2x2 average pool ("anti-aliased"), not a strided conv. */
typedef struct cs_bottleneck {
    cs_conv c1;       /* 1x1 in -> planes, ReLU */
    cs_conv c2;       /* 3x3 planes -> planes, ReLU, then avgpool(stride) */
    cs_conv c3;       /* 1x1 planes -> 4 planes */
    cs_conv down;     /* avgpool(stride) + 1x1 in -> 4 planes; w NULL: identity */
    int stride;       /* 1 or 2 */
} cs_bottleneck;

/* CLIP's ModifiedResNet image tower (OpenAI model.py). */
typedef struct cs_resnet {
    int width;                 /* stem output channels; stage s has width * 2^s planes */
    int stage_blocks[4];       /* Bottlenecks per stage */
    int n_blocks;              /* their sum */
    cs_bottleneck *blocks;     /* [n_blocks], stage by stage */
    cs_conv stem[3];           /* 3x3 s2 3 -> w/2, 3x3 w/2 -> w/2, 3x3 w/2 -> w; ReLU each;
                                  then avgpool 2 */
    int image_size;            /* input S; the final grid is S / 32 */
    int grid;                  /* spatial size after layer4 */
    int channels;              /* after layer4: width * 32 */
    int heads;                 /* attention-pool heads */
    const float *pos_emb;      /* [grid*grid + 1][channels], the mean token first */
    cs_linear q, k, v;         /* [channels] -> [channels], with biases */
    cs_linear c_proj;          /* [channels] -> [projection_dim], with bias */
} cs_resnet;

enum { CS_VISION_VIT = 0, CS_VISION_RESNET = 1 };

struct clipsearch_model {
    clipsearch_model_info info;
    int towers;
    int vision_kind;         /* CS_VISION_*: which of vision / resnet is loaded */
    cs_vision_tower vision;  /* CS_VISION_VIT */
    cs_resnet resnet;        /* CS_VISION_RESNET */
    cs_text_tower text;
    cs_safetensors *weights; /* mapping that zero-copy pointers refer to */
    float **owned;           /* converted tensors, freed with the model */
    int n_owned, cap_owned;
    struct cs_packed *packs; /* backend copies of the weights (backend.h), freed with the model */
    char *dir;
};

/* The weight file of model folder `dir`: model.safetensors, else
 * open_clip_model.safetensors, else open_clip_pytorch_model.safetensors.
 * Writes its path to path[size]; 0 (and "") when there is none. */
int cs_model_weights_path(const char *dir, char *path, size_t size);

/* Called with the hidden state of the first sequence of a batch: the input
 * of layer `layer` (0..layers-1) and, for layer == layers, the output of the
 * last one.  For tests that localise differences against the reference.
 * For a ResNet image tower: layer 1..4 is the output of stage `layer` as
 * [H*W][C] (channels last: tokens = H*W, width = C), and layer 5 the
 * attention-pool output [1][projection_dim]. */
typedef void (*cs_hidden_fn)(void *user, int layer, const float *hidden, int tokens, int width);

/* Test hooks: like the public encoders, with a hidden-state callback. */
clipsearch_status cs_encode_images_traced(clipsearch_context *ctx, const float *pixels, int n,
                                          float *embeds, cs_hidden_fn fn, void *user,
                                          clipsearch_error *err);
clipsearch_status cs_encode_text_traced(clipsearch_context *ctx, const int32_t *ids, int n,
                                        int stride, float *embeds, cs_hidden_fn fn, void *user,
                                        clipsearch_error *err);

#endif
