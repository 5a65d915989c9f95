/* preprocess.c — CLIP preprocessing: Pillow-compatible bicubic resize to
 * short side S, centre crop, /255 and mean/std normalisation into CHW.
 *
 * Pillow's arithmetic (src/libImaging/Resample.c) is followed exactly:
 * double-precision filter weights normalised per output pixel, rounded to
 * 22-bit fixed point (half away from zero), integer accumulation starting at
 * one half, clipping to 8 bits after each of the two passes. */
#include "preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image_decode.h"

#ifdef __clang__
/* A fused multiply-add would change the weights in the last bit. */
#pragma STDC FP_CONTRACT OFF
#endif

#define PRECISION_BITS (32 - 8 - 2)
#define CS_MAX_SIZE 8192

typedef struct coeffs {
    int ksize;
    int *bounds; /* [count][2]: first input index, number of taps */
    int32_t *k;  /* [count][ksize]: fixed-point weights */
} coeffs;

static double bicubic(double x)
{
    /* Keys' cubic with a = -0.5, as Pillow's bicubic_filter. */
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * -0.5;
    return 0.0;
}

static void coeffs_free(coeffs *c)
{
    free(c->bounds);
    free(c->k);
    c->bounds = NULL;
    c->k = NULL;
}

/* Weights for outputs [first, first + count) of an in_size -> out_size axis. */
static clipsearch_status coeffs_make(int in_size, int out_size, int first, int count, coeffs *c,
                                     clipsearch_error *err)
{
    double scale = (double)(float)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    double ss = 1.0 / filterscale;
    double *tmp = NULL;
    int ksize = (int)ceil(support) * 2 + 1;

    c->ksize = ksize;
    c->bounds = malloc(sizeof *c->bounds * 2 * (size_t)count);
    c->k = calloc((size_t)count * (size_t)ksize, sizeof *c->k);
    tmp = malloc(sizeof *tmp * (size_t)ksize);
    if (!c->bounds || !c->k || !tmp) {
        free(tmp);
        coeffs_free(c);
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory for resize weights");
    }
    for (int i = 0; i < count; i++) {
        int xx = first + i;
        double center = (xx + 0.5) * scale;
        double ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        int xmax = (int)(center + support + 0.5);
        int32_t *k = c->k + (size_t)i * (size_t)ksize;
        if (xmin < 0)
            xmin = 0;
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        if (xmax > ksize) /* cannot happen: |window| <= 2 * ceil(support) + 1 */
            xmax = ksize;
        for (int x = 0; x < xmax; x++) {
            double w = bicubic((x + xmin - center + 0.5) * ss);
            tmp[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? tmp[x] / ww : tmp[x];
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        c->bounds[2 * i] = xmin;
        c->bounds[2 * i + 1] = xmax;
    }
    free(tmp);
    return CLIPSEARCH_OK;
}

static inline uint8_t clip8(int32_t v)
{
    if (v >= (1 << PRECISION_BITS << 8))
        return 255;
    if (v <= 0)
        return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

/* Horizontal pass over rows [r0, r1) of src into tmp[r1 - r0][cw][3]. */
static void pass_horizontal(const uint8_t *src, int w, int r0, int r1, const coeffs *hc,
                            int cw, uint8_t *tmp)
{
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = src + (size_t)r * (size_t)w * 3;
        uint8_t *o = tmp + (size_t)(r - r0) * (size_t)cw * 3;
        for (int j = 0; j < cw; j++) {
            const int32_t *k = hc->k + (size_t)j * (size_t)hc->ksize;
            const uint8_t *p = row + (size_t)hc->bounds[2 * j] * 3;
            int n = hc->bounds[2 * j + 1];
            int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < n; x++) {
                s0 += p[3 * x] * k[x];
                s1 += p[3 * x + 1] * k[x];
                s2 += p[3 * x + 2] * k[x];
            }
            o[3 * j] = clip8(s0);
            o[3 * j + 1] = clip8(s1);
            o[3 * j + 2] = clip8(s2);
        }
    }
}

/* Vertical pass: rows of tmp (stride bytes apart, row 0 = input row
 * `base`) into out[ch][cw][3].  Integer sums are exact, so accumulating a
 * whole row at a time gives Pillow's result in a vectorisable order. */
static void pass_vertical(const uint8_t *tmp, size_t stride, int base, const coeffs *vc, int ch,
                          int cw, int32_t *acc, uint8_t *out)
{
    const size_t n3 = (size_t)cw * 3;
    for (int i = 0; i < ch; i++) {
        const int32_t *k = vc->k + (size_t)i * (size_t)vc->ksize;
        int ymin = vc->bounds[2 * i] - base;
        int n = vc->bounds[2 * i + 1];
        uint8_t *o = out + (size_t)i * n3;
        for (size_t t = 0; t < n3; t++)
            acc[t] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < n; y++) {
            const uint8_t *row = tmp + (size_t)(ymin + y) * stride;
            int32_t kv = k[y];
            for (size_t t = 0; t < n3; t++)
                acc[t] += row[t] * kv;
        }
        for (size_t t = 0; t < n3; t++)
            o[t] = clip8(acc[t]);
    }
}

