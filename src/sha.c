/* sha.c — SHA-256 and SHA-1 (see sha.h).  The portable code follows
 * FIPS 180-4 directly; speed matters little next to the network. */
#include "sha.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

#ifdef CS_HAVE_NETTLE

void cs_sha256_init(cs_sha256 *s) { sha256_init(&s->ctx); }
void cs_sha256_update(cs_sha256 *s, const void *data, size_t n)
{
    sha256_update(&s->ctx, n, data);
}
void cs_sha256_hex(cs_sha256 *s, char out[CS_SHA256_HEX_SIZE])
{
    unsigned char d[32];
    sha256_digest(&s->ctx, sizeof d, d);
    to_hex(d, sizeof d, out);
}
void cs_sha1_init(cs_sha1 *s) { sha1_init(&s->ctx); }
void cs_sha1_update(cs_sha1 *s, const void *data, size_t n) { sha1_update(&s->ctx, n, data); }
void cs_sha1_hex(cs_sha1 *s, char out[CS_SHA1_HEX_SIZE])
{
    unsigned char d[20];
    sha1_digest(&s->ctx, sizeof d, d);
    to_hex(d, sizeof d, out);
}

#else

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24);
    p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8);
    p[3] = (unsigned char)x;
}

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, k;
    for (int i = 0; i < 16; i++)
        w[i] = be32(p + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      K256[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 16; i++)
        w[i] = be32(p + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (int i = 0; i < 80; i++) {
        uint32_t f, k, t;
        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5a827999;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ed9eba1;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
        else
            f = b ^ c ^ d, k = 0xca62c1d6;
        t = rotl(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rotl(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* Shared Merkle-Damgard buffering for both (same block size and padding). */
static void md_update(uint32_t *h, void (*block)(uint32_t *, const unsigned char *),
                      unsigned char *buf, size_t *used, uint64_t *length, const void *data,
                      size_t n)
{
    const unsigned char *p = data;
    *length += n;
    if (*used) {
        size_t take = 64 - *used < n ? 64 - *used : n;
        memcpy(buf + *used, p, take);
        *used += take, p += take, n -= take;
        if (*used < 64)
            return;
        block(h, buf);
        *used = 0;
    }
    for (; n >= 64; p += 64, n -= 64)
        block(h, p);
    memcpy(buf, p, n);
    *used = n;
}

static void md_final(uint32_t *h, void (*block)(uint32_t *, const unsigned char *),
                     unsigned char *buf, size_t used, uint64_t length)
{
    uint64_t bits = length * 8;
    buf[used++] = 0x80;
    if (used > 56) {
        memset(buf + used, 0, 64 - used);
        block(h, buf);
        used = 0;
    }
    memset(buf + used, 0, 56 - used);
    for (int i = 0; i < 8; i++)
        buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    block(h, buf);
}

void cs_sha256_init(cs_sha256 *s)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->length = 0;
    s->used = 0;
}

void cs_sha256_update(cs_sha256 *s, const void *data, size_t n)
{
    md_update(s->h, sha256_block, s->block, &s->used, &s->length, data, n);
}

void cs_sha256_hex(cs_sha256 *s, char out[CS_SHA256_HEX_SIZE])
{
    unsigned char d[32];
    md_final(s->h, sha256_block, s->block, s->used, s->length);
    for (int i = 0; i < 8; i++)
        put_be32(d + 4 * i, s->h[i]);
    to_hex(d, sizeof d, out);
}

void cs_sha1_init(cs_sha1 *s)
{
    static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
                                   0xc3d2e1f0};
    memcpy(s->h, iv, sizeof iv);
    s->length = 0;
    s->used = 0;
}

void cs_sha1_update(cs_sha1 *s, const void *data, size_t n)
{
    md_update(s->h, sha1_block, s->block, &s->used, &s->length, data, n);
}

void cs_sha1_hex(cs_sha1 *s, char out[CS_SHA1_HEX_SIZE])
{
    unsigned char d[20];
    md_final(s->h, sha1_block, s->block, s->used, s->length);
    for (int i = 0; i < 5; i++)
        put_be32(d + 4 * i, s->h[i]);
    to_hex(d, sizeof d, out);
}

#endif /* CS_HAVE_NETTLE */

clipsearch_status cs_sha_file(const char *path, char sha256[CS_SHA256_HEX_SIZE],
                              char git_sha1[CS_SHA1_HEX_SIZE], clipsearch_error *err)
{
    enum { CHUNK = 1 << 20 };
    cs_sha256 s256;
    cs_sha1 s1;
    struct stat st;
    unsigned char *buf = NULL;
    clipsearch_status r = CLIPSEARCH_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        r = cs_error_set(err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                         "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (!(buf = malloc(CHUNK))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    cs_sha256_init(&s256);
    cs_sha1_init(&s1);
    if (git_sha1) {
        char head[32];
        int n = snprintf(head, sizeof head, "blob %lld", (long long)st.st_size);
        cs_sha1_update(&s1, head, (size_t)n + 1); /* with the NUL */
    }
    for (;;) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: read error: %s", path,
                             strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        if (sha256)
            cs_sha256_update(&s256, buf, (size_t)got);
        if (git_sha1)
            cs_sha1_update(&s1, buf, (size_t)got);
    }
    if (sha256)
        cs_sha256_hex(&s256, sha256);
    if (git_sha1)
        cs_sha1_hex(&s1, git_sha1);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return r;
}
