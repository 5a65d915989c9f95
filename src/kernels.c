/* kernels.c — matrix products (OpenBLAS) and row-wise operations. */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

void cs_linear_forward(const cs_linear *l, const float *x, int rows, float *y)
{
    float beta = 0.0f;
    if (l->b) {
        for (int r = 0; r < rows; r++)
            memcpy(y + (size_t)r * l->out, l->b, (size_t)l->out * sizeof(float));
        beta = 1.0f;
    }
    if (l->w_in_out)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, l->out, l->in, 1.0f, x,
                    l->in, l->w, l->out, beta, y, l->out);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, l->out, l->in, 1.0f, x, l->in,
                    l->w, l->in, beta, y, l->out);
}

void cs_layernorm(const cs_norm *n, const float *x, int rows, int dim, float eps, float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        /* Two passes in double: the mean first, then the centred variance,
         * as PyTorch does (no E[x^2] - E[x]^2 cancellation). */
        double mean = 0, var = 0;
        for (int i = 0; i < dim; i++)
            mean += xr[i];
        mean /= dim;
        for (int i = 0; i < dim; i++) {
            double d = xr[i] - mean;
            var += d * d;
        }
        var /= dim;
        {
            float inv = (float)(1.0 / sqrt(var + (double)eps));
            float m = (float)mean;
            for (int i = 0; i < dim; i++)
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
    if (atomic_exchange(&current, n) != n)
        openblas_set_num_threads(n);
}
