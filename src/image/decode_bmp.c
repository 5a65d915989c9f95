/* decode_bmp.c — Windows BMP: a small, header-checked reader of the
 * uncompressed layouts (1/4/8-bit palette, 16/24/32-bit, BI_BITFIELDS),
 * converted as Pillow's BmpImagePlugin + convert("RGB") does: the fourth
 * byte of 32-bit pixels dropped, 5- and 6-bit fields scaled by 255/max,
 * bottom-up or top-down rows, 8-bit and 4-bit run-length coding (pixels
 * a run leaves out take index 0, as in Pillow's decoder).  Embedded
 * JPEG/PNG are refused as unsupported.
 *
 * Why not a library: Debian 12 has no small, maintained BMP decoder.  The
 * choices are toolkits that bring global state and far more attack surface
 * (gdk-pixbuf's loader modules, ImageMagick, FreeImage with its long CVE
 * list) or stb_image, whose own documentation says it is not meant for
 * untrusted files.  Uncompressed BMP is a header plus rows; every field is
 * checked against the file size and the pixel budget before any
 * allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image_decode.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Extracts a bit field and scales it to 0..255 (exact for 8-bit fields). */
static uint8_t field(uint32_t px, uint32_t mask)
{
    int shift = 0;
    uint32_t max;
    if (!mask)
        return 0;
    while (!(mask >> shift & 1))
        shift++;
    max = mask >> shift;
    return (uint8_t)((uint64_t)((px & mask) >> shift) * 255 / max);
}

static clipsearch_status decode_rle(const uint8_t *data, size_t size, size_t off, int w, int h,
                                    int bpp, int topdown, const uint8_t *pal,
                                    clipsearch_image *out, clipsearch_image_info *info,
                                    clipsearch_error *err)
{
    clipsearch_image img = {0, 0, NULL};
    uint8_t *idx = calloc((size_t)w * (size_t)h, 1);
    size_t p = off;
    int x = 0, y = 0, done = 0;
    clipsearch_status st = CLIPSEARCH_OK;
    if (!idx)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    while (!done) {
        unsigned n, c;
        if (p + 2 > size) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "BMP run-length data ends early (truncated file)");
            goto out;
        }
        n = data[p], c = data[p + 1];
        p += 2;
        if (n > 0) { /* a run of n pixels */
            for (unsigned i = 0; i < n && x < w; i++, x++)
                if (y < h)
                    idx[(size_t)y * (size_t)w + (size_t)x] =
                        (uint8_t)(bpp == 8 ? c : (i & 1 ? c & 15 : c >> 4));
        } else if (c == 0) { /* end of line */
            x = 0;
            y++;
        } else if (c == 1) { /* end of bitmap */
            done = 1;
        } else if (c == 2) { /* delta */
            if (p + 2 > size) {
                st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                                  "BMP run-length data ends early (truncated file)");
                goto out;
            }
            x += data[p];
            y += data[p + 1];
            p += 2;
        } else { /* c literal pixels, padded to 16 bits */
            size_t bytes = bpp == 8 ? c : (c + 1) / 2;
            if (p + bytes > size) {
                st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                                  "BMP run-length data ends early (truncated file)");
                goto out;
            }
            for (unsigned i = 0; i < c; i++, x++)
                if (x < w && y < h)
                    idx[(size_t)y * (size_t)w + (size_t)x] =
                        bpp == 8 ? data[p + i] : (uint8_t)(i & 1 ? data[p + i / 2] & 15
                                                                  : data[p + i / 2] >> 4);
            p += bytes + (bytes & 1);
        }
        if (y >= h)
            done = 1;
    }
    snprintf(info->format, sizeof info->format, "bmp");
    info->stored_width = w;
    info->stored_height = h;
    info->orientation = 1;
    st = cs_image_alloc(&img, w, h, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    for (int yy = 0; yy < h; yy++) {
        const uint8_t *s = idx + (size_t)(topdown ? yy : h - 1 - yy) * (size_t)w;
        for (int xx = 0; xx < w; xx++)
            memcpy(img.rgb + ((size_t)yy * (size_t)w + (size_t)xx) * 3, pal + 3 * s[xx], 3);
    }
    *out = img;
out:
    free(idx);
    return st;
}

