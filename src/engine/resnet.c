/* resnet.c — the ModifiedResNet image tower: convolutions as GEMMs over
 * channels-last (NHWC) activations, so a 1x1 convolution is one product over
 * all pixels of all images of a group and a 3x3 one a product over im2col
 * rows, both on cs_linear_forward (OpenBLAS sgemm). */
#include "resnet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* Activation memory of one group: four buffers of group x per-image floats
 * stay under this many floats (96 MB), which keeps the GEMMs of the last
 * stage (7x7 pixels per image for RN50) several hundred rows tall. */
#define CS_RN_GROUP_FLOATS ((size_t)24 << 20)
/* The im2col buffer: rows are filled and multiplied in chunks of this size. */
#define CS_RN_COL_FLOATS ((size_t)2 << 20)

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Largest activation of one image, in floats, over the whole forward pass
 * (the attention pool's tokens and its three [C] rows included). */
static size_t per_image_floats(const cs_resnet *r)
{
    int S = r->image_size, H = S / 2, w = r->width;
    size_t m = (size_t)S * S * 3;
    const cs_bottleneck *b = r->blocks;
    m = max_sz(m, (size_t)H * H * (w / 2));
    m = max_sz(m, (size_t)H * H * w);
    H /= 2;
    for (int i = 0; i < r->n_blocks; i++, b++) {
        int Ho = H / b->stride;
        m = max_sz(m, (size_t)H * H * b->c1.in);
        m = max_sz(m, (size_t)H * H * b->c1.out);
        m = max_sz(m, (size_t)H * H * b->c2.out);
        m = max_sz(m, (size_t)Ho * Ho * b->c3.out);
        H = Ho;
    }
    m = max_sz(m, (size_t)(H * H + 1) * r->channels);
    m = max_sz(m, (size_t)3 * r->channels);
    return m;
}

int cs_resnet_reserve(cs_scratch *s, const cs_resnet *r, int n)
{
    size_t per = per_image_floats(r);
    size_t group = CS_RN_GROUP_FLOATS / (4 * per);
    size_t need, col = CS_RN_COL_FLOATS;
    if (group < 1)
        group = 1;
    if (group > (size_t)n)
        group = (size_t)n;
    need = group * per;
    if (need > s->cap_rn) {
        for (int i = 0; i < 4; i++) {
            size_t c = s->cap_rn;
            if (!cs_grow_floats(&s->rn[i], &c, need))
                return 0;
        }
        s->cap_rn = need;
    }
    /* At least one im2col row of the widest 3x3 convolution, and the
     * attention pool's query rows. */
    col = max_sz(col, (size_t)3 * group * r->channels);
    for (int i = 0; i < r->n_blocks; i++)
        col = max_sz(col, (size_t)9 * r->blocks[i].c2.in);
    return cs_grow_floats(&s->col, &s->cap_col, col);
}

/* y[n][Ho][Wo][out] = conv(x[n][H][W][in]) (+ ReLU); returns Ho (= Wo).
 * post: kernels.h's CS_POST_* (ReLU, or y += conv for a residual). */
static int conv_post(const cs_conv *c, const float *x, int n, int H, float *y, int post,
                     cs_scratch *s)
{
    const int st = c->stride, Cin = c->in;
    const int pad = c->k / 2, Ho = (H + 2 * pad - c->k) / st + 1;
    const size_t rows = (size_t)n * Ho * Ho;
    const size_t K = (size_t)c->k * c->k * Cin;
    const cs_linear *lin = &c->lin; /* [K] -> [out], packed at load for oneDNN */
    if (c->k == 1 && st == 1) {
        cs_linear_forward_post(lin, x, (int)rows, y, s, post, NULL);
    } else {
        size_t chunk = s->cap_col / K;
        for (size_t r0 = 0; r0 < rows; r0 += chunk) {
            size_t nr = rows - r0 < chunk ? rows - r0 : chunk;
            for (size_t r = 0; r < nr; r++) {
                size_t idx = r0 + r;
                int b = (int)(idx / ((size_t)Ho * Ho)), rem = (int)(idx % ((size_t)Ho * Ho));
                int oy = rem / Ho, ox = rem % Ho;
                float *row = s->col + r * K;
                const float *img = x + (size_t)b * H * H * Cin;
                for (int ky = 0; ky < c->k; ky++) {
                    int iy = oy * st + ky - pad;
                    for (int kx = 0; kx < c->k; kx++) {
                        int ix = ox * st + kx - pad;
                        float *dst = row + ((size_t)ky * c->k + kx) * Cin;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= H)
                            memset(dst, 0, (size_t)Cin * sizeof(float));
                        else
                            memcpy(dst, img + ((size_t)iy * H + ix) * Cin,
                                   (size_t)Cin * sizeof(float));
                    }
                }
            }
            cs_linear_forward_post(lin, s->col, (int)nr, y + r0 * c->out, s, post, NULL);
        }
    }
    return Ho; /* ReLU: fused into the products above */
}

