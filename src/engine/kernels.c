/* kernels.c — matrix products (OpenBLAS) and row-wise operations. */
#include "kernels.h"

#include "backend.h"
#include "towers.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdint.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 16 floats as one value: GCC and clang turn arithmetic on it into vector
 * instructions of whatever width the target has (AVX-512, AVX2, SSE...). */
typedef float cs_v16 __attribute__((vector_size(64)));

static inline cs_v16 load16(const float *p)
{
    cs_v16 v;
    memcpy(&v, p, sizeof v); /* unaligned load */
    return v;
}

typedef float cs_v8 __attribute__((vector_size(32)));
typedef float cs_v4 __attribute__((vector_size(16)));

/* Horizontal sum by halving: a few vector adds instead of 15 scalar ones
 * (the reductions would otherwise cost as much as the products). */
static inline float sum16(cs_v16 v)
{
    cs_v8 a, b;
    cs_v4 c, d;
    memcpy(&a, &v, sizeof a);
    memcpy(&b, (const char *)&v + sizeof a, sizeof b);
    a += b;
    memcpy(&c, &a, sizeof c);
    memcpy(&d, (const char *)&a + sizeof c, sizeof d);
    c += d;
    return (c[0] + c[2]) + (c[1] + c[3]);
}

/* y[r][o..o+no) for r in [0, nr): a 4 x 4 block of dot products of x rows
 * with weight rows, 16 vector accumulators, so each loaded weight vector
 * serves 4 rows and each loaded x vector 4 outputs.  Spare lanes (nr or no
 * below 4) repeat row 0 and are not stored.  pf: the next block's weights
 * (4 x in floats) to prefetch, or NULL. */
static void block4x4(const float *w, int in, const float *x, int nr, int no, float *y,
                     int ldy, const float *bias, const float *pf)
{
    const float *wr[4], *xr[4];
    cs_v16 acc[4][4];
    int k = 0;
    for (int i = 0; i < 4; i++) {
        wr[i] = w + (size_t)(i < no ? i : 0) * in;
        xr[i] = x + (size_t)(i < nr ? i : 0) * in;
        for (int j = 0; j < 4; j++)
            acc[i][j] = (cs_v16){0};
    }
    for (; k + 16 <= in; k += 16) {
        cs_v16 w0, w1, w2, w3;
        /* The next block's 4 rows follow these in memory: fetch the same
         * share of them now, so the next block starts with its weights in
         * cache (blocks are too short for the hardware prefetcher). */
        if (pf) {
            __builtin_prefetch(pf + 4 * k, 0, 3);
            __builtin_prefetch(pf + 4 * k + 16, 0, 3);
            __builtin_prefetch(pf + 4 * k + 32, 0, 3);
            __builtin_prefetch(pf + 4 * k + 48, 0, 3);
        }
        w0 = load16(wr[0] + k);
        w1 = load16(wr[1] + k);
        w2 = load16(wr[2] + k);
        w3 = load16(wr[3] + k);
        for (int r = 0; r < 4; r++) {
            cs_v16 xv = load16(xr[r] + k);
            acc[r][0] += xv * w0;
            acc[r][1] += xv * w1;
            acc[r][2] += xv * w2;
            acc[r][3] += xv * w3;
        }
    }
    for (int r = 0; r < nr; r++)
        for (int o = 0; o < no; o++) {
            float s = sum16(acc[r][o]);
            for (int kk = k; kk < in; kk++)
                s += xr[r][kk] * wr[o][kk];
            y[(size_t)r * ldy + o] = s + (bias ? bias[o] : 0.0f);
        }
}

