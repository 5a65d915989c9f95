/* image_decode.c — format sniffing, pixel budget, EXIF orientation and the
 * public clipsearch_image_load* entry points (see image_decode.h). */
#include "image_decode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/* Whole files are read into memory; nothing a photo library holds is near
 * this, and it keeps a damaged size field from exhausting memory. */
#define CS_MAX_FILE_BYTES ((int64_t)1 << 31)

static int is_heif_brand(const uint8_t *b)
{
    static const char brands[][5] = {"heic", "heix", "hevc", "hevx", "heim", "heis",
                                     "hevm", "hevs", "mif1", "msf1", "avif", "avis"};
    for (size_t i = 0; i < sizeof brands / sizeof brands[0]; i++)
        if (memcmp(b, brands[i], 4) == 0)
            return 1;
    return 0;
}

cs_image_format cs_image_sniff(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return CS_FORMAT_JPEG;
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return CS_FORMAT_PNG;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return CS_FORMAT_WEBP;
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        /* ISO BMFF: the major brand, then the compatible brands. */
        size_t box = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
        if (is_heif_brand(d + 8))
            return CS_FORMAT_HEIF;
        if (box > n)
            box = n;
        for (size_t at = 16; at + 4 <= box; at += 4)
            if (is_heif_brand(d + at))
                return CS_FORMAT_HEIF;
    }
    return CS_FORMAT_UNKNOWN;
}

clipsearch_status cs_check_dimensions(const char *what, int64_t width, int64_t height,
                                      int64_t max_pixels, clipsearch_error *err)
{
    if (width <= 0 || height <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s header gives an empty image (%lldx%lld)",
                            what, (long long)width, (long long)height);
    if (max_pixels <= 0)
        max_pixels = CLIPSEARCH_DEFAULT_MAX_PIXELS;
    /* Both are below 2^32 for every format, so the product cannot overflow. */
    if (width > INT32_MAX || height > INT32_MAX || width * height > max_pixels)
        return cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE,
                            "%s header claims %lldx%lld pixels (%.1f megapixels), over the "
                            "pixel budget of %.1f megapixels",
                            what, (long long)width, (long long)height,
                            (double)width * (double)height / 1e6, (double)max_pixels / 1e6);
    return CLIPSEARCH_OK;
}

clipsearch_status cs_image_alloc(clipsearch_image *img, int width, int height,
                                 clipsearch_error *err)
{
    size_t n;
    img->width = img->height = 0;
    img->rgb = NULL;
    if (width <= 0 || height <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "empty image (%dx%d)", width, height);
    n = (size_t)width * (size_t)height * 3;
    img->rgb = malloc(n);
    if (!img->rgb)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY,
                            "out of memory for a %dx%d image", width, height);
    img->width = width;
    img->height = height;
    return CLIPSEARCH_OK;
}

