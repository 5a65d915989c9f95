/* decode_avif.c — AVIF through libavif (with the AV1 decoder Debian builds
 * it with: dav1d or libaom), the primary image (an image sequence's first
 * frame), converted to 8-bit RGB by libavif's own YUV->RGB (alpha dropped,
 * as convert("RGB") drops it; higher bit depths rescaled by libavif).
 *
 * AVIF's rotation/mirror boxes (irot/imir), not its EXIF orientation tag,
 * make the image upright; libavif reports them without applying them, so
 * they are turned into the equivalent EXIF orientation and applied by the
 * front end like every other format's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avif/avif.h>

#include "error.h"
#include "exif.h"
#include "image_decode.h"

/* irot (anti-clockwise quarter turns) then imir (mode 0: top/bottom
 * exchanged, 1: left/right) as the EXIF orientation of the same result. */
static int avif_orientation(const avifImage *im)
{
    static const int rot[4] = {1, 8, 3, 6};
    static const int rot_mirror[2][4] = {{4, 5, 2, 7}, {2, 7, 4, 5}};
    int a = im->transformFlags & AVIF_TRANSFORM_IROT ? im->irot.angle & 3 : 0;
    if (im->transformFlags & AVIF_TRANSFORM_IMIR)
        return rot_mirror[im->imir.mode ? 1 : 0][a];
    return rot[a];
}

static void avif_exif(const avifImage *im, clipsearch_image_info *info)
{
    cs_exif ex;
    const uint8_t *p = im->exif.data;
    size_t n = im->exif.size;
    if (!p || n < 8)
        return;
    if (cs_exif_parse(p, n, &ex) != 0) {
        /* The ISO BMFF Exif item: a 4-byte offset to the TIFF header first. */
        size_t off = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (off > n - 4 || cs_exif_parse(p + 4 + off, n - 4 - off, &ex) != 0)
            return;
    }
    memcpy(info->taken, ex.taken, sizeof info->taken);
    memcpy(info->camera, ex.camera, sizeof info->camera);
}

static clipsearch_status avif_fail(clipsearch_error *err, avifResult r, const avifDecoder *dec,
                                   const char *what)
{
    const char *diag = dec->diag.error;
    clipsearch_status s = r == AVIF_RESULT_NO_CODEC_AVAILABLE || r == AVIF_RESULT_NOT_IMPLEMENTED
                              ? CLIPSEARCH_ERR_UNSUPPORTED
                              : CLIPSEARCH_ERR_FORMAT;
    const char *why = r == AVIF_RESULT_TRUNCATED_DATA ? "truncated file" : avifResultToString(r);
    if (diag[0] && r != AVIF_RESULT_TRUNCATED_DATA)
        return cs_error_set(err, s, "AVIF %s (%s: %.200s)", what, why, diag);
    return cs_error_set(err, s, "AVIF %s (%s)", what, why);
}

clipsearch_status cs_decode_avif(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err)
{
    avifDecoder *dec = avifDecoderCreate();
    avifRGBImage rgb;
    clipsearch_image img = {0, 0, NULL};
    uint8_t *rgba = NULL;
    clipsearch_status st = CLIPSEARCH_OK;
    avifResult r;
    const avifImage *im;

    memset(&rgb, 0, sizeof rgb);
    if (!dec)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    dec->maxThreads = 1; /* the indexer runs one decode per worker */
    dec->imageCountLimit = 1;
    dec->strictFlags = AVIF_STRICT_DISABLED; /* read what other readers read */
    r = avifDecoderSetIOMemory(dec, data, size);
    if (r == AVIF_RESULT_OK)
        r = avifDecoderParse(dec);
    if (r != AVIF_RESULT_OK) {
        st = avif_fail(err, r, dec, "header is damaged or unsupported");
        goto out;
    }
    im = dec->image;
    st = cs_check_dimensions("AVIF", im->width, im->height, opts->max_pixels, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    snprintf(info->format, sizeof info->format, "avif");
    info->stored_width = (int)im->width;
    info->stored_height = (int)im->height;
    info->orientation = avif_orientation(im);
    avif_exif(im, info);
    /* The parse checked the header against libavif's own limit (so that a
     * photo over our budget gets our message); the AV1 decoder, opened by
     * the first decode, holds its frames to the budget. */
    if (opts->max_pixels < (int64_t)AVIF_DEFAULT_IMAGE_SIZE_LIMIT)
        dec->imageSizeLimit = (uint32_t)opts->max_pixels;
    r = avifDecoderNextImage(dec);
    if (r != AVIF_RESULT_OK) {
        st = avif_fail(err, r, dec, "image cannot be decoded");
        goto out;
    }
    im = dec->image;
    if ((int)im->width != info->stored_width || (int)im->height != info->stored_height) {
        st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "AVIF image size differs from its header");
        goto out;
    }
    /* RGBA, then the alpha dropped: asked for RGB, libavif composites the
     * colour onto black, where convert("RGB") keeps it. */
    avifRGBImageSetDefaults(&rgb, im);
    rgb.format = AVIF_RGB_FORMAT_RGBA;
    rgb.depth = 8;
    st = cs_image_alloc(&img, (int)im->width, (int)im->height, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    rgba = malloc((size_t)im->width * im->height * 4);
    if (!rgba) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    rgb.pixels = rgba;
    rgb.rowBytes = im->width * 4;
    r = avifImageYUVToRGB(im, &rgb);
    if (r != AVIF_RESULT_OK) {
        st = avif_fail(err, r, dec, "colour conversion failed");
        goto out;
    }
    for (size_t i = 0; i < (size_t)im->width * im->height; i++)
        memcpy(img.rgb + 3 * i, rgba + 4 * i, 3);
    *out = img;
    img.rgb = NULL;
out:
    clipsearch_image_release(&img);
    free(rgba);
    avifDecoderDestroy(dec);
    return st;
}