clipsearch_status cs_decode_bmp(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err)
{
    clipsearch_image img = {0, 0, NULL};
    clipsearch_status st;
    uint32_t off, hsize, comp = 0, ncolors = 0, masks[3] = {0, 0, 0};
    int64_t w, h;
    int bpp, topdown = 0, palbytes = 4;
    uint8_t pal[256 * 3];
    size_t rowbytes;

    if (size < 26 || data[0] != 'B' || data[1] != 'M')
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP header is truncated");
    off = le32(data + 10);
    hsize = le32(data + 14);
    if (hsize == 12) { /* OS/2 BITMAPCOREHEADER */
        w = le16(data + 18);
        h = le16(data + 20);
        bpp = le16(data + 24);
        palbytes = 3;
    } else if (hsize >= 40 && hsize <= 124 && size >= 14 + (size_t)hsize) {
        w = (int32_t)le32(data + 18);
        h = (int32_t)le32(data + 22);
        bpp = le16(data + 28);
        comp = le32(data + 30);
        ncolors = le32(data + 46);
        if (h < 0) {
            topdown = 1;
            h = -h;
        }
        if (comp == 3 || comp == 6) { /* BI_BITFIELDS / BI_ALPHABITFIELDS */
            const uint8_t *mp = data + 54;
            if (hsize < 52 && size < 14 + (size_t)hsize + 12)
                return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP bit masks are truncated");
            for (int c = 0; c < 3; c++)
                masks[c] = le32(mp + 4 * c);
        }
    } else {
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP header is damaged (size %u)",
                            (unsigned)hsize);
    }
    st = cs_check_dimensions("BMP", w, h, opts->max_pixels, err);
    if (st != CLIPSEARCH_OK)
        return st;
    if ((comp == 1 && bpp != 8) || (comp == 2 && bpp != 4))
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP run-length coding with %d bits", bpp);
    if (comp == 4 || comp == 5)
        return cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED, "BMP with embedded JPEG/PNG is not supported");
    if (comp > 6)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP compression %u is unknown",
                            (unsigned)comp);
    if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP has %d bits per pixel", bpp);
    if ((comp == 3 || comp == 6) && bpp != 16 && bpp != 32)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP bit masks need 16 or 32 bits per pixel");
    if (comp == 0 && bpp == 16) {
        masks[0] = 0x7C00, masks[1] = 0x03E0, masks[2] = 0x001F;
    } else if (comp == 0 && bpp == 32) {
        masks[0] = 0xFF0000, masks[1] = 0xFF00, masks[2] = 0xFF;
    }
    if (bpp <= 8) {
        const size_t at = 14 + hsize + ((comp == 3 || comp == 6) && hsize < 52 ? 12 : 0);
        size_t n = ncolors ? ncolors : 1u << bpp;
        if (n > 256)
            n = 256;
        for (int i = 0; i < 256; i++)
            pal[3 * i] = pal[3 * i + 1] = pal[3 * i + 2] = (uint8_t)i;
        if (at > size || (size - at) / (size_t)palbytes < n)
            return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP palette is truncated");
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = data + at + i * (size_t)palbytes;
            pal[3 * i] = p[2];
            pal[3 * i + 1] = p[1];
            pal[3 * i + 2] = p[0];
        }
    }
    rowbytes = (((size_t)w * (size_t)bpp + 31) / 32) * 4;
    if (comp == 1 || comp == 2)
        return decode_rle(data, size, off, (int)w, (int)h, bpp, topdown, pal, out, info, err);
    if (off > size || (size - off) / rowbytes < (size_t)h)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "BMP pixel data ends early (truncated file)");

    snprintf(info->format, sizeof info->format, "bmp");
    info->stored_width = (int)w;
    info->stored_height = (int)h;
    info->orientation = 1;
    st = cs_image_alloc(&img, (int)w, (int)h, err);
    if (st != CLIPSEARCH_OK)
        return st;
    for (int64_t y = 0; y < h; y++) {
        const uint8_t *s = data + off + (size_t)(topdown ? y : h - 1 - y) * rowbytes;
        uint8_t *d = img.rgb + (size_t)y * (size_t)w * 3;
        for (int64_t x = 0; x < w; x++, d += 3) {
            if (bpp <= 8) {
                size_t bit = (size_t)x * (size_t)bpp;
                unsigned v = (s[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
                memcpy(d, pal + 3 * v, 3);
            } else if (bpp == 24) {
                d[0] = s[3 * x + 2];
                d[1] = s[3 * x + 1];
                d[2] = s[3 * x];
            } else {
                uint32_t px = bpp == 16 ? le16(s + 2 * x) : le32(s + 4 * x);
                for (int c = 0; c < 3; c++)
                    d[c] = field(px, masks[c]);
            }
        }
    }
    *out = img;
    return CLIPSEARCH_OK;
}