static int conv(const cs_conv *c, const float *x, int n, int H, float *y, int do_relu,
                cs_scratch *s)
{
    return conv_post(c, x, n, H, y, do_relu ? CS_POST_RELU : 0, s);
}

/* y[n][H/k][W/k][C] = k x k average pool (stride k) of x[n][H][W][C]. */
static int avgpool(const float *x, int n, int H, int C, int k, float *y)
{
    const int Ho = H / k;
    const float inv = 1.0f / (float)(k * k);
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Ho; ox++) {
                float *out = y + (((size_t)b * Ho + oy) * Ho + ox) * C;
                memset(out, 0, (size_t)C * sizeof(float));
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) {
                        const float *in =
                            x + (((size_t)b * H + oy * k + dy) * H + ox * k + dx) * C;
                        for (int c = 0; c < C; c++)
                            out[c] += in[c];
                    }
                for (int c = 0; c < C; c++)
                    out[c] *= inv;
            }
    return Ho;
}

/* Attention pooling of n images whose final maps x[n][HW][C] are given:
 * tokens [mean, x_1..x_HW] + positional embedding, the mean token as the
 * only query.  Uses tok, kb, vb ([n][HW+1][C]) and qb ([3][n][C]) as scratch.
 * The grid has at most CS_RN_MAX_TOKENS - 1 cells (checked at load). */
static void attnpool(const cs_resnet *r, const float *x, int n, float *tok, float *kb, float *vb,
                     float *qb, float *out, cs_scratch *s)
{
    const int C = r->channels, HW = r->grid * r->grid, T = HW + 1;
    const int heads = r->heads, hd = C / heads;
    const float scale = 1.0f / sqrtf((float)hd);
    float *q0 = qb, *q = qb + (size_t)n * C, *a = qb + (size_t)2 * n * C;
    float scores[CS_RN_MAX_TOKENS];
    for (int b = 0; b < n; b++) {
        const float *xi = x + (size_t)b * HW * C;
        float *t = tok + (size_t)b * T * C;
        /* The mean over pixels in double: HW terms of one sign-mixed sum. */
        for (int c = 0; c < C; c++) {
            double m = 0;
            for (int p = 0; p < HW; p++)
                m += xi[(size_t)p * C + c];
            t[c] = (float)(m / HW) + r->pos_emb[c];
        }
        for (int p = 0; p < HW; p++)
            for (int c = 0; c < C; c++)
                t[(size_t)(1 + p) * C + c] = xi[(size_t)p * C + c] + r->pos_emb[(size_t)(1 + p) * C + c];
        memcpy(q0 + (size_t)b * C, t, (size_t)C * sizeof(float));
    }
    cs_linear_forward(&r->k, tok, n * T, kb, s);
    cs_linear_forward(&r->v, tok, n * T, vb, s);
    cs_linear_forward(&r->q, q0, n, q, s);
    for (int b = 0; b < n; b++) {
        const float *kk = kb + (size_t)b * T * C, *vv = vb + (size_t)b * T * C;
        for (int h = 0; h < heads; h++) {
            const float *qh = q + (size_t)b * C + (size_t)h * hd;
            float *ah = a + (size_t)b * C + (size_t)h * hd;
            float mx = -INFINITY, sum = 0;
            for (int j = 0; j < T; j++) {
                const float *kj = kk + (size_t)j * C + (size_t)h * hd;
                float d = 0;
                for (int e = 0; e < hd; e++)
                    d += qh[e] * kj[e];
                scores[j] = d * scale;
                if (scores[j] > mx)
                    mx = scores[j];
            }
            for (int j = 0; j < T; j++) {
                scores[j] = expf(scores[j] - mx);
                sum += scores[j];
            }
            memset(ah, 0, (size_t)hd * sizeof(float));
            for (int j = 0; j < T; j++) {
                const float *vj = vv + (size_t)j * C + (size_t)h * hd;
                float p = scores[j] / sum;
                for (int e = 0; e < hd; e++)
                    ah[e] += p * vj[e];
            }
        }
    }
    cs_linear_forward(&r->c_proj, a, n, out, s);
}

