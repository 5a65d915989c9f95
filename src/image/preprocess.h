/*
 * preprocess.h — private: Pillow-compatible bicubic resampling and the CLIP
 * resize/crop geometry, shared by preprocess.c, tests and benchmarks.
 */
#ifndef CS_PREPROCESS_H
#define CS_PREPROCESS_H

#include <stdint.h>

#include "clipsearch/image.h"

/*
 * Resizes an 8-bit RGB image src[h][w][3] to dst_w x dst_h the way Pillow's
 * Image.resize(..., Image.BICUBIC) does (a = -0.5, support widened by the
 * downscale factor, 22-bit fixed-point coefficients, horizontal pass then
 * vertical pass with an 8-bit intermediate), and writes only the window
 * [x0, x0 + cw) x [y0, y0 + ch) of the result into out[ch][cw][3].
 * The window is bit-identical to cropping Pillow's full result; only the
 * rows and columns it needs are computed.  Thread-safe.
 */
clipsearch_status cs_resize_bicubic_window(const uint8_t *src, int w, int h, int dst_w,
                                           int dst_h, int x0, int y0, int cw, int ch,
                                           uint8_t *out, clipsearch_error *err);

/* CLIP geometry for a w x h image and output size s: the resized size
 * (*rw, *rh) (short side s, long side floor(s * long / short)) and the
 * centre-crop offsets (*x0, *y0), rounded half to even. */
void cs_clip_geometry(int w, int h, int s, int *rw, int *rh, int *x0, int *y0);

/* The short side a fast-mode JPEG may be DCT-scaled down to, for size s. */
int cs_fast_min_short_side(int s);

#endif
