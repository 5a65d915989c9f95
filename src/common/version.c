/* version.c — the library's version and the backends it computes with, as
 * `clipsearch --version` and `clipsearch-index --version` print them.  A new
 * backend or precision (oneDNN, bf16...) changes clipsearch_backends() only. */
#include "clipsearch/common.h"

#include <pthread.h>
#include <stdio.h>
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
    snprintf(backends, sizeof backends,
             "blas: %s\n"
             "faiss: %s\n"
             "precision: fp32\n",
             blas, CS_FAISS_VERSION);
}

const char *clipsearch_backends(void)
{
    pthread_once(&backends_once, backends_init);
    return backends;
}
