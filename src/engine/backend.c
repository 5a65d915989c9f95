/* backend.c — choosing the matrix backend and precision, CPU features, and
 * preparing a loaded model's linear layers for the backend (backend.h). */
#include "backend.h"

#include <cpuid.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

int cs_backend_selected(void)
{
    const char *env = getenv("CLIPSEARCH_BACKEND");
#ifdef CS_HAVE_ONEDNN
    if (env && !strcmp(env, "openblas"))
        return CS_BACKEND_OPENBLAS;
    return cs_onednn_available() ? CS_BACKEND_ONEDNN : CS_BACKEND_OPENBLAS;
#else
    (void)env; /* "onednn" without oneDNN compiled in: OpenBLAS is all there is */
    return CS_BACKEND_OPENBLAS;
#endif
}

const char *clipsearch_engine_backend_name(void)
{
    return cs_backend_selected() == CS_BACKEND_ONEDNN ? "onednn" : "openblas";
}

void cs_cpu_features_get(cs_cpu_features *f)
{
    unsigned a, b, c, d, max;
    uint64_t xcr0 = 0;
    memset(f, 0, sizeof *f);
    max = __get_cpuid_max(0, NULL);
    if (max < 1 || !__get_cpuid(1, &a, &b, &c, &d))
        return;
    if (c & (1u << 27)) { /* OSXSAVE: XGETBV says which register states the OS saves */
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((uint64_t)hi << 32) | lo;
    }
    f->fma = (c >> 12) & 1 && (xcr0 & 6) == 6;
    if (max < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = (b >> 5) & 1 && (xcr0 & 6) == 6;
    f->avx512f = (b >> 16) & 1 && (xcr0 & 0xe6) == 0xe6;
    f->amx_bf16 = (d >> 22) & 1 && (xcr0 & 0x60000) == 0x60000;
    f->amx_tile = (d >> 24) & 1 && (xcr0 & 0x60000) == 0x60000;
    {
        unsigned a1, b1, c1, d1;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        (void)b1, (void)c1, (void)d1;
        f->avx512_bf16 = (a1 >> 5) & 1 && f->avx512f;
    }
}

int clipsearch_engine_native_bf16(void)
{
#ifdef CS_HAVE_ONEDNN
    return cs_backend_selected() == CS_BACKEND_ONEDNN && cs_onednn_native_bf16();
#else
    return 0;
#endif
}

const char *clipsearch_engine_describe(void)
{
    static _Thread_local char buf[512];
    cs_cpu_features f;
    char cpu[96];
    cs_cpu_features_get(&f);
    snprintf(cpu, sizeof cpu, "%s%s%s%s%s%s", f.avx2 ? " avx2" : "", f.fma ? " fma" : "",
             f.avx512f ? " avx512f" : "", f.avx512_bf16 ? " avx512_bf16" : "",
             f.amx_tile ? " amx_tile" : "", f.amx_bf16 ? " amx_bf16" : "");
#ifdef CS_HAVE_ONEDNN
    if (cs_backend_selected() == CS_BACKEND_ONEDNN) {
        char d[320];
        cs_onednn_describe(d, sizeof d);
        snprintf(buf, sizeof buf, "%s; cpu:%s", d, cpu);
        return buf;
    }
#endif
    snprintf(buf, sizeof buf, "openblas%s; cpu:%s",
#ifdef CS_HAVE_ONEDNN
             " (CLIPSEARCH_BACKEND=openblas)",
#else
             " (built without oneDNN)",
#endif
             cpu);
    return buf;
}

const char *clipsearch_precision_name(clipsearch_precision p)
{
    switch (p) {
    case CLIPSEARCH_PRECISION_FP32: return "fp32";
    case CLIPSEARCH_PRECISION_BF16: return "bf16";
    case CLIPSEARCH_PRECISION_AUTO: return "auto";
    }
    return "unknown";
}

int clipsearch_precision_parse(const char *s, clipsearch_precision *out)
{
    if (!s)
        return -1;
    if (!strcmp(s, "fp32") || !strcmp(s, "f32"))
        *out = CLIPSEARCH_PRECISION_FP32;
    else if (!strcmp(s, "bf16"))
        *out = CLIPSEARCH_PRECISION_BF16;
    else if (!strcmp(s, "auto"))
        *out = CLIPSEARCH_PRECISION_AUTO;
    else
        return -1;
    return 0;
}

static atomic_int process_precision = CLIPSEARCH_PRECISION_AUTO;

void clipsearch_engine_set_precision(clipsearch_precision p)
{
    if (p == CLIPSEARCH_PRECISION_AUTO || p == CLIPSEARCH_PRECISION_FP32 ||
        p == CLIPSEARCH_PRECISION_BF16)
        atomic_store(&process_precision, (int)p);
}

int cs_backend_unpinned(void)
{
    const char *b = getenv("CLIPSEARCH_BACKEND"), *p = getenv("CLIPSEARCH_PRECISION");
    return !(b && *b) && !(p && *p) &&
           atomic_load(&process_precision) == CLIPSEARCH_PRECISION_AUTO;
}

clipsearch_status cs_backend_resolve(int backend, clipsearch_precision want,
                                     clipsearch_precision *out, clipsearch_error *err)
{
    const char *env = getenv("CLIPSEARCH_PRECISION");
    clipsearch_precision forced;
    /* What AUTO means: the process's choice (--precision), else the
     * environment's (tests pin fp32 so), else the CPU's. */
    if (want == CLIPSEARCH_PRECISION_AUTO)
        want = (clipsearch_precision)atomic_load(&process_precision);
    if (want == CLIPSEARCH_PRECISION_AUTO && env && *env &&
        clipsearch_precision_parse(env, &forced) == 0)
        want = forced;
    switch (want) {
    case CLIPSEARCH_PRECISION_AUTO:
#ifdef CS_HAVE_ONEDNN
        *out = backend == CS_BACKEND_ONEDNN && cs_onednn_native_bf16() ? CLIPSEARCH_PRECISION_BF16
                                                                        : CLIPSEARCH_PRECISION_FP32;
#else
        (void)backend;
        *out = CLIPSEARCH_PRECISION_FP32;
#endif
        return CLIPSEARCH_OK;
    case CLIPSEARCH_PRECISION_FP32:
        *out = want;
        return CLIPSEARCH_OK;
    case CLIPSEARCH_PRECISION_BF16:
        if (backend != CS_BACKEND_ONEDNN)
            return cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED,
                                "precision bf16 needs the oneDNN backend (%s)",
#ifdef CS_HAVE_ONEDNN
                                "CLIPSEARCH_BACKEND=openblas is set"
#else
                                "this build has no oneDNN"
#endif
            );
        *out = want;
        return CLIPSEARCH_OK;
    }
    return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "unknown precision %d", (int)want);
}