clipsearch_status cs_resize_bicubic_window(const uint8_t *src, int w, int h, int dst_w,
                                           int dst_h, int x0, int y0, int cw, int ch,
                                           uint8_t *out, clipsearch_error *err)
{
    coeffs hc = {0, NULL, NULL}, vc = {0, NULL, NULL};
    uint8_t *tmp = NULL;
    int32_t *acc = NULL;
    clipsearch_status st = CLIPSEARCH_OK;
    int need_h = dst_w != w, need_v = dst_h != h;
    int r0, r1;

    if (!src || !out || w <= 0 || h <= 0 || dst_w <= 0 || dst_h <= 0 || cw <= 0 || ch <= 0 ||
        x0 < 0 || y0 < 0 || x0 > dst_w - cw || y0 > dst_h - ch)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "resize: bad geometry %dx%d -> %dx%d, window %dx%d at %d,%d", w, h,
                            dst_w, dst_h, cw, ch, x0, y0);
    if (need_v) {
        st = coeffs_make(h, dst_h, y0, ch, &vc, err);
        if (st != CLIPSEARCH_OK)
            goto out;
        r0 = vc.bounds[0];
        r1 = vc.bounds[2 * (ch - 1)] + vc.bounds[2 * (ch - 1) + 1];
    } else {
        r0 = y0;
        r1 = y0 + ch;
    }
    if (need_h) {
        st = coeffs_make(w, dst_w, x0, cw, &hc, err);
        if (st != CLIPSEARCH_OK)
            goto out;
        tmp = malloc((size_t)(r1 - r0) * (size_t)cw * 3);
        if (!tmp) {
            st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory for resize");
            goto out;
        }
        pass_horizontal(src, w, r0, r1, &hc, cw, tmp);
    }
    if (need_v) {
        /* Without a horizontal pass the source columns x0.. are read in place. */
        const uint8_t *in = need_h ? tmp : src + (size_t)r0 * (size_t)w * 3 + (size_t)x0 * 3;
        size_t stride = need_h ? (size_t)cw * 3 : (size_t)w * 3;
        acc = malloc(sizeof *acc * (size_t)cw * 3);
        if (!acc) {
            st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory for resize");
            goto out;
        }
        pass_vertical(in, stride, r0, &vc, ch, cw, acc, out);
    } else {
        for (int i = 0; i < ch; i++) {
            const uint8_t *row = need_h ? tmp + (size_t)i * (size_t)cw * 3
                                        : src + ((size_t)(y0 + i) * (size_t)w + (size_t)x0) * 3;
            memcpy(out + (size_t)i * (size_t)cw * 3, row, (size_t)cw * 3);
        }
    }
out:
    coeffs_free(&hc);
    coeffs_free(&vc);
    free(tmp);
    free(acc);
    return st;
}

void cs_clip_geometry(int w, int h, int s, int *rw, int *rh, int *x0, int *y0)
{
    int dw, dh;
    if (w <= h) {
        *rw = s;
        *rh = (int)((int64_t)s * h / w);
    } else {
        *rh = s;
        *rw = (int)((int64_t)s * w / h);
    }
    dw = *rw - s;
    dh = *rh - s;
    /* round((d) / 2) with halves to even, as Python's round() */
    *x0 = dw / 2 + ((dw & 1) && ((dw / 2) & 1));
    *y0 = dh / 2 + ((dh & 1) && ((dh / 2) & 1));
}

int cs_fast_min_short_side(int s)
{
    /* Keep at least a 2x downscale for the bicubic pass after DCT scaling,
     * so the final anti-aliasing is still Pillow's filter (see README). */
    return 2 * s;
}

