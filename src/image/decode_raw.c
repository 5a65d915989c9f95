/* decode_raw.c — camera RAW (CR2, CR3, NEF, ARW, RAF, ORF, RW2, DNG and the
 * rest LibRaw reads) through LibRaw's thread-safe C API.
 *
 * Two paths, recorded in info->format:
 *  - "raw-preview": the embedded preview (JPEG, or LibRaw's 8-bit bitmap)
 *    when its short side is at least opts->raw_preview_min_side (twice the
 *    model input): fast, and what the camera showed;
 *  - "raw-half": otherwise LibRaw's half-size decode (one pixel per Bayer
 *    quad, no demosaicing), camera white balance, 8-bit sRGB.
 * Orientation comes from the RAW's own metadata (LibRaw's flip), for both
 * paths: previews are stored the way the sensor was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libraw/libraw.h>

#include "error.h"
#include "image_decode.h"

#define CS_RAW_DEFAULT_PREVIEW_SIDE 448 /* 2 x 224 */

/* LibRaw/dcraw's flip (bit 2 transpose, bit 1 flip vertical, bit 0 flip
 * horizontal) as an EXIF orientation: the inverse of dcraw's
 * "50132467"[orientation & 7] table. */
static int flip_to_orientation(int flip)
{
    static const int map[8] = {1, 2, 4, 3, 5, 8, 6, 7};
    return map[flip & 7];
}

static void quiet_data_error(void *data, const char *file, const int offset)
{
    if (data)
        *(int *)data = 1;
    (void)file;
    (void)offset;
}

static void quiet_mem_error(void *data, const char *file, const char *where)
{
    (void)data;
    (void)file;
    (void)where;
}

static clipsearch_status raw_fail(clipsearch_error *err, int rc, const char *what)
{
    clipsearch_status s = rc == LIBRAW_FILE_UNSUPPORTED ? CLIPSEARCH_ERR_UNSUPPORTED
                          : rc == LIBRAW_UNSUFFICIENT_MEMORY ? CLIPSEARCH_ERR_OUT_OF_MEMORY
                          : rc == LIBRAW_TOO_BIG ? CLIPSEARCH_ERR_TOO_LARGE
                                                      : CLIPSEARCH_ERR_FORMAT;
    const char *why = rc == LIBRAW_IO_ERROR || rc == LIBRAW_DATA_ERROR ? "truncated file"
                                                                        : libraw_strerror(rc);
    return cs_error_set(err, s, "camera RAW %s (%s)", what, why);
}

static void raw_meta(const libraw_data_t *lr, clipsearch_image_info *info)
{
    const char *make = lr->idata.make, *model = lr->idata.model;
    size_t mk = strlen(make);
    if (lr->other.timestamp > 0) {
        struct tm tm;
        time_t t = lr->other.timestamp;
        /* LibRaw turned the EXIF local date into a time_t with mktime. */
        if (localtime_r(&t, &tm))
            strftime(info->taken, sizeof info->taken, "%Y-%m-%d %H:%M:%S", &tm);
    }
    if (mk && strncmp(model, make, mk) != 0)
        snprintf(info->camera, sizeof info->camera, "%s %s", make, model);
    else
        snprintf(info->camera, sizeof info->camera, "%s", model);
    for (char *p = info->camera; *p; p++)
        if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
            *p = '?';
}

