/*
 * image_decode.h — private interface between the format-neutral front end
 * (image_decode.c: sniffing, pixel budget, EXIF orientation) and the
 * per-format decoders (decode_jpeg.c, decode_png.c, decode_webp.c,
 * decode_heif.c, decode_tiff.c, decode_gif.c, decode_bmp.c, decode_avif.c,
 * decode_jxl.c, decode_raw.c).
 *
 * A decoder turns a whole file in memory into 8-bit RGB *as stored* (before
 * the EXIF orientation), converting colour the way Pillow's convert("RGB")
 * does, and fills info->format, stored_width/height, orientation, taken and
 * camera.  It checks the header's dimensions against opts->max_pixels before
 * any large allocation.  Messages do not name the file: the caller prefixes
 * it.  Decoders keep no state between calls and are thread-safe.
 */
#ifndef CS_IMAGE_DECODE_H
#define CS_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/image.h"

typedef struct cs_decode_opts {
    int64_t max_pixels;  /* > 0: budget checked against the header */
    /* > 0: a JPEG may be shrunk by libjpeg-turbo's DCT scaling (1/2, 1/4,
     * 1/8) as long as its short side stays >= this; 0: full size. */
    int min_short_side;
    /* Camera RAW: the embedded preview is used when its short side is >=
     * this (twice the model input), else the RAW data is decoded at half
     * size; 0: 448 (twice 224). */
    int raw_preview_min_side;
} cs_decode_opts;

typedef enum cs_image_format {
    CS_FORMAT_UNKNOWN = 0,
    CS_FORMAT_JPEG,
    CS_FORMAT_PNG,
    CS_FORMAT_WEBP,
    CS_FORMAT_HEIF,
    CS_FORMAT_TIFF,
    CS_FORMAT_GIF,
    CS_FORMAT_BMP,
    CS_FORMAT_AVIF,
    CS_FORMAT_JXL,
    CS_FORMAT_RAW /* a camera RAW that is not a plain TIFF (CR3, RAF, ORF, RW2...) */
} cs_image_format;

/* The format from the first bytes of a file (never from its name). */
cs_image_format cs_image_sniff(const uint8_t *data, size_t size);

/* Returns CLIPSEARCH_ERR_TOO_LARGE (with a message) when width x height is
 * over max_pixels, CLIPSEARCH_ERR_FORMAT when a dimension is not positive. */
clipsearch_status cs_check_dimensions(const char *what, int64_t width, int64_t height,
                                      int64_t max_pixels, clipsearch_error *err);

/* Allocates img->rgb for width x height (caller checked the budget). */
clipsearch_status cs_image_alloc(clipsearch_image *img, int width, int height,
                                 clipsearch_error *err);

/* Rotates/flips *img in place (new buffer) so that an image stored with EXIF
 * orientation 1..8 becomes upright.  Orientation 1 is a no-op. */
clipsearch_status cs_image_orient(clipsearch_image *img, int orientation,
                                  clipsearch_error *err);

/* Decode + orient: the whole front end, without the file-name prefix. */
clipsearch_status cs_image_decode(const uint8_t *data, size_t size,
                                  const cs_decode_opts *opts, clipsearch_image *out,
                                  clipsearch_image_info *info, clipsearch_error *err);

/* Reads a whole file into a malloc'd buffer (errors not prefixed). */
clipsearch_status cs_read_file(const char *path, uint8_t **data, size_t *size,
                               clipsearch_error *err);

clipsearch_status cs_decode_jpeg(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err);
clipsearch_status cs_decode_png(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err);
clipsearch_status cs_decode_webp(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err);
clipsearch_status cs_decode_heif(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err);

clipsearch_status cs_decode_tiff(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err);
clipsearch_status cs_decode_gif(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err);
clipsearch_status cs_decode_bmp(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err);
clipsearch_status cs_decode_avif(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err);
clipsearch_status cs_decode_jxl(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err);
/* Camera RAW through LibRaw; info->format "raw-preview" or "raw-half". */
clipsearch_status cs_decode_raw(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err);

/* 1 when a TIFF-structured file is a camera RAW (DNG, NEF, CR2, ARW...):
 * a DNGVersion tag, a CFA photometric, or a RAW maker's Make with RAW-sized
 * sub-images.  Decided from the bytes only. */
int cs_tiff_is_raw(const uint8_t *data, size_t size);

#endif
