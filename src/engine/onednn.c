/* onednn.c — the towers' linear layers on oneDNN's matmul primitive.
 *
 * At load every weight matrix is reordered once into the layout that
 * oneDNN's kernel for its shape prefers (format_tag::any), as f32 or bf16.
 * That layout depends on K, N and the data type, not on the number of rows
 * M, so one packed copy serves every batch size.  A matmul primitive is
 * fixed to its shapes (oneDNN 2.6's fast kernels have no run-time M): each
 * worker keeps the primitives it made in a small cache keyed by
 * (K, N, M, dtype, bias, threads), with memory objects whose data handles
 * are swapped per call.  In bf16 the input rows are rounded to bf16 into a
 * scratch buffer; accumulation, bias and output stay f32.
 *
 * oneDNN picks its JIT kernel from CPUID at run time (AVX2, AVX-512,
 * AVX512_BF16, AMX); on AMX it asks the kernel for the tile-data permission
 * itself, and so do we once (arch_prctl), in case it did not.
 *
 * Any oneDNN failure at run time (out of memory, no kernel for a shape)
 * returns 0 and the caller computes that product on OpenBLAS instead. */
#ifdef CS_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "kernels.h"
#include "towers.h"

struct cs_packed {
    dnnl_memory_desc_t md; /* the weights' layout: dims {K, N}, oneDNN's choice */
    void *data;            /* dnnl_memory_desc_get_size(&md) bytes, 64-byte aligned */
    int bf16;
    struct cs_packed *next;
};

/* ---- the engine: one per process ------------------------------------------ */

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;

static void engine_init(void)
{
#ifdef SYS_arch_prctl
    /* ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18): AMX tiles.
     * oneDNN 2.6 asks too; a kernel or CPU without AMX refuses, harmlessly. */
    (void)syscall(SYS_arch_prctl, 0x1023, 18);
#endif
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        engine = NULL;
}

int cs_onednn_available(void)
{
    pthread_once(&engine_once, engine_init);
    return engine != NULL;
}

/* ---- what oneDNN picked, for describe() ---------------------------------- */

static pthread_mutex_t impl_lock = PTHREAD_MUTEX_INITIALIZER;
static char impl_seen[2][64]; /* [bf16]: the kernel of the first primitive made */

static void note_impl(const_dnnl_primitive_desc_t pd, int bf16)
{
    const char *name = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success ||
        !name)
        return;
    pthread_mutex_lock(&impl_lock);
    if (!impl_seen[bf16][0])
        snprintf(impl_seen[bf16], sizeof impl_seen[bf16], "%s", name);
    pthread_mutex_unlock(&impl_lock);
}

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch ((int)isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

int cs_onednn_native_bf16(void)
{
    int isa = (int)dnnl_get_effective_cpu_isa();
    return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

void cs_onednn_describe(char *buf, size_t size)
{
    const dnnl_version_t *v = dnnl_version();
    pthread_mutex_lock(&impl_lock);
    snprintf(buf, size, "onednn %d.%d.%d (jit isa %s%s%s%s%s)", v->major, v->minor, v->patch,
             isa_name(dnnl_get_effective_cpu_isa()), impl_seen[0][0] ? "; f32 kernel " : "",
             impl_seen[0], impl_seen[1][0] ? "; bf16 kernel " : "", impl_seen[1]);
    pthread_mutex_unlock(&impl_lock);
}

/* ---- descriptors ------------------------------------------------------------ */

/* Post-ops (backend.h: CS_POST_*) as oneDNN attributes: the activation
 * runs on the f32 result in the kernel, the sum adds it to what y holds. */
static int make_attr(dnnl_primitive_attr_t *attr, int post)
{
    dnnl_post_ops_t ops = NULL;
    int act = post & CS_POST_ACT_MASK, ok;
    *attr = NULL;
    if (!post)
        return 1;
    if (dnnl_primitive_attr_create(attr) != dnnl_success)
        return 0;
    ok = dnnl_post_ops_create(&ops) == dnnl_success;
    if (ok && (post & CS_POST_ACCUMULATE))
        ok = dnnl_post_ops_append_sum(ops, 1.0f) == dnnl_success;
    if (ok && act == CS_POST_RELU)
        ok = dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f) == dnnl_success;
    else if (ok && act) {
        int a = act - 1; /* clipsearch_activation */
        dnnl_alg_kind_t alg = a == CLIPSEARCH_ACT_QUICK_GELU ? dnnl_eltwise_swish
                              : a == CLIPSEARCH_ACT_GELU     ? dnnl_eltwise_gelu_erf
                                                             : dnnl_eltwise_gelu_tanh;
        /* QuickGELU x * sigmoid(1.702 x) is swish with alpha 1.702. */
        ok = dnnl_post_ops_append_eltwise(ops, 1.0f, alg, alg == dnnl_eltwise_swish ? 1.702f : 0.0f,
                                          0.0f) == dnnl_success;
    }
    ok = ok && dnnl_primitive_attr_set_post_ops(*attr, ops) == dnnl_success;
    dnnl_post_ops_destroy(ops);
    if (!ok) {
        dnnl_primitive_attr_destroy(*attr);
        *attr = NULL;
    }
    return ok;
}

static int matmul_pd(dnnl_primitive_desc_t *pd, int M, int K, int N, int bf16, int bias,
                     const dnnl_memory_desc_t *wmd, int post)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_memory_desc_t src, wany, b, dst;
    int ok;
    dnnl_matmul_desc_t md;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, bd = {1, N}, dd = {M, N};
    dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    if (dnnl_memory_desc_init_by_tag(&src, 2, sd, dt, dnnl_ab) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&wany, 2, wd, dt, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&b, 2, bd, dnnl_f32, dnnl_ab) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab) != dnnl_success)
        return 0;
    if (dnnl_matmul_desc_init(&md, &src, wmd ? wmd : &wany, bias ? &b : NULL, &dst) !=
            dnnl_success ||
        !make_attr(&attr, post))
        return 0;
    ok = dnnl_primitive_desc_create(pd, &md, attr, engine, NULL) == dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    return ok;
}

