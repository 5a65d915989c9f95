/* decode_tiff.c — TIFF through libtiff, first page only, converted as
 * Pillow's convert("RGB") does for the layouts Pillow reads itself:
 *
 *  - strips or tiles of contiguous 8-bit or 16-bit unsigned samples:
 *    gray (min-is-black / min-is-white, 1/2/4/8/16 bits), palette (1..8 bits,
 *    colour map reduced to its high byte as Pillow does), RGB(A);
 *    extra samples (alpha) are dropped, 16-bit samples keep their high byte
 *    (Pillow's ";16B" raw modes; for 16-bit gray, where Pillow clips, the
 *    high byte as for PNG);
 *  - everything else (YCbCr, JPEG-in-TIFF, CMYK, separate planes, LogLuv...)
 *    through libtiff's own TIFFReadRGBAImage, which composites unassociated
 *    alpha onto black.
 *
 * libtiff reads from memory through TIFFClientOpenExt, with per-handle
 * error handlers (no global state) and a cap on its single allocations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "error.h"
#include "exif.h"
#include "image_decode.h"

typedef struct tiff_mem {
    const uint8_t *data;
    size_t size;
    toff_t pos;
    char msg[256];
} tiff_mem;

static tmsize_t mem_read(thandle_t h, void *buf, tmsize_t n)
{
    tiff_mem *m = h;
    size_t left = m->pos < m->size ? m->size - (size_t)m->pos : 0;
    size_t k = n < 0 ? 0 : (size_t)n;
    if (k > left)
        k = left;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (tmsize_t)k;
}

static tmsize_t mem_write(thandle_t h, void *buf, tmsize_t n)
{
    (void)h;
    (void)buf;
    (void)n;
    return -1;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    tiff_mem *m = h;
    toff_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? (toff_t)m->size : 0;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
        return (toff_t)-1;
    /* Offsets are unsigned in libtiff; a "negative" one wraps and is refused. */
    if (off > (toff_t)1 << 62 || base + off > (toff_t)1 << 62)
        return (toff_t)-1;
    m->pos = base + off;
    return m->pos;
}

static int mem_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t mem_size(thandle_t h) { return (toff_t)((tiff_mem *)h)->size; }

static int mem_map(thandle_t h, void **base, toff_t *size)
{
    (void)h;
    (void)base;
    (void)size;
    return 0; /* no mapping: libtiff reads through mem_read */
}

static void mem_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

/* The first error is kept, on one line. */
static int on_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    tiff_mem *m = user;
    (void)tif;
    (void)module;
    if (!m->msg[0]) {
        vsnprintf(m->msg, sizeof m->msg, fmt, ap);
        for (char *p = m->msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return 1;
}

static int on_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt,
                           va_list ap)
{
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1; /* unknown tags and the like: libtiff carries on */
}

static clipsearch_status damaged(clipsearch_error *err, const tiff_mem *m, const char *what)
{
    return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "TIFF %s (%s)", what,
                        m->msg[0] ? m->msg : "truncated file");
}

/* One stored row of samples (native-endian after libtiff) to RGB. */
static void convert_row(const uint8_t *src, uint8_t *dst, int w, int bps, int spp, int photo,
                        const uint8_t *pal)
{
    for (int x = 0; x < w; x++, dst += 3) {
        if (photo == PHOTOMETRIC_RGB) {
            for (int c = 0; c < 3; c++)
                dst[c] = bps == 16 ? (uint8_t)(((const uint16_t *)src)[(size_t)x * spp + c] >> 8)
                                   : src[(size_t)x * spp + c];
            continue;
        }
        unsigned v;
        if (bps == 16) {
            v = ((const uint16_t *)src)[(size_t)x * spp] >> 8;
        } else if (bps == 8) {
            v = src[(size_t)x * spp];
        } else { /* 1, 2, 4 bits, spp == 1, packed MSB first */
            size_t bit = (size_t)x * (size_t)bps;
            v = (src[bit / 8] >> (8 - bps - bit % 8)) & ((1u << bps) - 1);
        }
        if (photo == PHOTOMETRIC_PALETTE) {
            memcpy(dst, pal + 3 * v, 3);
            continue;
        }
        if (bps < 8)
            v = v * 255 / ((1u << bps) - 1);
        if (photo == PHOTOMETRIC_MINISWHITE)
            v = 255 - v;
        dst[0] = dst[1] = dst[2] = (uint8_t)v;
    }
}

