/*
 * clipsearch/common.h — status codes and error reporting shared by every
 * part of the clipsearch public API.
 *
 * Every function that can fail returns a clipsearch_status and takes a
 * `clipsearch_error *err` as its last argument.  `err` may be NULL; when it is
 * not, a failing call fills err->status and a one-line, human-readable
 * err->message naming the file or input and the problem.  A successful call
 * leaves *err untouched.  The library never prints, exits or aborts on bad
 * input.
 */
#ifndef CLIPSEARCH_COMMON_H
#define CLIPSEARCH_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

/* CLIPSEARCH_API marks the functions of the public API: the shared library
 * is built with -fvisibility=hidden and exports only these. */
#ifndef CLIPSEARCH_API
#if defined(__GNUC__) || defined(__clang__)
#define CLIPSEARCH_API __attribute__((visibility("default")))
#else
#define CLIPSEARCH_API
#endif
#endif

/* Status codes.  Values are stable: new codes are only ever appended. */
typedef enum clipsearch_status {
    CLIPSEARCH_OK = 0,
    CLIPSEARCH_ERR_INVALID_ARGUMENT = 1, /* caller passed something unusable */
    CLIPSEARCH_ERR_OUT_OF_MEMORY = 2,
    CLIPSEARCH_ERR_IO = 3,          /* open/read/write/mmap/fsync failed */
    CLIPSEARCH_ERR_FORMAT = 4,      /* a file's content is malformed */
    CLIPSEARCH_ERR_MODEL = 5,       /* model files inconsistent or incomplete */
    CLIPSEARCH_ERR_UNSUPPORTED = 6, /* well-formed but not supported */
    CLIPSEARCH_ERR_TOO_LARGE = 7,   /* over a size/pixel budget */
    CLIPSEARCH_ERR_NOT_FOUND = 8,   /* a file or entry does not exist */
    CLIPSEARCH_ERR_DATABASE = 9,    /* SQLite reported an error */
    CLIPSEARCH_ERR_INDEX = 10,      /* FAISS reported an error */
    CLIPSEARCH_ERR_INTERRUPTED = 11,/* stopped on request (e.g. Ctrl-C) */
    CLIPSEARCH_ERR_NETWORK = 12,    /* a download failed */
    CLIPSEARCH_ERR_INTERNAL = 13,   /* a bug: please report it */
    CLIPSEARCH_ERR_BUSY = 14        /* another process holds the library (an indexer) */
} clipsearch_status;

#define CLIPSEARCH_ERROR_MESSAGE_SIZE 1024

/* Detailed error, filled by a failing call.  Plain data: copy it freely. */
typedef struct clipsearch_error {
    clipsearch_status status;
    char message[CLIPSEARCH_ERROR_MESSAGE_SIZE];
} clipsearch_error;

/* Static English description of a status code; never NULL.  Thread-safe. */
CLIPSEARCH_API
const char *clipsearch_strerror(clipsearch_status status);

/* Version of the library linked at run time, e.g. "0.1.0"; static, never
 * NULL.  Compare with CLIPSEARCH_VERSION (clipsearch/version.h), the version
 * a program was compiled against.  Thread-safe. */
CLIPSEARCH_API
const char *clipsearch_version(void);

/* The computation backends of this build, one "name: value" a line, each
 * line ending in '\n', e.g.
 *   "blas: OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64\n"
 *   "faiss: 1.7.3\n"
 *   "precision: fp32\n"
 * (what `--version` prints).  Static, never NULL; built once.  Thread-safe. */
CLIPSEARCH_API
const char *clipsearch_backends(void);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_COMMON_H */
