/* hash.c — content hashes and model fingerprints (see hash.h). */
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "error.h"
#include "model_internal.h"

#define CHUNK (1 << 20)

static void to_hex(XXH128_hash_t h, char out[CS_HASH_HEX_SIZE])
{
    snprintf(out, CS_HASH_HEX_SIZE, "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

void cs_hash_buffer(const void *data, size_t size, char out[CS_HASH_HEX_SIZE])
{
    to_hex(XXH3_128bits(data, size), out);
}

clipsearch_status cs_hash_file(const char *path, char out[CS_HASH_HEX_SIZE],
                               int64_t *size, clipsearch_error *err)
{
    XXH3_state_t *state = NULL;
    unsigned char *buf = NULL;
    int fd = -1;
    int64_t total = 0;
    clipsearch_status r = CLIPSEARCH_OK;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_set(err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                            "%s: cannot open: %s", path, strerror(errno));
    state = XXH3_createState();
    buf = malloc(CHUNK);
    if (!state || !buf) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        goto out;
    }
    XXH3_128bits_reset(state);
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: read error: %s", path,
                             strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        XXH3_128bits_update(state, buf, (size_t)n);
        total += n;
    }
    to_hex(XXH3_128bits_digest(state), out);
    if (size)
        *size = total;
out:
    free(buf);
    XXH3_freeState(state);
    close(fd);
    return r;
}

static clipsearch_status hash_range(XXH3_state_t *state, int fd, const char *path,
                                    int64_t off, int64_t len, unsigned char *buf,
                                    clipsearch_error *err)
{
    while (len > 0) {
        size_t want = len > CHUNK ? CHUNK : (size_t)len;
        ssize_t n = pread(fd, buf, want, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: read error: %s", path,
                                n < 0 ? strerror(errno) : "unexpected end of file");
        XXH3_128bits_update(state, buf, (size_t)n);
        off += n;
        len -= n;
    }
    return CLIPSEARCH_OK;
}

/* Hashes one file into state: its size, then its content, or for a big
 * safetensors file its header and 32 samples of 64 KiB (a whole ViT-L is
 * 1.7 GB; the samples catch a different checkpoint of the same shape). */
static clipsearch_status fingerprint_file(XXH3_state_t *state, const char *path, int whole,
                                          unsigned char *buf, clipsearch_error *err)
{
    clipsearch_status r;
    struct stat st;
    int64_t size;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        r = cs_error_set(err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                         "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return r;
    }
    size = st.st_size;
    XXH3_128bits_update(state, &size, sizeof size);
    if (whole || size <= 32 * 65536) {
        r = hash_range(state, fd, path, 0, size, buf, err);
    } else {
        unsigned char lenbuf[8];
        uint64_t hlen = 0;
        if (pread(fd, lenbuf, 8, 0) != 8) {
            close(fd);
            return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: read error", path);
        }
        for (int b = 7; b >= 0; b--)
            hlen = hlen << 8 | lenbuf[b];
        if (hlen > (uint64_t)size - 8)
            hlen = (uint64_t)size - 8;
        if (hlen > 16u << 20)
            hlen = 16u << 20;
        r = hash_range(state, fd, path, 0, 8 + (int64_t)hlen, buf, err);
        for (int k = 0; r == CLIPSEARCH_OK && k < 32; k++) {
            int64_t off = (size - 65536) / 31 * k;
            r = hash_range(state, fd, path, off, 65536, buf, err);
        }
    }
    close(fd);
    return r;
}

clipsearch_status cs_model_fingerprint(const char *dir, char out[CS_HASH_HEX_SIZE],
                                       clipsearch_error *err)
{
    /* Whichever configs the layout has (Hugging Face's, OpenCLIP's), then the
     * weights under whichever name the model loader would read. */
    static const char *const configs[] = {"config.json", "open_clip_config.json"};
    XXH3_state_t *state = XXH3_createState();
    unsigned char *buf = malloc(CHUNK);
    clipsearch_status r = CLIPSEARCH_OK;
    char path[4096];
    if (!state || !buf) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    XXH3_128bits_reset(state);
    for (int i = 0; i < 2; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, configs[i]);
        if (stat(path, &st) != 0)
            continue;
        if ((r = fingerprint_file(state, path, 1, buf, err)) != CLIPSEARCH_OK)
            goto out;
    }
    if (!cs_model_weights_path(dir, path, sizeof path)) {
        r = cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                         "%s: no model.safetensors, open_clip_model.safetensors or "
                         "open_clip_pytorch_model.safetensors",
                         dir);
        goto out;
    }
    if ((r = fingerprint_file(state, path, 0, buf, err)) != CLIPSEARCH_OK)
        goto out;
    to_hex(XXH3_128bits_digest(state), out);
out:
    free(buf);
    XXH3_freeState(state);
    return r;
}