static clipsearch_status try_preview(libraw_data_t *lr, const cs_decode_opts *opts,
                                     int min_side, clipsearch_image *img, int *used,
                                     clipsearch_error *err)
{
    const libraw_thumbnail_t *t = &lr->thumbnail;
    clipsearch_image_info pinfo;
    cs_decode_opts po = *opts;
    *used = 0;
    if ((t->twidth < t->theight ? t->twidth : t->theight) < min_side)
        return CLIPSEARCH_OK;
    if (libraw_unpack_thumb(lr) != LIBRAW_SUCCESS || !t->thumb)
        return CLIPSEARCH_OK; /* no usable preview: decode the RAW data */
    memset(&pinfo, 0, sizeof pinfo);
    if (t->tformat == LIBRAW_THUMBNAIL_JPEG) {
        if (cs_image_sniff((const uint8_t *)t->thumb, t->tlength) != CS_FORMAT_JPEG)
            return CLIPSEARCH_OK;
        /* DCT scaling may shrink it, never below what the model needs. */
        if (po.min_short_side <= 0 || po.min_short_side > min_side)
            po.min_short_side = po.min_short_side > 0 ? min_side : 0;
        if (cs_decode_jpeg((const uint8_t *)t->thumb, t->tlength, &po, img, &pinfo, err) !=
            CLIPSEARCH_OK)
            return CLIPSEARCH_OK; /* a damaged preview: the RAW data may still be fine */
    } else if (t->tformat == LIBRAW_THUMBNAIL_BITMAP && t->tcolors == 3 &&
               (size_t)t->twidth * t->theight * 3 <= t->tlength) {
        if (cs_image_alloc(img, t->twidth, t->theight, err) != CLIPSEARCH_OK)
            return CLIPSEARCH_ERR_OUT_OF_MEMORY;
        memcpy(img->rgb, t->thumb, (size_t)t->twidth * t->theight * 3);
    } else {
        return CLIPSEARCH_OK;
    }
    if ((img->width < img->height ? img->width : img->height) < min_side) {
        clipsearch_image_release(img); /* smaller than the header said */
        return CLIPSEARCH_OK;
    }
    *used = 1;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_decode_raw(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err)
{
    libraw_data_t *lr = libraw_init(0);
    libraw_processed_image_t *pi = NULL;
    clipsearch_image img = {0, 0, NULL};
    clipsearch_status st = CLIPSEARCH_OK;
    const int min_side = opts->raw_preview_min_side > 0 ? opts->raw_preview_min_side
                                                        : CS_RAW_DEFAULT_PREVIEW_SIDE;
    int rc, used = 0, data_error = 0;

    if (!lr)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    /* LibRaw's default handlers print to stderr; the library never prints. */
    libraw_set_dataerror_handler(lr, quiet_data_error, &data_error);
    libraw_set_memerror_handler(lr, quiet_mem_error, NULL);
    lr->params.max_raw_memory_mb = 2048;
    /* LibRaw only reads the buffer; its API is not const-correct. */
    rc = libraw_open_buffer(lr, (void *)(uintptr_t)data, size);
    if (rc != LIBRAW_SUCCESS) {
        st = raw_fail(err, rc, "file cannot be read");
        goto out;
    }
    st = cs_check_dimensions("camera RAW", lr->sizes.raw_width, lr->sizes.raw_height,
                             opts->max_pixels, err);
    if (st == CLIPSEARCH_OK)
        st = cs_check_dimensions("camera RAW", lr->sizes.width, lr->sizes.height,
                                 opts->max_pixels, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    info->orientation = flip_to_orientation(lr->sizes.flip);
    raw_meta(lr, info);

    st = try_preview(lr, opts, min_side, &img, &used, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    if (used) {
        snprintf(info->format, sizeof info->format, "raw-preview");
    } else {
        lr->params.half_size = 1;
        lr->params.use_camera_wb = 1;
        lr->params.output_bps = 8;
        lr->params.user_flip = 0; /* rows as stored; the front end orients */
        rc = libraw_unpack(lr);
        if (rc == LIBRAW_SUCCESS)
            rc = libraw_dcraw_process(lr);
        if (rc != LIBRAW_SUCCESS) {
            st = raw_fail(err, rc, "data cannot be decoded");
            goto out;
        }
        /* LibRaw decodes what it can of a short file and reports the rest
         * through the data error callback. */
        if (data_error) {
            st = raw_fail(err, LIBRAW_DATA_ERROR, "data ends early or is damaged");
            goto out;
        }
        pi = libraw_dcraw_make_mem_image(lr, &rc);
        if (!pi || pi->type != LIBRAW_IMAGE_BITMAP || pi->colors != 3 || pi->bits != 8 ||
            (size_t)pi->width * pi->height * 3 > pi->data_size) {
            st = raw_fail(err, pi ? LIBRAW_UNSPECIFIED_ERROR : rc, "image cannot be converted");
            goto out;
        }
        st = cs_image_alloc(&img, pi->width, pi->height, err);
        if (st != CLIPSEARCH_OK)
            goto out;
        memcpy(img.rgb, pi->data, (size_t)pi->width * pi->height * 3);
        snprintf(info->format, sizeof info->format, "raw-half");
    }
    info->stored_width = img.width;
    info->stored_height = img.height;
    *out = img;
    img.rgb = NULL;
out:
    clipsearch_image_release(&img);
    libraw_dcraw_clear_mem(pi);
    libraw_close(lr);
    return st;
}