static void linear_small(const cs_linear *l, const float *x, int rows, float *y, int threads)
{
    const int in = l->in, out = l->out;
    if (!l->w_in_out) {
        const int n_groups = (out + 3) / 4;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
        for (int g = 0; g < n_groups; g++) {
            int o = g * 4, no = out - o < 4 ? out - o : 4;
            for (int r0 = 0; r0 < rows; r0 += 4)
                block4x4(l->w + (size_t)o * in, in, x + (size_t)r0 * in,
                         rows - r0 < 4 ? rows - r0 : 4, no, y + (size_t)r0 * out + o, out,
                         l->b ? l->b + o : NULL,
                         r0 == 0 && g + 1 < n_groups ? l->w + (size_t)(o + 4) * in : NULL);
        }
    } else {        /* W is [in][out]: y[r] += x[r][k] * W[k], over column blocks. */
        const int block = 256;
        const int n_blocks = (out + block - 1) / block;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
        for (int bi = 0; bi < n_blocks; bi++) {
            int o0 = bi * block, o1 = o0 + block < out ? o0 + block : out;
            for (int r = 0; r < rows; r++) {
                float *yr = y + (size_t)r * out;
                const float *xr = x + (size_t)r * in;
                for (int o = o0; o < o1; o++)
                    yr[o] = l->b ? l->b[o] : 0.0f;
                for (int k = 0; k < in; k++) {
                    const float *wk = l->w + (size_t)k * out;
                    float xv = xr[k];
                    for (int o = o0; o < o1; o++)
                        yr[o] += xv * wk[o];
                }
            }
        }
    }
}

/* Output columns [o0, o1) of a linear layer, single-threaded sgemm. */
static void gemm_columns(const cs_linear *l, const float *x, int rows, float *y, int o0, int o1)
{
    const int n = o1 - o0;
    float beta = 0.0f;
    if (l->b) {
        for (int r = 0; r < rows; r++)
            memcpy(y + (size_t)r * l->out + o0, l->b + o0, (size_t)n * sizeof(float));
        beta = 1.0f;
    }
    if (l->w_in_out)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, l->in, 1.0f, x, l->in,
                    l->w + o0, l->out, beta, y + o0, l->out);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, l->in, 1.0f, x, l->in,
                    l->w + (size_t)o0 * l->in, l->in, beta, y + o0, l->out);
}

void cs_linear_forward(const cs_linear *l, const float *x, int rows, float *y, cs_scratch *s)
{
    int threads = s->threads;
#ifdef CS_HAVE_ONEDNN
    /* On failure (out of memory, say) the product is made below, in f32. */
    if (l->packed && cs_onednn_linear(l, x, rows, y, s, 0))
        return;
#endif
    if (rows <= CS_SMALL_ROWS) {
        linear_small(l, x, rows, y, threads < 1 ? 1 : threads);
        return;
    }
    if (threads <= 1) {
        gemm_columns(l, x, rows, y, 0, l->out);
        return;
    }
    /* One input split by output columns, each thread its own sgemm: OpenBLAS
     * stays single-threaded, so its worker threads never spin against ours. */
    {
        int chunk = ((l->out + threads - 1) / threads + 15) / 16 * 16;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int t = 0; t < threads; t++) {
            int o0 = t * chunk, o1 = o0 + chunk < l->out ? o0 + chunk : l->out;
            if (o0 < o1)
                gemm_columns(l, x, rows, y, o0, o1);
        }
    }
}

static void relu_n(float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] > 0 ? y[i] : 0;
}

void cs_linear_forward_post(const cs_linear *l, const float *x, int rows, float *y, cs_scratch *s,
                            int post, float *tmp)
{
    int act = post & CS_POST_ACT_MASK;
    size_t n = (size_t)rows * l->out;
#ifdef CS_HAVE_ONEDNN
    if (l->packed && cs_onednn_linear(l, x, rows, y, s, post))
        return;
#endif
    if (post & CS_POST_ACCUMULATE) {
        float *own = NULL;
        if (!tmp) /* only when oneDNN failed on a layer packed for it */
            tmp = own = malloc(n * sizeof *tmp);
        if (!tmp)
            return;
        cs_linear_forward(l, x, rows, tmp, s);
        cs_add(y, tmp, n);
        free(own);
    } else
        cs_linear_forward(l, x, rows, y, s);
    if (act == CS_POST_RELU)
        relu_n(y, n);
    else if (act)
        cs_activation((clipsearch_activation)(act - 1), y, n);
}

typedef double cs_v8d __attribute__((vector_size(64)));

