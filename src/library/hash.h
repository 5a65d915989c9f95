/* hash.h — content hashes of photo files and fingerprints of models
 * (XXH3 from libxxhash).  Private to libclipsearch; thread-safe. */
#ifndef CS_HASH_H
#define CS_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

#define CS_HASH_HEX_SIZE 33 /* 32 hex digits + NUL */

/* XXH3-128 of a whole file as 32 lowercase hex digits.  *size (may be NULL)
 * gets the number of bytes hashed. */
clipsearch_status cs_hash_file(const char *path, char out[CS_HASH_HEX_SIZE],
                               int64_t *size, clipsearch_error *err);

/* XXH3-128 of a buffer, as hex. */
void cs_hash_buffer(const void *data, size_t size, char out[CS_HASH_HEX_SIZE]);

/* Fingerprint of a model directory: XXH3-128 over config.json whole and
 * model.safetensors' size, its header and 64 KiB samples spread over the
 * file (the full 600 MB would cost a search ~0.1 s; a change of weights
 * changes the samples).  Hex. */
clipsearch_status cs_model_fingerprint(const char *dir, char out[CS_HASH_HEX_SIZE],
                                       clipsearch_error *err);

#endif
