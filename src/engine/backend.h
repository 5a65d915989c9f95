/*
 * backend.h — the matrix backend of the towers' linear layers: oneDNN
 * (onednn.c, when built with it) or OpenBLAS (kernels.c), and the
 * precision of the products (fp32, or bf16 on oneDNN).
 *
 * A model's linear layers are prepared once at load (cs_backend_prepare):
 * on oneDNN each weight matrix is reordered into the layout oneDNN's
 * kernel prefers, as f32 or bf16 (struct cs_packed, owned by the model).
 * Products then run on primitives cached per shape in each worker's
 * scratch (cs_scratch.dnnl), so the model stays read-only and shared.
 */
#ifndef CS_BACKEND_H
#define CS_BACKEND_H

#include "model_internal.h"

struct cs_scratch;

enum { CS_BACKEND_OPENBLAS = 0, CS_BACKEND_ONEDNN = 1 };

/* The backend a load made now would use: CLIPSEARCH_BACKEND if set and
 * available, else oneDNN when built with it. */
int cs_backend_selected(void);

/* 1 when neither CLIPSEARCH_BACKEND, CLIPSEARCH_PRECISION nor
 * clipsearch_engine_set_precision pins the backend or the precision. */
int cs_backend_unpinned(void);

/* CPU features from CPUID (and XGETBV: the OS must save the registers). */
typedef struct cs_cpu_features {
    int avx2, fma, avx512f, avx512_bf16, amx_tile, amx_bf16;
} cs_cpu_features;
void cs_cpu_features_get(cs_cpu_features *f);

/* Resolves AUTO and checks the request against the backend; writes the
 * precision to use.  BF16 on OpenBLAS is refused with a message. */
clipsearch_status cs_backend_resolve(int backend, clipsearch_precision want,
                                     clipsearch_precision *out, clipsearch_error *err);

/* Packs every linear layer of a loaded model for `backend` at `prec`
 * (OpenBLAS: nothing to do).  Fills m->info.precision / backend. */
clipsearch_status cs_backend_prepare(clipsearch_model *m, int backend, clipsearch_precision prec,
                                     clipsearch_error *err);

/* Frees what cs_backend_prepare made (NULL-safe). */
void cs_backend_release(clipsearch_model *m);

#ifdef CS_HAVE_ONEDNN
/* onednn.c */
int cs_onednn_available(void);
/* Reorders l's weights into oneDNN's preferred layout for dtype (1: bf16). */
clipsearch_status cs_onednn_pack(cs_linear *l, int bf16, struct cs_packed **list,
                                 clipsearch_error *err);
void cs_onednn_free_packs(struct cs_packed *list);
/* y[rows][out] = x[rows][in] . W + b on l->packed with s->threads threads,
 * then the post-ops (kernels.h: CS_POST_*); 0 when oneDNN failed (y
 * untouched: compute it another way). */
int cs_onednn_linear(const cs_linear *l, const float *x, int rows, float *y,
                     struct cs_scratch *s, int post);
void cs_onednn_scratch_free(struct cs_scratch *s);
/* oneDNN's version and the ISA its JIT dispatches to, for describe(). */
void cs_onednn_describe(char *buf, size_t size);
/* 1 when oneDNN's JIT dispatches to native bf16 (AVX512_BF16 or AMX). */
int cs_onednn_native_bf16(void);
#endif

#endif