static inline cs_v8d load8d(const float *p)
{
    cs_v8 f;
    memcpy(&f, p, sizeof f);
    return __builtin_convertvector(f, cs_v8d);
}

static inline double sum8d(cs_v8d v)
{
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

void cs_layernorm(const cs_norm *n, const float *x, int rows, int dim, float eps, float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        /* Two passes in double: the mean first, then the centred variance,
         * as PyTorch does (no E[x^2] - E[x]^2 cancellation); 8 lanes at a
         * time so that the compiler can keep them in vector registers. */
        double mean = 0, var = 0;
        cs_v8d acc = {0}, m8;
        int i = 0;
        for (; i + 8 <= dim; i += 8)
            acc += load8d(xr + i);
        mean = sum8d(acc);
        for (; i < dim; i++)
            mean += xr[i];
        mean /= dim;
        m8 = (cs_v8d){mean, mean, mean, mean, mean, mean, mean, mean};
        acc = (cs_v8d){0};
        for (i = 0; i + 8 <= dim; i += 8) {
            cs_v8d d = load8d(xr + i) - m8;
            acc += d * d;
        }
        var = sum8d(acc);
        for (; i < dim; i++) {
            double d = xr[i] - mean;
            var += d * d;
        }
        var /= dim;
        {
            float inv = (float)(1.0 / sqrt(var + (double)eps));
            float m = (float)mean;
            for (i = 0; i < dim; i++)
                yr[i] = (xr[i] - m) * inv * n->w[i] + n->b[i];
        }
    }
}

void cs_activation(clipsearch_activation act, float *x, size_t n)
{
    switch (act) {
    case CLIPSEARCH_ACT_QUICK_GELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
        break;
    case CLIPSEARCH_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        break;
    case CLIPSEARCH_ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
        }
        break;
    }
}

void cs_attention(const float *q, const float *k, const float *v, float *out, int tokens,
                  int width, int heads, int ld, int causal, float *scores)
{
    int hd = width / heads;
    float scale = 1.0f / sqrtf((float)hd);
    for (int h = 0; h < heads; h++) {
        const float *qh = q + h * hd, *kh = k + h * hd, *vh = v + h * hd;
        /* scores = scale * q_h k_h^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tokens, tokens, hd, scale, qh, ld,
                    kh, ld, 0.0f, scores, tokens);
        for (int i = 0; i < tokens; i++) {
            float *row = scores + (size_t)i * tokens;
            int valid = causal ? i + 1 : tokens;
            float mx = row[0], sum = 0;
            for (int j = 1; j < valid; j++)
                if (row[j] > mx)
                    mx = row[j];
            for (int j = 0; j < valid; j++) {
                row[j] = expf(row[j] - mx);
                sum += row[j];
            }
            sum = 1.0f / sum;
            for (int j = 0; j < valid; j++)
                row[j] *= sum;
            for (int j = valid; j < tokens; j++)
                row[j] = 0.0f;
        }
        /* out_h = scores v_h */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tokens, hd, tokens, 1.0f, scores,
                    tokens, vh, ld, 0.0f, out + h * hd, ld);
    }
}

void cs_add(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

void cs_blas_set_threads(int n)
{
    /* openblas_set_num_threads is process-wide and not free: skip repeats. */
    static atomic_int current = 0;
    if (n < 1)
        n = 1;
    if (atomic_exchange(&current, n) == n)
        return;
    openblas_set_num_threads(n);
    if (n == 1) {
        /* OpenBLAS's pthread flavour starts worker threads at load time that
         * spin for ~0.1 s (and again after every threaded call) before they
         * sleep: on 2 cores that tripled a one-shot search's query time.
         * Going single-threaded, stop them; OpenBLAS restarts them itself
         * if a later caller asks for more threads.  Looked up at run time:
         * not every BLAS (or OpenBLAS flavour) has it. */
        int (*shutdown)(void) = (int (*)(void))(uintptr_t)dlsym(RTLD_DEFAULT,
                                                                "blas_thread_shutdown_");
        if (shutdown)
            shutdown();
    }
}
