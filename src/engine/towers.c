/* towers.c — transformer blocks, the ViT image tower and the text tower. */
#include "towers.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "kernels.h"

int cs_grow_floats(float **buf, size_t *cap, size_t need)
{
    float *p;
    if (need <= *cap)
        return 1;
    p = realloc(*buf, need * sizeof(float));
    if (!p)
        return 0;
    *buf = p;
    *cap = need;
    return 1;
}

int cs_scratch_reserve(cs_scratch *s, int rows, int width, int mlp, int tokens, int patch_cols,
                       int seqs)
{
    size_t rw = (size_t)rows * width;
    size_t old = s->cap_rows_width;
    if (rw > old) {
        /* The six [rows][width] buffers move together. */
        float **bufs[6] = {&s->x, &s->h, &s->q, &s->k, &s->v, &s->a};
        for (int i = 0; i < 6; i++) {
            size_t c = old;
            if (!cs_grow_floats(bufs[i], &c, rw))
                return 0;
        }
        s->cap_rows_width = rw;
    }
    if ((size_t)seqs > s->cap_seqs) {
        int *a = realloc(s->seq_start, (size_t)seqs * sizeof *a);
        if (a)
            s->seq_start = a;
        int *b = a ? realloc(s->seq_len, (size_t)seqs * sizeof *b) : NULL;
        if (!b)
            return 0;
        s->seq_len = b;
        s->cap_seqs = (size_t)seqs;
    }
    return cs_grow_floats(&s->m, &s->cap_rows_mlp, (size_t)rows * mlp) &&
           cs_grow_floats(&s->scores, &s->cap_scores, (size_t)tokens * tokens) &&
           cs_grow_floats(&s->patches, &s->cap_patches, (size_t)rows * (patch_cols > 0 ? patch_cols : 1));
}

void cs_scratch_free(cs_scratch *s)
{
    free(s->x);
    free(s->h);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->a);
    free(s->m);
    free(s->scores);
    free(s->patches);
    free(s->seq_start);
    free(s->seq_len);
    for (int i = 0; i < 4; i++)
        free(s->rn[i]);
    free(s->col);
#ifdef CS_HAVE_ONEDNN
    cs_onednn_scratch_free(s);
#endif
    memset(s, 0, sizeof *s);
}

void cs_transformer_forward(const cs_transformer *tf, int rows, int n_seq, const int *seq_start,
                            const int *seq_len, int causal, cs_scratch *s, cs_hidden_fn fn,
                            void *user)
{
    const int W = tf->width;
    for (int l = 0; l < tf->layers; l++) {
        const cs_block *b = &tf->blocks[l];
        if (fn)
            fn(user, l, s->x + (size_t)seq_start[0] * W, seq_len[0], W);
        /* x = x + out_proj(attention(ln1(x))) */
        cs_layernorm(&b->ln1, s->x, rows, W, tf->eps, s->h);
        cs_linear_forward(&b->q, s->h, rows, s->q, s);
        cs_linear_forward(&b->k, s->h, rows, s->k, s);
        cs_linear_forward(&b->v, s->h, rows, s->v, s);
        for (int i = 0; i < n_seq; i++) {
            size_t off = (size_t)seq_start[i] * W;
            cs_attention(s->q + off, s->k + off, s->v + off, s->a + off, seq_len[i], W, tf->heads,
                         W, causal, s->scores);
        }
        /* On oneDNN the residual add and the activation run inside the
         * products' kernels (post-ops). */
        cs_linear_forward_post(&b->o, s->a, rows, s->x, s, CS_POST_ACCUMULATE, s->h);
        /* x = x + fc2(act(fc1(ln2(x)))) */
        cs_layernorm(&b->ln2, s->x, rows, W, tf->eps, s->h);
        cs_linear_forward_post(&b->fc1, s->h, rows, s->m, s, CS_POST_ACT(tf->act), NULL);
        cs_linear_forward_post(&b->fc2, s->m, rows, s->x, s, CS_POST_ACCUMULATE, s->h);
    }
    if (fn)
        fn(user, tf->layers, s->x + (size_t)seq_start[0] * W, seq_len[0], W);
}