void clipsearch_image_release(clipsearch_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

clipsearch_status cs_image_orient(clipsearch_image *img, int orientation,
                                  clipsearch_error *err)
{
    const ptrdiff_t W = img->width, H = img->height;
    const int swap = orientation >= 5 && orientation <= 8;
    clipsearch_image out = {0, 0, NULL};
    clipsearch_status st;
    if (orientation < 2 || orientation > 8)
        return CLIPSEARCH_OK;
    st = cs_image_alloc(&out, swap ? img->height : img->width,
                        swap ? img->width : img->height, err);
    if (st != CLIPSEARCH_OK)
        return st;
    /* Destination pixel (x, y) reads source pixel base + x * step, in pixels;
     * the mapping is the inverse of Pillow's exif_transpose for each value. */
    for (ptrdiff_t y = 0; y < out.height; y++) {
        ptrdiff_t base = 0, step = 1;
        switch (orientation) {
        case 2: base = y * W + W - 1; step = -1; break;           /* mirror */
        case 3: base = (H - 1 - y) * W + W - 1; step = -1; break; /* 180 */
        case 4: base = (H - 1 - y) * W; step = 1; break;          /* flip */
        case 5: base = y; step = W; break;                        /* transpose */
        case 6: base = (H - 1) * W + y; step = -W; break;         /* 90 cw */
        case 7: base = (H - 1) * W + W - 1 - y; step = -W; break; /* transverse */
        case 8: base = W - 1 - y; step = W; break;                /* 90 ccw */
        }
        const uint8_t *s = img->rgb;
        uint8_t *d = out.rgb + (size_t)y * (size_t)out.width * 3;
        for (ptrdiff_t x = 0; x < out.width; x++) {
            const uint8_t *p = s + (base + x * step) * 3;
            d[0] = p[0];
            d[1] = p[1];
            d[2] = p[2];
            d += 3;
        }
    }
    free(img->rgb);
    *img = out;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_image_decode(const uint8_t *data, size_t size,
                                  const cs_decode_opts *opts, clipsearch_image *out,
                                  clipsearch_image_info *info, clipsearch_error *err)
{
    clipsearch_image_info local;
    clipsearch_image img = {0, 0, NULL};
    clipsearch_status st;
    cs_decode_opts o = *opts;

    memset(&local, 0, sizeof local);
    local.orientation = 1;
    if (o.max_pixels <= 0)
        o.max_pixels = CLIPSEARCH_DEFAULT_MAX_PIXELS;
    if (size == 0)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "file is empty");
    switch (cs_image_sniff(data, size)) {
    case CS_FORMAT_JPEG: st = cs_decode_jpeg(data, size, &o, &img, &local, err); break;
    case CS_FORMAT_PNG: st = cs_decode_png(data, size, &o, &img, &local, err); break;
    case CS_FORMAT_WEBP: st = cs_decode_webp(data, size, &o, &img, &local, err); break;
    case CS_FORMAT_HEIF: st = cs_decode_heif(data, size, &o, &img, &local, err); break;
    default:
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "not a JPEG, PNG, WebP or HEIF image (unrecognised first bytes)");
    }
    if (st != CLIPSEARCH_OK)
        goto out;
    st = cs_image_orient(&img, local.orientation, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    /* Upright full-resolution size (HEIF decoders set it themselves, since
     * their container transforms are already applied). */
    if (local.width <= 0) {
        int swap = local.orientation >= 5;
        local.width = swap ? local.stored_height : local.stored_width;
        local.height = swap ? local.stored_width : local.stored_height;
    }
    *out = img;
    img.rgb = NULL;
    if (info)
        *info = local;
out:
    clipsearch_image_release(&img);
    return st;
}

clipsearch_status cs_read_file(const char *path, uint8_t **data, size_t *size,
                               clipsearch_error *err)
{
    char ebuf[128];
    struct stat sb;
    uint8_t *buf = NULL;
    size_t n, got = 0;
    clipsearch_status st = CLIPSEARCH_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *data = NULL;
    *size = 0;
    if (fd < 0) {
        int e = errno;
        return cs_error_set(err, e == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                            "cannot open: %s", strerror_r(e, ebuf, sizeof ebuf));
    }
    if (fstat(fd, &sb) != 0) {
        st = cs_error_set(err, CLIPSEARCH_ERR_IO, "cannot stat: %s",
                          strerror_r(errno, ebuf, sizeof ebuf));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = cs_error_set(err, CLIPSEARCH_ERR_IO, "not a regular file");
        goto out;
    }
    if ((int64_t)sb.st_size > CS_MAX_FILE_BYTES) {
        st = cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE, "file is too large (%lld bytes)",
                          (long long)sb.st_size);
        goto out;
    }
    n = (size_t)sb.st_size;
    buf = malloc(n ? n : 1);
    if (!buf) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory reading %zu bytes", n);
        goto out;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = cs_error_set(err, CLIPSEARCH_ERR_IO, "read failed: %s",
                              strerror_r(errno, ebuf, sizeof ebuf));
            goto out;
        }
        if (r == 0)
            break; /* the file shrank while reading: decode what is there */
        got += (size_t)r;
    }
    *data = buf;
    *size = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return st;
}

clipsearch_status clipsearch_image_load_memory(const void *data, size_t size,
                                               int64_t max_pixels,
                                               clipsearch_image *out,
                                               clipsearch_image_info *info,
                                               clipsearch_error *err)
{
    cs_decode_opts o = {max_pixels, 0};
    if (!out || (!data && size))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "clipsearch_image_load_memory: NULL argument");
    out->width = out->height = 0;
    out->rgb = NULL;
    return cs_image_decode(data, size, &o, out, info, err);
}

clipsearch_status clipsearch_image_load(const char *path, int64_t max_pixels,
                                        clipsearch_image *out,
                                        clipsearch_image_info *info,
                                        clipsearch_error *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    clipsearch_status st;
    if (!path || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "clipsearch_image_load: NULL argument");
    out->width = out->height = 0;
    out->rgb = NULL;
    st = cs_read_file(path, &data, &size, err);
    if (st == CLIPSEARCH_OK)
        st = clipsearch_image_load_memory(data, size, max_pixels, out, info, err);
    if (st != CLIPSEARCH_OK)
        cs_error_prefix(err, "%s", path);
    free(data);
    return st;
}
