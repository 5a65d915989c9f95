/*
 * resnet.h — CLIP's ModifiedResNet image tower (OpenAI model.py) over one
 * worker's share of a batch: the three-convolution stem, the Bottleneck
 * stages with 2x2 average-pool downsampling, and attention pooling with the
 * mean token as the only query.  Convolutions are GEMMs (OpenBLAS) over
 * channels-last activations; BatchNorm is already folded into them at load.
 * Single-threaded apart from OpenBLAS; context.c splits batches.
 */
#ifndef CS_RESNET_H
#define CS_RESNET_H

#include "towers.h"

/* Most attention-pool tokens (grid * grid + 1) the forward pass supports. */
#define CS_RN_MAX_TOKENS 4096

/* Makes room in s for running `n` images (processed in groups whose
 * activations fit a fixed budget); 0 on allocation failure. */
int cs_resnet_reserve(cs_scratch *s, const cs_resnet *r, int n);

/* pixels [n][3][S][S] -> embeds [n][projection_dim].  fn, when not NULL,
 * receives the first image's stage outputs and attention-pool output (see
 * cs_hidden_fn in model_internal.h). */
void cs_resnet_forward(const cs_resnet *r, const float *pixels, int n, float *embeds,
                       cs_scratch *s, cs_hidden_fn fn, void *user);

/* Floating-point operations (multiply-adds x 2) of one image, for benchmarks. */
double cs_resnet_flops(const cs_resnet *r);

#endif
