/*
 * kernels.h — the math the towers are made of: matrix products on OpenBLAS
 * and the row-wise operations around them.  All single-threaded: the caller
 * decides how work is split between threads.
 */
#ifndef CS_KERNELS_H
#define CS_KERNELS_H

#include "model_internal.h"

struct cs_scratch;

/* y[rows][l->out] = x[rows][l->in] . W (+ b), with s->threads threads.
 * A layer packed for oneDNN (l->packed) runs there, at the packed precision
 * (backend.h).  Otherwise: few rows (a short text query) are memory-bound
 * and go through a kernel that streams each weight once; more rows go to
 * single-threaded OpenBLAS sgemm; either way the output columns are split
 * over s->threads OpenMP threads (1: the calling thread only). */
void cs_linear_forward(const cs_linear *l, const float *x, int rows, float *y,
                       struct cs_scratch *s);

/* What follows a product (cs_linear_forward_post), fused into oneDNN's
 * kernel when the layer runs there: an activation of the result
 * (CS_POST_ACT(clipsearch_activation)), or adding the result to what y
 * holds (CS_POST_ACCUMULATE: y += x . W + b, a residual connection). */
#define CS_POST_ACT_MASK 0xf
#define CS_POST_ACT(a) ((int)(a) + 1)
#define CS_POST_RELU 4 /* max(0, x), the ResNet's */
#define CS_POST_ACCUMULATE 0x10

/* cs_linear_forward, then `post`: the sum first, then the activation
 * (oneDNN's order).  tmp: [rows][l->out] scratch for CS_POST_ACCUMULATE
 * off oneDNN (NULL: allocated then). */
void cs_linear_forward_post(const cs_linear *l, const float *x, int rows, float *y,
                            struct cs_scratch *s, int post, float *tmp);

/* At most this many rows take the streaming kernel. */
#define CS_SMALL_ROWS 16

/* y[rows][dim] = LayerNorm(x) * w + b; y may equal x. */
void cs_layernorm(const cs_norm *n, const float *x, int rows, int dim, float eps, float *y);

/* In-place activation over n values. */
void cs_activation(clipsearch_activation act, float *x, size_t n);

/* Multi-head attention of one sequence.
 * q, k, v, out: [tokens][ld] with heads of width/heads columns side by side.
 * scores: scratch [tokens][tokens].  causal: mask future positions. */
void cs_attention(const float *q, const float *k, const float *v, float *out, int tokens,
                  int width, int heads, int ld, int causal, float *scores);

/* x[i] += y[i] */
void cs_add(float *x, const float *y, size_t n);

/* Limits OpenBLAS to n threads for the calls that follow (process-wide).
 * The engine sets 1 and does all its threading itself. */
void cs_blas_set_threads(int n);

#endif
