/*
 * safetensors.h — a validating reader for the safetensors format
 * (8-byte little-endian header length, a JSON header, then raw data).
 *
 * The file is memory-mapped read-only.  Every tensor's dtype, shape and
 * [begin, end) offsets are checked against each other and the file size at
 * open, so a tensor's `data` can be read for `nbytes` without further checks.
 */
#ifndef CS_SAFETENSORS_H
#define CS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

#define CS_MAX_DIMS 8

typedef enum cs_dtype {
    CS_DTYPE_F32, CS_DTYPE_F16, CS_DTYPE_BF16, CS_DTYPE_F64,
    CS_DTYPE_I64, CS_DTYPE_I32, CS_DTYPE_I16, CS_DTYPE_I8, CS_DTYPE_U8,
    CS_DTYPE_BOOL
} cs_dtype;

typedef struct cs_tensor {
    char *name;
    cs_dtype dtype;
    int ndim;
    int64_t shape[CS_MAX_DIMS];
    int64_t numel;
    const void *data; /* inside the mapping; may be unaligned */
    size_t nbytes;
} cs_tensor;

typedef struct cs_safetensors {
    char *path;           /* for messages */
    const uint8_t *base;  /* whole file */
    size_t size;
    int mapped;           /* base is an mmap (else borrowed memory) */
    int n_tensors;
    cs_tensor *tensors;   /* sorted by name */
} cs_safetensors;

/* Opens and validates a file.  Errors name the file. */
clipsearch_status cs_safetensors_open(const char *path, cs_safetensors **out,
                                      clipsearch_error *err);

/* Same over a caller's buffer, which must outlive the result (fuzzing). */
clipsearch_status cs_safetensors_open_memory(const void *data, size_t size,
                                             const char *name,
                                             cs_safetensors **out,
                                             clipsearch_error *err);

void cs_safetensors_close(cs_safetensors *st);

/* Tensor by exact name, or NULL. */
const cs_tensor *cs_safetensors_find(const cs_safetensors *st, const char *name);

const char *cs_dtype_name(cs_dtype dtype);
size_t cs_dtype_size(cs_dtype dtype);

/* Converts a floating tensor (F32/F16/BF16/F64) to float32 into dst[numel]. */
clipsearch_status cs_tensor_to_f32(const cs_tensor *t, float *dst, clipsearch_error *err);

/* Converts a floating or I64/I32 tensor to float64 into dst[numel] (tests, golden data). */
clipsearch_status cs_tensor_to_f64(const cs_tensor *t, double *dst, clipsearch_error *err);

/* IEEE half / bfloat16 to float. */
float cs_f16_to_f32(uint16_t h);
float cs_bf16_to_f32(uint16_t b);

#endif
