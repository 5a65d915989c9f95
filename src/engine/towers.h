/*
 * towers.h — forward passes of the transformer blocks and the two CLIP
 * towers over one worker's share of a batch.  Single-threaded; the context
 * (context.c) splits batches between workers.
 */
#ifndef CS_TOWERS_H
#define CS_TOWERS_H

#include "model_internal.h"

/* One worker's scratch memory, grown on demand and reused between calls. */
typedef struct cs_scratch {
    float *x;       /* [rows][width]    residual stream */
    float *h;       /* [rows][width]    normalised / temporary */
    float *q, *k, *v, *a; /* [rows][width] attention */
    float *m;       /* [rows][mlp]      MLP hidden */
    float *scores;  /* [tokens][tokens] */
    float *patches; /* [rows][3*P*P]    vision input as patch rows */
    int *seq_start, *seq_len; /* [seqs] */
    /* ResNet image tower (resnet.c): four activation buffers of
     * [group][max H*W*C] and an im2col buffer, reserved by cs_resnet_reserve. */
    float *rn[4];
    float *col;
    size_t cap_rn, cap_col;
    int threads;              /* OpenMP threads for few-row products */
    struct cs_dnnl_cache *dnnl; /* oneDNN primitives and a bf16 input buffer (onednn.c) */
    size_t cap_rows_width, cap_rows_mlp, cap_scores, cap_patches, cap_seqs;
} cs_scratch;

/* Grows *buf to hold `need` floats (contents kept); 0 on allocation failure. */
int cs_grow_floats(float **buf, size_t *cap, size_t need);

/* Makes room for `rows` rows of the given tower; 0 on allocation failure. */
int cs_scratch_reserve(cs_scratch *s, int rows, int width, int mlp, int tokens, int patch_cols,
                       int seqs);
void cs_scratch_free(cs_scratch *s);

/* Runs all blocks over x[rows][width] in place.  Sequences are
 * [seq_start[i], seq_start[i] + seq_len[i]) rows of x. */
void cs_transformer_forward(const cs_transformer *tf, int rows, int n_seq, const int *seq_start,
                            const int *seq_len, int causal, cs_scratch *s, cs_hidden_fn fn,
                            void *user);

/* Image tower over n images: pixels [n][3][S][S] -> embeds [n][proj]. */
void cs_vision_forward(const cs_vision_tower *v, const float *pixels, int n, float *embeds,
                       cs_scratch *s, cs_hidden_fn fn, void *user);

/* Text tower over n sequences whose ids (already checked) are
 * ids[i][0..len[i]), the last being the pooled <|endoftext|>. */
void cs_text_forward(const cs_text_tower *t, const int32_t *ids, int stride, const int *len, int n,
                     float *embeds, cs_scratch *s, cs_hidden_fn fn, void *user);

#endif
