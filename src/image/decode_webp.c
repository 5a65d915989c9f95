/* decode_webp.c — WebP through libwebp: RGB without alpha (Pillow's
 * convert("RGB") drops alpha without compositing), EXIF from the RIFF
 * "EXIF" chunk. */
#include <stdio.h>
#include <string.h>

#include <webp/decode.h>

#include "error.h"
#include "exif.h"
#include "image_decode.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walks the RIFF chunks after "RIFF....WEBP" looking for "EXIF". */
static void webp_exif(const uint8_t *d, size_t n, clipsearch_image_info *info)
{
    size_t at = 12;
    while (at + 8 <= n) {
        size_t len = le32(d + at + 4);
        if (len > n - at - 8)
            return;
        if (memcmp(d + at, "EXIF", 4) == 0) {
            cs_exif ex;
            if (cs_exif_parse(d + at + 8, len, &ex) == 0) {
                info->orientation = ex.orientation;
                memcpy(info->taken, ex.taken, sizeof info->taken);
                memcpy(info->camera, ex.camera, sizeof info->camera);
            }
            return;
        }
        at += 8 + len + (len & 1);
    }
}

static const char *vp8_status_text(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "WebP data is damaged";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "WebP uses an unsupported feature";
    case VP8_STATUS_SUSPENDED: return "WebP decoding was suspended";
    case VP8_STATUS_USER_ABORT: return "WebP decoding was aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "WebP data ends early (truncated file)";
    default: return "WebP data is damaged";
    }
}

static clipsearch_status vp8_status(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY: return CLIPSEARCH_ERR_OUT_OF_MEMORY;
    case VP8_STATUS_UNSUPPORTED_FEATURE: return CLIPSEARCH_ERR_UNSUPPORTED;
    default: return CLIPSEARCH_ERR_FORMAT;
    }
}

clipsearch_status cs_decode_webp(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err)
{
    WebPDecoderConfig config;
    clipsearch_image img = {0, 0, NULL};
    clipsearch_status st;
    VP8StatusCode vs;

    if (!WebPInitDecoderConfig(&config))
        return cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "libwebp version mismatch");
    vs = WebPGetFeatures(data, size, &config.input);
    if (vs != VP8_STATUS_OK)
        return cs_error_set(err, vp8_status(vs), "%s (header)", vp8_status_text(vs));
    st = cs_check_dimensions("WebP", config.input.width, config.input.height, opts->max_pixels,
                             err);
    if (st != CLIPSEARCH_OK)
        return st;
    if (config.input.has_animation)
        return cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED, "animated WebP is not supported");
    snprintf(info->format, sizeof info->format, "webp");
    info->stored_width = config.input.width;
    info->stored_height = config.input.height;
    webp_exif(data, size, info);

    st = cs_image_alloc(&img, config.input.width, config.input.height, err);
    if (st != CLIPSEARCH_OK)
        return st;
    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = img.rgb;
    config.output.u.RGBA.stride = img.width * 3;
    config.output.u.RGBA.size = (size_t)img.width * (size_t)img.height * 3;
    vs = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    if (vs != VP8_STATUS_OK) {
        clipsearch_image_release(&img);
        return cs_error_set(err, vp8_status(vs), "%s", vp8_status_text(vs));
    }
    *out = img;
    return CLIPSEARCH_OK;
}