void cs_vision_forward(const cs_vision_tower *v, const float *pixels, int n, float *embeds,
                       cs_scratch *s, cs_hidden_fn fn, void *user)
{
    const int W = v->tf.width, P = v->patch_size, G = v->grid, S = v->image_size;
    const int T = v->tokens, NP = G * G, cols = 3 * P * P;
    int *seq_start = s->seq_start, *seq_len = s->seq_len;

    /* Patches as rows (c, ky, kx), so the strided convolution is a GEMM. */
    for (int b = 0; b < n; b++) {
        const float *img = pixels + (size_t)b * 3 * S * S;
        for (int py = 0; py < G; py++)
            for (int px = 0; px < G; px++) {
                float *row = s->patches + ((size_t)b * NP + (size_t)py * G + px) * cols;
                for (int c = 0; c < 3; c++)
                    for (int ky = 0; ky < P; ky++)
                        memcpy(row + (c * P + ky) * P,
                               img + ((size_t)c * S + (size_t)py * P + ky) * S + (size_t)px * P,
                               (size_t)P * sizeof(float));
            }
    }
    cs_linear_forward(&v->patch, s->patches, n * NP, s->h, s);
    for (int b = 0; b < n; b++) {
        float *x = s->x + (size_t)b * T * W;
        for (int i = 0; i < W; i++)
            x[i] = v->class_emb[i] + v->pos_emb[i];
        for (int p = 0; p < NP; p++) {
            const float *e = s->h + ((size_t)b * NP + p) * W;
            const float *pos = v->pos_emb + (size_t)(1 + p) * W;
            float *xr = x + (size_t)(1 + p) * W;
            for (int i = 0; i < W; i++)
                xr[i] = e[i] + pos[i];
        }
        seq_start[b] = b * T;
        seq_len[b] = T;
    }
    cs_layernorm(&v->ln_pre, s->x, n * T, W, v->tf.eps, s->x);
    cs_transformer_forward(&v->tf, n * T, n, seq_start, seq_len, 0, s, fn, user);
    /* Pool the class token of each image: post-LN, then the projection. */
    for (int b = 0; b < n; b++)
        memcpy(s->h + (size_t)b * W, s->x + (size_t)b * T * W, (size_t)W * sizeof(float));
    cs_layernorm(&v->ln_post, s->h, n, W, v->tf.eps, s->h);
    cs_linear_forward(&v->proj, s->h, n, embeds, s);
}

void cs_text_forward(const cs_text_tower *t, const int32_t *ids, int stride, const int *len, int n,
                     float *embeds, cs_scratch *s, cs_hidden_fn fn, void *user)
{
    const int W = t->tf.width;
    int *seq_start = s->seq_start;
    int rows = 0;
    for (int i = 0; i < n; i++) {
        seq_start[i] = rows;
        for (int j = 0; j < len[i]; j++) {
            const float *tok = t->tok_emb + (size_t)ids[(size_t)i * stride + j] * W;
            const float *pos = t->pos_emb + (size_t)j * W;
            float *x = s->x + (size_t)(rows + j) * W;
            for (int c = 0; c < W; c++)
                x[c] = tok[c] + pos[c];
        }
        rows += len[i];
    }
    cs_transformer_forward(&t->tf, rows, n, seq_start, len, 1, s, fn, user);
    /* Pool at each sequence's last position, its first <|endoftext|>. */
    for (int i = 0; i < n; i++)
        memcpy(s->h + (size_t)i * W, s->x + (size_t)(seq_start[i] + len[i] - 1) * W,
               (size_t)W * sizeof(float));
    cs_layernorm(&t->ln_final, s->h, n, W, t->tf.eps, s->h);
    cs_linear_forward(&t->proj, s->h, n, embeds, s);
}