clipsearch_preprocess_params clipsearch_preprocess_default_params(void)
{
    clipsearch_preprocess_params p;
    p.size = 224;
    p.mean[0] = 0.48145466f;
    p.mean[1] = 0.4578275f;
    p.mean[2] = 0.40821073f;
    p.std[0] = 0.26862954f;
    p.std[1] = 0.26130258f;
    p.std[2] = 0.27577711f;
    p.mode = CLIPSEARCH_PREPROCESS_EXACT;
    p.max_pixels = 0;
    return p;
}

static clipsearch_status check_params(const clipsearch_preprocess_params *p,
                                      clipsearch_error *err)
{
    if (!p)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "preprocess: NULL params");
    if (p->size < 1 || p->size > CS_MAX_SIZE)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "preprocess: size %d is outside 1..%d", p->size, CS_MAX_SIZE);
    for (int c = 0; c < 3; c++)
        if (!(p->std[c] != 0.0f) || !isfinite(p->std[c]) || !isfinite(p->mean[c]))
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                "preprocess: mean/std must be finite and std non-zero");
    if (p->mode != CLIPSEARCH_PREPROCESS_EXACT && p->mode != CLIPSEARCH_PREPROCESS_FAST)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "preprocess: unknown mode %d",
                            (int)p->mode);
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_preprocess_image(const clipsearch_image *img,
                                              const clipsearch_preprocess_params *params,
                                              float *out, clipsearch_error *err)
{
    clipsearch_status st;
    uint8_t *win = NULL;
    float lut[3][256];
    int rw, rh, x0, y0, s;
    size_t plane;

    st = check_params(params, err);
    if (st != CLIPSEARCH_OK)
        return st;
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0 || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "preprocess: empty image");
    s = params->size;
    cs_clip_geometry(img->width, img->height, s, &rw, &rh, &x0, &y0);
    win = malloc((size_t)s * (size_t)s * 3);
    if (!win)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    st = cs_resize_bicubic_window(img->rgb, img->width, img->height, rw, rh, x0, y0, s, s, win,
                                  err);
    if (st != CLIPSEARCH_OK)
        goto out;
    /* transformers: rescale in float64 then cast to float32, normalise in
     * float32 ((x - mean) / std). */
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) {
            float x = (float)(v * (1.0 / 255.0));
            lut[c][v] = (x - params->mean[c]) / params->std[c];
        }
    plane = (size_t)s * (size_t)s;
    for (size_t i = 0; i < plane; i++) {
        out[i] = lut[0][win[3 * i]];
        out[plane + i] = lut[1][win[3 * i + 1]];
        out[2 * plane + i] = lut[2][win[3 * i + 2]];
    }
out:
    free(win);
    return st;
}

clipsearch_status clipsearch_preprocess_memory(const void *data, size_t size,
                                               const clipsearch_preprocess_params *params,
                                               float *out, clipsearch_image_info *info,
                                               clipsearch_error *err)
{
    clipsearch_image img = {0, 0, NULL};
    cs_decode_opts o;
    clipsearch_status st = check_params(params, err);
    if (st != CLIPSEARCH_OK)
        return st;
    if ((!data && size) || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "preprocess: NULL argument");
    o.max_pixels = params->max_pixels;
    o.min_short_side =
        params->mode == CLIPSEARCH_PREPROCESS_FAST ? cs_fast_min_short_side(params->size) : 0;
    /* A RAW's embedded preview is used when it is at least twice the input. */
    o.raw_preview_min_side = 2 * params->size;
    st = cs_image_decode(data, size, &o, &img, info, err);
    if (st == CLIPSEARCH_OK)
        st = clipsearch_preprocess_image(&img, params, out, err);
    clipsearch_image_release(&img);
    return st;
}

clipsearch_status clipsearch_preprocess_file(const char *path,
                                             const clipsearch_preprocess_params *params,
                                             float *out, clipsearch_image_info *info,
                                             clipsearch_error *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    clipsearch_status st;
    if (!path)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "preprocess: NULL path");
    st = cs_read_file(path, &data, &size, err);
    if (st == CLIPSEARCH_OK)
        st = clipsearch_preprocess_memory(data, size, params, out, info, err);
    if (st != CLIPSEARCH_OK)
        cs_error_prefix(err, "%s", path);
    free(data);
    return st;
}
