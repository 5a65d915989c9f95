/* decode_heif.c — HEIC/HEIF (and AVIF) through libheif.
 *
 * libheif applies the container's own transformations (irot/imir/clap);
 * HEIF says those, not the EXIF orientation tag, make the image upright, so
 * the EXIF block is read for the date and camera only and the reported
 * orientation is 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#include "error.h"
#include "exif.h"
#include "image_decode.h"

/* libheif's messages can span lines ("Invalid input: ...\n" + detail);
 * every run of white space becomes one space, so a message is one line. */
static const char *one_line(const char *msg, char *buf, size_t cap)
{
    size_t o = 0;
    int space = 0;
    for (const char *p = msg ? msg : ""; *p && o + 2 < cap; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
            space = o > 0;
            continue;
        }
        if (space)
            buf[o++] = ' ';
        space = 0;
        buf[o++] = *p;
    }
    buf[o] = '\0';
    return buf;
}

static void heif_exif(const struct heif_image_handle *h, clipsearch_image_info *info)
{
    heif_item_id id;
    size_t n;
    uint8_t *buf;
    if (heif_image_handle_get_list_of_metadata_block_IDs(h, "Exif", &id, 1) < 1)
        return;
    n = heif_image_handle_get_metadata_size(h, id);
    if (n < 4 || n > (64u << 20))
        return;
    buf = malloc(n);
    if (!buf)
        return;
    if (heif_image_handle_get_metadata(h, id, buf).code == heif_error_Ok) {
        /* A 4-byte big-endian offset to the TIFF header comes first. */
        size_t off = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3];
        cs_exif ex;
        if (off <= n - 4 && cs_exif_parse(buf + 4 + off, n - 4 - off, &ex) == 0) {
            memcpy(info->taken, ex.taken, sizeof info->taken);
            memcpy(info->camera, ex.camera, sizeof info->camera);
        }
    }
    free(buf);
}

clipsearch_status cs_decode_heif(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err)
{
    struct heif_context *ctx = NULL;
    struct heif_image_handle *handle = NULL;
    struct heif_image *himg = NULL;
    struct heif_error he;
    clipsearch_image img = {0, 0, NULL};
    clipsearch_status st = CLIPSEARCH_OK;
    const uint8_t *plane;
    int stride, w, h;
    char line[512];

    ctx = heif_context_alloc();
    if (!ctx)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    he = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
    if (he.code != heif_error_Ok) {
        st = cs_error_set(err, he.code == heif_error_Unsupported_feature ||
                                       he.code == heif_error_Unsupported_filetype
                                   ? CLIPSEARCH_ERR_UNSUPPORTED
                                   : CLIPSEARCH_ERR_FORMAT,
                          "HEIF file is damaged or unsupported (%s)",
                          one_line(he.message, line, sizeof line));
        goto out;
    }
    he = heif_context_get_primary_image_handle(ctx, &handle);
    if (he.code != heif_error_Ok) {
        st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "HEIF file has no primary image (%s)",
                          one_line(he.message, line, sizeof line));
        goto out;
    }
    /* Both the coded and the displayed size are checked: the coded one is
     * what the decoder allocates. */
    st = cs_check_dimensions("HEIF", heif_image_handle_get_ispe_width(handle),
                             heif_image_handle_get_ispe_height(handle), opts->max_pixels, err);
    if (st == CLIPSEARCH_OK)
        st = cs_check_dimensions("HEIF", heif_image_handle_get_width(handle),
                                 heif_image_handle_get_height(handle), opts->max_pixels, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    snprintf(info->format, sizeof info->format, "heif");
    info->stored_width = heif_image_handle_get_ispe_width(handle);
    info->stored_height = heif_image_handle_get_ispe_height(handle);
    info->orientation = 1;
    heif_exif(handle, info);

    he = heif_decode_image(handle, &himg, heif_colorspace_RGB, heif_chroma_interleaved_RGB, NULL);
    if (he.code != heif_error_Ok) {
        st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "HEIF image cannot be decoded (%s)",
                          one_line(he.message, line, sizeof line));
        goto out;
    }
    w = heif_image_get_width(himg, heif_channel_interleaved);
    h = heif_image_get_height(himg, heif_channel_interleaved);
    plane = heif_image_get_plane_readonly(himg, heif_channel_interleaved, &stride);
    if (!plane || w <= 0 || h <= 0 || stride < w * 3 ||
        heif_image_get_bits_per_pixel_range(himg, heif_channel_interleaved) != 8) {
        st = cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED,
                          "HEIF image could not be converted to 8-bit RGB");
        goto out;
    }
    st = cs_check_dimensions("HEIF", w, h, opts->max_pixels, err);
    if (st == CLIPSEARCH_OK)
        st = cs_image_alloc(&img, w, h, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    for (int y = 0; y < h; y++)
        memcpy(img.rgb + (size_t)y * (size_t)w * 3, plane + (size_t)y * (size_t)stride,
               (size_t)w * 3);
    info->width = w;
    info->height = h;
    *out = img;
    img.rgb = NULL;
out:
    clipsearch_image_release(&img);
    if (himg)
        heif_image_release(himg);
    if (handle)
        heif_image_handle_release(handle);
    heif_context_free(ctx);
    return st;
}
