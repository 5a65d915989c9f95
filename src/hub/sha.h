/* sha.h — SHA-256 and SHA-1 for verifying downloads against the checksums
 * the Hugging Face hub states (SHA-256 of LFS files, the git blob SHA-1 of
 * regular files).  Private to libclipsearch.
 * Built on Debian's nettle; tests/test_download.c checks the FIPS 180
 * test vectors through these wrappers. */
#ifndef CS_SHA_H
#define CS_SHA_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

#define CS_SHA256_HEX_SIZE 65 /* 64 hex digits + NUL */
#define CS_SHA1_HEX_SIZE 41   /* 40 hex digits + NUL */

#include <nettle/sha1.h>
#include <nettle/sha2.h>
typedef struct cs_sha256 {
    struct sha256_ctx ctx;
} cs_sha256;
typedef struct cs_sha1 {
    struct sha1_ctx ctx;
} cs_sha1;

void cs_sha256_init(cs_sha256 *s);
void cs_sha256_update(cs_sha256 *s, const void *data, size_t n);
void cs_sha256_hex(cs_sha256 *s, char out[CS_SHA256_HEX_SIZE]); /* finishes s */

void cs_sha1_init(cs_sha1 *s);
void cs_sha1_update(cs_sha1 *s, const void *data, size_t n);
void cs_sha1_hex(cs_sha1 *s, char out[CS_SHA1_HEX_SIZE]); /* finishes s */

/* Hashes a whole file: SHA-256 of its content into sha256 (may be NULL) and
 * the git blob id SHA-1("blob <size>\0" + content) into git_sha1 (may be
 * NULL).  ERR_IO/ERR_NOT_FOUND with the path in the message. */
clipsearch_status cs_sha_file(const char *path, char sha256[CS_SHA256_HEX_SIZE],
                              char git_sha1[CS_SHA1_HEX_SIZE], clipsearch_error *err);

#endif