/* ---- packing at load ------------------------------------------------------ */

/* Rows the layout is asked for: any M gives the same layout (see top). */
#define PACK_ROWS 256

clipsearch_status cs_onednn_pack(cs_linear *l, int bf16, struct cs_packed **list,
                                 clipsearch_error *err)
{
    dnnl_primitive_desc_t pd = NULL, rpd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_memory_t from = NULL, to = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_memory_desc_t user;
    dnnl_dims_t wd = {l->in, l->out};
    struct cs_packed *p = NULL;
    clipsearch_status rc = CLIPSEARCH_OK;
    size_t size;

    if (!cs_onednn_available())
        return cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "oneDNN: no CPU engine");
    if (!matmul_pd(&pd, PACK_ROWS, l->in, l->out, bf16, l->b != NULL, NULL, 0)) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_INTERNAL,
                          "oneDNN: no %s matmul for [%d] -> [%d]", bf16 ? "bf16" : "f32", l->in,
                          l->out);
        goto out;
    }
    note_impl(pd, bf16);
    p = calloc(1, sizeof *p);
    if (!p) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    p->md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    p->bf16 = bf16;
    size = dnnl_memory_desc_get_size(&p->md);
    p->data = aligned_alloc(64, (size + 63) / 64 * 64);
    if (!p->data) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY,
                          "out of memory for %zu bytes of packed weights", size);
        goto out;
    }
    /* Our W is [out][in] (dims {K, N} with K contiguous: "ba") or, for
     * OpenAI's projections, [in][out] ("ab"); always f32 here. */
    if (dnnl_memory_desc_init_by_tag(&user, 2, wd, dnnl_f32, l->w_in_out ? dnnl_ab : dnnl_ba) !=
            dnnl_success ||
        dnnl_reorder_primitive_desc_create(&rpd, &user, engine, &p->md, engine, NULL) !=
            dnnl_success ||
        dnnl_primitive_create(&reorder, rpd) != dnnl_success ||
        dnnl_memory_create(&from, &user, engine, (void *)(uintptr_t)l->w) != dnnl_success ||
        dnnl_memory_create(&to, &p->md, engine, p->data) != dnnl_success ||
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "oneDNN: cannot reorder [%d] -> [%d]",
                          l->in, l->out);
        goto out;
    }
    {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        if (dnnl_primitive_execute(reorder, stream, 2, args) != dnnl_success ||
            dnnl_stream_wait(stream) != dnnl_success) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "oneDNN: reorder failed");
            goto out;
        }
    }
    p->next = *list;
    *list = p;
    l->packed = p;
    p = NULL;
out:
    if (p)
        free(p->data);
    free(p);
    dnnl_stream_destroy(stream);
    dnnl_memory_destroy(from);
    dnnl_memory_destroy(to);
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

void cs_onednn_free_packs(struct cs_packed *list)
{
    while (list) {
        struct cs_packed *next = list->next;
        free(list->data);
        free(list);
        list = next;
    }
}

/* ---- products -------------------------------------------------------------- */

typedef struct entry {
    int K, N, M, bf16, bias, threads, post;
    dnnl_memory_desc_t wmd;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, b, dst;
} entry;

/* Distinct shapes one worker meets: a ViT has ~6 products times a few batch
 * sizes; a ResNet ~20 convolutions.  Beyond that the oldest is replaced. */
#define CACHE_SIZE 96

struct cs_dnnl_cache {
    dnnl_stream_t stream;
    entry e[CACHE_SIZE];
    int n, next;
    uint16_t *xb; /* bf16 input rows */
    size_t cap_xb;
};

static void entry_free(entry *e)
{
    dnnl_memory_destroy(e->src);
    dnnl_memory_destroy(e->wei);
    dnnl_memory_destroy(e->b);
    dnnl_memory_destroy(e->dst);
    dnnl_primitive_destroy(e->prim);
    memset(e, 0, sizeof *e);
}

