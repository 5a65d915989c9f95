/* version.c — the library's version and the backends it computes with, as
 * `clipsearch --version` and `clipsearch-index --version` print them.  A new
 * backend or precision changes clipsearch_backends() only. */
#include "clipsearch/common.h"
#include "clipsearch/model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CS_HAVE_OPENBLAS_CONFIG
#include <cblas.h>
#endif

/* CS_VERSION and CS_FAISS_VERSION come from CMakeLists.txt: project(VERSION)
 * and the FAISS headers the library was compiled (statically linked) with. */
#ifndef CS_VERSION
#error "CS_VERSION must be defined by the build"
#endif
#ifndef CS_FAISS_VERSION
#define CS_FAISS_VERSION "unknown"
#endif

const char *clipsearch_version(void)
{
    return CS_VERSION;
}

static char backends[512];
static pthread_once_t backends_once = PTHREAD_ONCE_INIT;

static void backends_init(void)
{
    const char *blas = "BLAS (unknown implementation)";
#ifdef CS_HAVE_OPENBLAS_CONFIG
    /* The OpenBLAS actually loaded (Debian's alternatives may pick the
     * pthread or the OpenMP build, each with its own configuration). */
    const char *config = openblas_get_config();
    if (config && *config)
        blas = config;
#endif
    /* What --precision auto means here: the CPU's choice, unless
     * CLIPSEARCH_PRECISION pins it (model.h). */
    int bf16 = clipsearch_engine_native_bf16();
    const char *why = bf16 ? "the CPU has bfloat16 dot products; --precision fp32 for float32"
                           : "no native bfloat16 dot products on this CPU or backend";
    clipsearch_precision env;
    const char *pinned = getenv("CLIPSEARCH_PRECISION");
    if (pinned && clipsearch_precision_parse(pinned, &env) == 0 &&
        env != CLIPSEARCH_PRECISION_AUTO) {
        bf16 = env == CLIPSEARCH_PRECISION_BF16;
        why = "set by CLIPSEARCH_PRECISION";
    }
    snprintf(backends, sizeof backends,
             "engine: %s\n"
             "blas: %s\n"
             "faiss: %s\n"
             "precision: %s by default (%s)\n",
             clipsearch_engine_describe(), blas, CS_FAISS_VERSION, bf16 ? "bf16" : "fp32", why);
}

const char *clipsearch_backends(void)
{
    pthread_once(&backends_once, backends_init);
    return backends;
}
