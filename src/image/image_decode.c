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

static int brand_in(const uint8_t *b, const char (*list)[5], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(b, list[i], 4) == 0)
            return 1;
    return 0;
}

static const char heif_brands[][5] = {"heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"};
static const char avif_brands[][5] = {"avif", "avis"};
static const char mif_brands[][5] = {"mif1", "msf1"};
#define NBRANDS(a) (sizeof a / sizeof a[0])

/* ISO BMFF: the major brand decides, then the compatible brands (HEVC
 * before AV1, then the generic HEIF brands, which libheif reads). */
static cs_image_format sniff_bmff(const uint8_t *d, size_t n)
{
    size_t box = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
    int heif = 0, avif = 0, mif = 0;
    if (memcmp(d + 8, "crx ", 4) == 0)
        return CS_FORMAT_RAW; /* Canon CR3 */
    if (brand_in(d + 8, heif_brands, NBRANDS(heif_brands)))
        return CS_FORMAT_HEIF;
    if (brand_in(d + 8, avif_brands, NBRANDS(avif_brands)))
        return CS_FORMAT_AVIF;
    mif = brand_in(d + 8, mif_brands, NBRANDS(mif_brands));
    if (box > n)
        box = n;
    for (size_t at = 16; at + 4 <= box; at += 4) {
        heif |= brand_in(d + at, heif_brands, NBRANDS(heif_brands));
        avif |= brand_in(d + at, avif_brands, NBRANDS(avif_brands));
        mif |= brand_in(d + at, mif_brands, NBRANDS(mif_brands));
    }
    return heif ? CS_FORMAT_HEIF : avif ? CS_FORMAT_AVIF : mif ? CS_FORMAT_HEIF : CS_FORMAT_UNKNOWN;
}

static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static uint16_t rd16(const uint8_t *p, int le)
{
    return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[1] | p[0] << 8);
}

int cs_tiff_is_raw(const uint8_t *d, size_t n)
{
    int le;
    uint32_t ifd;
    uint16_t count;
    if (n < 16)
        return 0;
    le = d[0] == 'I';
    if (memcmp(d + 8, "CR\x02", 3) == 0) /* Canon CR2 */
        return 1;
    ifd = rd32(d + 4, le);
    if (ifd < 8 || ifd > n - 2)
        return 0;
    count = rd16(d + ifd, le);
    for (uint32_t i = 0; i < count && ifd + 2 + 12 * (size_t)(i + 1) <= n; i++) {
        const uint8_t *e = d + ifd + 2 + 12 * (size_t)i;
        uint16_t tag = rd16(e, le), type = rd16(e + 2, le);
        uint32_t v = type == 3 ? rd16(e + 8, le) : rd32(e + 8, le);
        if (tag == 50706 || tag == 50740) /* DNGVersion, DNGPrivateData (ARW, PEF...) */
            return 1;
        if (tag == 330) /* SubIFDs: the full-size image lives elsewhere (NEF, DNG) */
            return 1;
        if (tag == 254 && (v & 1)) /* IFD0 is a reduced-size preview */
            return 1;
        if (tag == 262 && (v == 32803 || v == 34892)) /* CFA, LinearRaw */
            return 1;
    }
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
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0)
        return sniff_bmff(d, n);
    if (n >= 4 && (memcmp(d, "IIRO", 4) == 0 || memcmp(d, "IIRS", 4) == 0 ||
                   memcmp(d, "MMOR", 4) == 0 || memcmp(d, "IIU\0", 4) == 0))
        return CS_FORMAT_RAW; /* Olympus ORF, Panasonic RW2 */
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return cs_tiff_is_raw(d, n) ? CS_FORMAT_RAW : CS_FORMAT_TIFF;
    if (n >= 15 && memcmp(d, "FUJIFILMCCD-RAW", 15) == 0)
        return CS_FORMAT_RAW;
    if (n >= 14 && (memcmp(d, "II\x1a\0\0\0HEAPCCDR", 14) == 0 || memcmp(d, "\0MRM", 4) == 0 ||
                    memcmp(d, "FOVb", 4) == 0))
        return CS_FORMAT_RAW; /* Canon CRW, Minolta MRW, Sigma X3F */
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return CS_FORMAT_GIF;
    if (n >= 2 && d[0] == 0xFF && d[1] == 0x0A)
        return CS_FORMAT_JXL; /* bare codestream */
    if (n >= 12 && memcmp(d, "\0\0\0\x0cJXL \r\n\x87\n", 12) == 0)
        return CS_FORMAT_JXL; /* container */
    if (n >= 18 && d[0] == 'B' && d[1] == 'M') {
        uint32_t h = rd32(d + 14, 1);
        if (h == 12 || h == 40 || h == 52 || h == 56 || h == 64 || h == 108 || h == 124)
            return CS_FORMAT_BMP;
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
    case CS_FORMAT_TIFF: st = cs_decode_tiff(data, size, &o, &img, &local, err); break;
    case CS_FORMAT_GIF: st = cs_decode_gif(data, size, &o, &img, &local, err); break;
    case CS_FORMAT_BMP: st = cs_decode_bmp(data, size, &o, &img, &local, err); break;
    case CS_FORMAT_AVIF: st = cs_decode_avif(data, size, &o, &img, &local, err); break;
    case CS_FORMAT_JXL: st = cs_decode_jxl(data, size, &o, &img, &local, err); break;
    case CS_FORMAT_RAW:
        st = cs_decode_raw(data, size, &o, &img, &local, err);
        /* A TIFF the RAW test took for a camera file: LibRaw refuses it, libtiff may not. */
        if ((st == CLIPSEARCH_ERR_UNSUPPORTED || st == CLIPSEARCH_ERR_FORMAT) && size >= 4 &&
            (memcmp(data, "II*\0", 4) == 0 || memcmp(data, "MM\0*", 4) == 0)) {
            clipsearch_error terr;
            clipsearch_image_info tinfo;
            memset(&tinfo, 0, sizeof tinfo);
            tinfo.orientation = 1;
            if (cs_decode_tiff(data, size, &o, &img, &tinfo, &terr) == CLIPSEARCH_OK) {
                local = tinfo;
                st = CLIPSEARCH_OK;
            }
        }
        break;
    default:
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "unsupported format (unrecognised first bytes)");
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
    cs_decode_opts o = {max_pixels, 0, 0};
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