void cs_onednn_scratch_free(cs_scratch *s)
{
    struct cs_dnnl_cache *c = s->dnnl;
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        entry_free(&c->e[i]);
    dnnl_stream_destroy(c->stream);
    free(c->xb);
    free(c);
    s->dnnl = NULL;
}

static entry *find_or_make(struct cs_dnnl_cache *c, const cs_linear *l, int M, int threads,
                           int post)
{
    const struct cs_packed *p = l->packed;
    int bias = l->b != NULL;
    dnnl_primitive_desc_t pd = NULL;
    entry *e;
    for (int i = 0; i < c->n; i++) {
        e = &c->e[i];
        if (e->K == l->in && e->N == l->out && e->M == M && e->bf16 == p->bf16 &&
            e->bias == bias && e->threads == threads && e->post == post &&
            dnnl_memory_desc_equal(&e->wmd, &p->md))
            return e;
    }
    if (c->n < CACHE_SIZE)
        e = &c->e[c->n++];
    else {
        e = &c->e[c->next];
        c->next = (c->next + 1) % CACHE_SIZE;
        entry_free(e);
    }
    *e = (entry){.K = l->in, .N = l->out, .M = M, .bf16 = p->bf16, .bias = bias,
                 .threads = threads, .post = post, .wmd = p->md};
    if (!matmul_pd(&pd, M, l->in, l->out, p->bf16, bias, &p->md, post))
        goto fail;
    note_impl(pd, p->bf16);
    if (dnnl_primitive_create(&e->prim, pd) != dnnl_success ||
        dnnl_memory_create(&e->src, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                           engine, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_memory_create(&e->wei, &p->md, engine, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_memory_create(&e->dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
                           engine, DNNL_MEMORY_NONE) != dnnl_success ||
        (bias && dnnl_memory_create(&e->b,
                                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1),
                                    engine, DNNL_MEMORY_NONE) != dnnl_success))
        goto fail;
    dnnl_primitive_desc_destroy(pd);
    return e;
fail:
    dnnl_primitive_desc_destroy(pd);
    entry_free(e);
    /* Leave the slot empty but valid: its zero shape never matches. */
    return NULL;
}

#ifdef __AVX512BF16__
#include <immintrin.h>
#endif

static inline uint16_t to_bf16(float f);

/* Rounds n floats to bf16 (nearest, ties to even). */
static void to_bf16_n(const float *x, uint16_t *out, size_t n)
{
    size_t i = 0;
#ifdef __AVX512BF16__
    for (; i + 16 <= n; i += 16) {
        __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
        _mm256_storeu_si256((__m256i *)(void *)(out + i), (__m256i)v);
    }
#endif
    for (; i < n; i++)
        out[i] = to_bf16(x[i]);
}

static inline uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40); /* NaN stays a (quiet) NaN */
    u += 0x7fffu + ((u >> 16) & 1u);      /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

int cs_onednn_linear(const cs_linear *l, const float *x, int rows, float *y, cs_scratch *s,
                     int post)
{
    struct cs_dnnl_cache *c = s->dnnl;
    int threads = s->threads < 1 ? 1 : s->threads;
    const void *src = x;
    entry *e;
    if (rows <= 0)
        return 1;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return 0;
        if (dnnl_stream_create(&c->stream, engine, dnnl_stream_default_flags) != dnnl_success) {
            free(c);
            return 0;
        }
        s->dnnl = c;
    }
    if (l->packed->bf16) {
        size_t n = (size_t)rows * l->in;
        if (n > c->cap_xb) {
            uint16_t *b = realloc(c->xb, n * sizeof *b);
            if (!b)
                return 0;
            c->xb = b;
            c->cap_xb = n;
        }
        to_bf16_n(x, c->xb, n);
        src = c->xb;
    }
    /* The primitive's thread count is fixed when it is made, from the
     * calling thread's OpenMP setting: make it ours for this call. */
    {
        int saved = omp_get_max_threads(), ok;
        if (saved != threads)
            omp_set_num_threads(threads);
        e = find_or_make(c, l, rows, threads, post);
        ok = e && dnnl_memory_set_data_handle(e->src, (void *)(uintptr_t)src) == dnnl_success &&
             dnnl_memory_set_data_handle(e->wei, l->packed->data) == dnnl_success &&
             dnnl_memory_set_data_handle(e->dst, y) == dnnl_success &&
             (!e->b || dnnl_memory_set_data_handle(e->b, (void *)(uintptr_t)l->b) ==
                           dnnl_success);
        if (ok) {
            dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src},
                                       {DNNL_ARG_WEIGHTS, e->wei},
                                       {DNNL_ARG_DST, e->dst},
                                       {DNNL_ARG_BIAS, e->b}};
            ok = dnnl_primitive_execute(e->prim, c->stream, e->b ? 4 : 3, args) ==
                     dnnl_success &&
                 dnnl_stream_wait(c->stream) == dnnl_success;
        }
        if (saved != threads)
            omp_set_num_threads(saved);
        return ok;
    }
}

#else
/* Built without oneDNN: nothing here (ISO C wants a declaration). */
typedef int cs_onednn_unused;
#endif
