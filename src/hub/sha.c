/* sha.c — SHA-256 and SHA-1 on nettle (see sha.h). */
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