static clipsearch_status read_direct(TIFF *tif, tiff_mem *m, clipsearch_image *img, int bps,
                                     int spp, int photo, clipsearch_error *err)
{
    uint8_t pal[256 * 3];
    uint8_t *buf = NULL;
    clipsearch_status st = CLIPSEARCH_OK;
    const int w = img->width, h = img->height;

    if (photo == PHOTOMETRIC_PALETTE) {
        uint16_t *r = NULL, *g = NULL, *b = NULL;
        if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b) || !r || !g || !b)
            return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "TIFF palette image has no colour map");
        for (int i = 0; i < (1 << bps); i++) {
            pal[3 * i] = (uint8_t)(r[i] >> 8);
            pal[3 * i + 1] = (uint8_t)(g[i] >> 8);
            pal[3 * i + 2] = (uint8_t)(b[i] >> 8);
        }
    }
    if (TIFFIsTiled(tif)) {
        uint32_t tw = 0, th = 0;
        tmsize_t tsize = TIFFTileSize(tif);
        size_t rowbytes;
        if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw) ||
            !TIFFGetField(tif, TIFFTAG_TILELENGTH, &th) || tw == 0 || th == 0 || tsize <= 0 ||
            (tmsize_t)tw * th > (tmsize_t)1 << 28)
            return damaged(err, m, "tile layout is invalid");
        rowbytes = TIFFTileRowSize(tif);
        buf = malloc((size_t)tsize);
        if (!buf)
            return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        for (uint32_t ty = 0; ty < (uint32_t)h; ty += th)
            for (uint32_t tx = 0; tx < (uint32_t)w; tx += tw) {
                uint32_t cw = (uint32_t)w - tx < tw ? (uint32_t)w - tx : tw;
                if (TIFFReadTile(tif, buf, tx, ty, 0, 0) < 0) {
                    st = damaged(err, m, "tile cannot be read");
                    goto out;
                }
                for (uint32_t y = 0; y < th && ty + y < (uint32_t)h; y++) {
                    uint8_t *d = img->rgb + ((size_t)(ty + y) * (size_t)w + tx) * 3;
                    convert_row(buf + (size_t)y * rowbytes, d, (int)cw, bps, spp, photo, pal);
                }
            }
    } else {
        tmsize_t line = TIFFScanlineSize(tif);
        if (line <= 0)
            return damaged(err, m, "strip layout is invalid");
        buf = malloc((size_t)line);
        if (!buf)
            return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        for (int y = 0; y < h; y++) {
            if (TIFFReadScanline(tif, buf, (uint32_t)y, 0) < 0) {
                st = damaged(err, m, "data ends early or is damaged");
                goto out;
            }
            convert_row(buf, img->rgb + (size_t)y * (size_t)w * 3, w, bps, spp, photo, pal);
        }
    }
out:
    free(buf);
    return st;
}

static clipsearch_status read_rgba(TIFF *tif, tiff_mem *m, clipsearch_image *img,
                                   int orientation, clipsearch_error *err)
{
    const size_t n = (size_t)img->width * (size_t)img->height;
    uint32_t *raster = malloc(n * sizeof *raster);
    char emsg[1024] = "";
    if (!raster)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory for a %dx%d image",
                            img->width, img->height);
    if (!TIFFRGBAImageOK(tif, emsg)) {
        free(raster);
        return cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED, "TIFF layout is not supported (%s)",
                            emsg);
    }
    /* Asking for the file's own orientation keeps the rows as stored; the
     * front end then applies the orientation like for every format. */
    if (!TIFFReadRGBAImageOriented(tif, (uint32_t)img->width, (uint32_t)img->height, raster,
                                   orientation, 0)) {
        free(raster);
        return damaged(err, m, "data ends early or is damaged");
    }
    for (size_t i = 0; i < n; i++) {
        img->rgb[3 * i] = (uint8_t)TIFFGetR(raster[i]);
        img->rgb[3 * i + 1] = (uint8_t)TIFFGetG(raster[i]);
        img->rgb[3 * i + 2] = (uint8_t)TIFFGetB(raster[i]);
    }
    free(raster);
    return CLIPSEARCH_OK;
}