/* One group of n images (n * per-image activations fit the buffers). */
static void forward_group(const cs_resnet *r, const float *pixels, int n, float *embeds,
                          cs_scratch *s, cs_hidden_fn fn, void *user)
{
    const int S = r->image_size;
    float *X = s->rn[0], *A = s->rn[1], *B = s->rn[2], *Cb = s->rn[3];
    int H, C, bi = 0;

    /* CHW pixels -> HWC. */
    for (int b = 0; b < n; b++) {
        const float *img = pixels + (size_t)b * 3 * S * S;
        float *o = X + (size_t)b * S * S * 3;
        for (size_t p = 0; p < (size_t)S * S; p++)
            for (int c = 0; c < 3; c++)
                o[p * 3 + c] = img[(size_t)c * S * S + p];
    }
    H = conv(&r->stem[0], X, n, S, A, 1, s);
    H = conv(&r->stem[1], A, n, H, B, 1, s);
    H = conv(&r->stem[2], B, n, H, Cb, 1, s);
    H = avgpool(Cb, n, H, r->stem[2].out, 2, X);
    C = r->stem[2].out;

    for (int stage = 0; stage < 4; stage++) {
        for (int j = 0; j < r->stage_blocks[stage]; j++, bi++) {
            const cs_bottleneck *b = &r->blocks[bi];
            const float *P, *identity = X;
            float *tmp;
            int Ho;
            conv(&b->c1, X, n, H, A, 1, s);
            conv(&b->c2, A, n, H, B, 1, s);
            if (b->stride > 1) {
                Ho = avgpool(B, n, H, b->c2.out, b->stride, A);
                P = A;
            } else {
                Ho = H;
                P = B;
            }
            if (b->c3.lin.packed) {
                /* oneDNN: relu(identity + c3(P)) in c3's kernel (post-ops),
                 * into the identity's buffer. */
                float *acc = X;
                if (b->down.w) {
                    const float *din = X;
                    if (b->stride > 1) {
                        avgpool(X, n, H, C, b->stride, B);
                        din = B;
                    }
                    conv(&b->down, din, n, Ho, Cb, 0, s);
                    acc = Cb;
                }
                conv_post(&b->c3, P, n, Ho, acc, CS_POST_ACCUMULATE | CS_POST_RELU, s);
                if (acc == Cb) {
                    tmp = X;
                    X = Cb;
                    Cb = tmp;
                }
                H = Ho;
                C = b->c3.out;
                continue;
            }
            conv(&b->c3, P, n, Ho, Cb, 0, s);
            if (b->down.w) {
                const float *din = X;
                if (b->stride > 1) {
                    avgpool(X, n, H, C, b->stride, B);
                    din = B;
                }
                conv(&b->down, din, n, Ho, A, 0, s);
                identity = A;
            }
            {
                size_t total = (size_t)n * Ho * Ho * b->c3.out;
                for (size_t i = 0; i < total; i++) {
                    float v = Cb[i] + identity[i];
                    Cb[i] = v > 0 ? v : 0;
                }
            }
            tmp = X;
            X = Cb;
            Cb = tmp;
            H = Ho;
            C = b->c3.out;
        }
        if (fn)
            fn(user, stage + 1, X, H * H, C);
    }
    /* X: [n][grid*grid][channels]; the other three buffers are free. */
    attnpool(r, X, n, A, B, Cb, s->col, embeds, s);
    if (fn)
        fn(user, 5, embeds, 1, r->c_proj.out);
}

void cs_resnet_forward(const cs_resnet *r, const float *pixels, int n, float *embeds,
                       cs_scratch *s, cs_hidden_fn fn, void *user)
{
    size_t per = per_image_floats(r);
    int group = (int)(s->cap_rn / per);
    size_t img = (size_t)3 * r->image_size * r->image_size;
    if (group < 1)
        group = 1;
    for (int done = 0; done < n; done += group) {
        int g = n - done < group ? n - done : group;
        forward_group(r, pixels + (size_t)done * img, g, embeds + (size_t)done * r->c_proj.out, s,
                      done == 0 ? fn : NULL, user);
    }
}

double cs_resnet_flops(const cs_resnet *r)
{
    double f = 0;
    int H = r->image_size / 2, bi = 0;
    const int C = r->channels, T = r->grid * r->grid + 1;
    f += (double)H * H * 27 * r->stem[0].out;
    f += (double)H * H * 9 * r->stem[1].in * r->stem[1].out;
    f += (double)H * H * 9 * r->stem[2].in * r->stem[2].out;
    H /= 2;
    for (int stage = 0; stage < 4; stage++)
        for (int j = 0; j < r->stage_blocks[stage]; j++, bi++) {
            const cs_bottleneck *b = &r->blocks[bi];
            int Ho = H / b->stride;
            f += (double)H * H * b->c1.in * b->c1.out;
            f += (double)H * H * 9 * b->c2.in * b->c2.out;
            f += (double)Ho * Ho * b->c3.in * b->c3.out;
            if (b->down.w)
                f += (double)Ho * Ho * b->down.in * b->down.out;
            H = Ho;
        }
    f += (double)2 * T * C * C + (double)C * C + (double)C * r->c_proj.out + 2.0 * T * C;
    return 2 * f;
}