/* ---- preparing a model ------------------------------------------------------ */

#ifdef CS_HAVE_ONEDNN
/* After packing, the f32 original in the weight file's mapping is only a
 * fallback: give its pages back (they are clean file pages and come back on
 * a fault), so a model does not hold both copies in memory. */
static void drop_original(const clipsearch_model *m, const cs_linear *l)
{
    const cs_safetensors *st = m->weights;
    uintptr_t b = (uintptr_t)l->w, e = b + (size_t)l->in * l->out * sizeof(float);
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (!st || !st->mapped || b < (uintptr_t)st->base || e > (uintptr_t)st->base + st->size)
        return;
    b = (b + page - 1) / page * page;
    e = e / page * page;
    if (e > b)
        (void)madvise((void *)b, e - b, MADV_DONTNEED);
}

static clipsearch_status pack(clipsearch_model *m, cs_linear *l, int bf16, clipsearch_error *err)
{
    clipsearch_status rc;
    if (!l->w || l->packed)
        return CLIPSEARCH_OK;
    rc = cs_onednn_pack(l, bf16, &m->packs, err);
    if (rc == CLIPSEARCH_OK)
        drop_original(m, l);
    return rc;
}

static clipsearch_status pack_transformer(clipsearch_model *m, cs_transformer *tf, int bf16,
                                          clipsearch_error *err)
{
    for (int i = 0; i < tf->layers; i++) {
        cs_block *b = &tf->blocks[i];
        cs_linear *ls[6] = {&b->q, &b->k, &b->v, &b->o, &b->fc1, &b->fc2};
        for (int j = 0; j < 6; j++) {
            clipsearch_status rc = pack(m, ls[j], bf16, err);
            if (rc != CLIPSEARCH_OK)
                return rc;
        }
    }
    return CLIPSEARCH_OK;
}

static clipsearch_status pack_model(clipsearch_model *m, int bf16, clipsearch_error *err)
{
    clipsearch_status rc = CLIPSEARCH_OK;
#define PACK(l)                                  \
    do {                                         \
        if ((rc = pack(m, (l), bf16, err)) != CLIPSEARCH_OK) \
            return rc;                           \
    } while (0)
    if (m->towers & CLIPSEARCH_TOWER_VISION) {
        if (m->vision_kind == CS_VISION_VIT) {
            if ((rc = pack_transformer(m, &m->vision.tf, bf16, err)) != CLIPSEARCH_OK)
                return rc;
            PACK(&m->vision.patch);
            PACK(&m->vision.proj);
        } else {
            cs_resnet *r = &m->resnet;
            for (int i = 0; i < 3; i++)
                PACK(&r->stem[i].lin);
            for (int i = 0; i < r->n_blocks; i++) {
                PACK(&r->blocks[i].c1.lin);
                PACK(&r->blocks[i].c2.lin);
                PACK(&r->blocks[i].c3.lin);
                PACK(&r->blocks[i].down.lin);
            }
            PACK(&r->q);
            PACK(&r->k);
            PACK(&r->v);
            PACK(&r->c_proj);
        }
    }
    if (m->towers & CLIPSEARCH_TOWER_TEXT) {
        if ((rc = pack_transformer(m, &m->text.tf, bf16, err)) != CLIPSEARCH_OK)
            return rc;
        PACK(&m->text.proj);
    }
#undef PACK
    return rc;
}
#endif

clipsearch_status cs_backend_prepare(clipsearch_model *m, int backend, clipsearch_precision prec,
                                     clipsearch_error *err)
{
    m->info.precision = prec;
    snprintf(m->info.backend, sizeof m->info.backend, "%s",
             backend == CS_BACKEND_ONEDNN ? "onednn" : "openblas");
#ifdef CS_HAVE_ONEDNN
    if (backend == CS_BACKEND_ONEDNN)
        return pack_model(m, prec == CLIPSEARCH_PRECISION_BF16, err);
#else
    (void)err;
#endif
    return CLIPSEARCH_OK;
}

void cs_backend_release(clipsearch_model *m)
{
#ifdef CS_HAVE_ONEDNN
    cs_onednn_free_packs(m->packs);
#endif
    m->packs = NULL;
}