clipsearch_status cs_decode_tiff(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err)
{
    tiff_mem m;
    TIFFOpenOptions *to = NULL;
    TIFF *tif = NULL;
    clipsearch_image img = {0, 0, NULL};
    clipsearch_status st = CLIPSEARCH_OK;
    uint32_t w = 0, h = 0;
    uint16_t bps = 1, spp = 1, photo = 0, planar = PLANARCONFIG_CONTIG, fmt = SAMPLEFORMAT_UINT;
    uint16_t orient = ORIENTATION_TOPLEFT, compression = COMPRESSION_NONE;
    cs_exif ex;

    memset(&m, 0, sizeof m);
    m.data = data;
    m.size = size;
    to = TIFFOpenOptionsAlloc();
    if (!to)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    TIFFOpenOptionsSetErrorHandlerExtR(to, on_tiff_error, &m);
    TIFFOpenOptionsSetWarningHandlerExtR(to, on_tiff_warning, &m);
    /* libtiff's own buffers (strip/tile, tag arrays) stay modest even when
     * a damaged header asks for more. */
    TIFFOpenOptionsSetMaxSingleMemAlloc(to, (tmsize_t)256 << 20);
    tif = TIFFClientOpenExt("tiff", "rm", &m, mem_read, mem_write, mem_seek, mem_close, mem_size,
                            mem_map, mem_unmap, to);
    if (!tif) {
        st = damaged(err, &m, "file is damaged or truncated");
        goto out;
    }
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    st = cs_check_dimensions("TIFF", w, h, opts->max_pixels, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orient);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo))
        photo = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;

    snprintf(info->format, sizeof info->format, "tiff");
    info->stored_width = (int)w;
    info->stored_height = (int)h;
    /* The file is itself a TIFF structure: IFD0's Orientation, Make and
     * Model and the Exif sub-IFD's dates come from the EXIF reader. */
    if (cs_exif_parse(data, size, &ex) == 0) {
        memcpy(info->taken, ex.taken, sizeof info->taken);
        memcpy(info->camera, ex.camera, sizeof info->camera);
    }
    info->orientation = orient >= 1 && orient <= 8 ? orient : 1;

    st = cs_image_alloc(&img, (int)w, (int)h, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    {
        const int gray = photo == PHOTOMETRIC_MINISBLACK || photo == PHOTOMETRIC_MINISWHITE;
        const int direct =
            planar == PLANARCONFIG_CONTIG && fmt == SAMPLEFORMAT_UINT && spp <= 8 &&
            compression != COMPRESSION_OJPEG &&
            ((photo == PHOTOMETRIC_RGB && spp >= 3 && (bps == 8 || bps == 16)) ||
             (gray && spp >= 1 && (bps == 8 || bps == 16 || (spp == 1 && (bps == 1 || bps == 2 ||
                                                                          bps == 4)))) ||
             (photo == PHOTOMETRIC_PALETTE && spp == 1 && bps >= 1 && bps <= 8 &&
              (bps & (bps - 1)) == 0));
        if (direct)
            st = read_direct(tif, &m, &img, bps, spp, photo, err);
        else
            st = read_rgba(tif, &m, &img, info->orientation, err);
    }
    if (st != CLIPSEARCH_OK)
        goto out;
    *out = img;
    img.rgb = NULL;
out:
    clipsearch_image_release(&img);
    if (tif)
        TIFFClose(tif);
    TIFFOpenOptionsFree(to);
    return st;
}
