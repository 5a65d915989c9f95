/*
 * clipsearch/image.h — photo decoding (JPEG, PNG, WebP, HEIC/HEIF, AVIF,
 * TIFF, GIF, BMP, JPEG XL and camera RAW, chosen by magic bytes), EXIF orientation and metadata, and CLIP preprocessing.
 */
#ifndef CLIPSEARCH_IMAGE_H
#define CLIPSEARCH_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default pixel budget: images whose header claims more are refused before
 * any large allocation (CLIPSEARCH_ERR_TOO_LARGE). */
#define CLIPSEARCH_DEFAULT_MAX_PIXELS (100LL * 1000 * 1000)

/* An 8-bit RGB image, upright (EXIF orientation already applied), converted
 * the way Pillow's convert("RGB") does: gray replicated, palette expanded,
 * alpha dropped (not composited), Adobe CMYK inverted then converted;
 * 16-bit PNG samples keep their high byte. */
typedef struct clipsearch_image {
    int width, height;
    uint8_t *rgb; /* [height][width][3], owned; free with clipsearch_image_release */
} clipsearch_image;

/* What was learned about a photo while decoding it. */
typedef struct clipsearch_image_info {
    char format[16];         /* "jpeg", "png", "webp", "heif", "avif", "tiff", "gif",
                                "bmp", "jxl", "raw-preview" (a camera RAW's embedded
                                preview) or "raw-half" (its RAW data at half size) */
    int stored_width;        /* as stored in the file */
    int stored_height;
    int width;               /* upright, after the EXIF orientation */
    int height;
    int orientation;         /* EXIF orientation 1..8 that was applied (1 when absent;
                                always 1 for HEIF, whose container rotation/mirror
                                (irot/imir) libheif applies instead) */
    char taken[20];          /* EXIF DateTimeOriginal (else DateTimeDigitized) as
                                "YYYY-MM-DD HH:MM:SS", "" if unknown */
    char camera[128];        /* EXIF Make + " " + Model (Model alone when it already
                                starts with Make), printable ASCII, "" if unknown */
} clipsearch_image_info;

typedef enum clipsearch_preprocess_mode {
    /* Full decode, then the exact CLIP/Pillow pipeline. */
    CLIPSEARCH_PREPROCESS_EXACT = 0,
    /* Let libjpeg-turbo's DCT scaling shrink big JPEGs while decoding, by the
     * largest of 1/8, 1/4, 1/2 that keeps the short side >= 2*S, then the same
     * resize.  Other formats and small JPEGs: identical to exact mode. */
    CLIPSEARCH_PREPROCESS_FAST = 1
} clipsearch_preprocess_mode;

typedef struct clipsearch_preprocess_params {
    int size;                       /* S: output is S x S (224 by default) */
    float mean[3];                  /* per-channel mean (OpenAI CLIP's by default) */
    float std[3];                   /* per-channel std */
    clipsearch_preprocess_mode mode;
    int64_t max_pixels;             /* decode budget; <= 0 means the default */
} clipsearch_preprocess_params;

/* S = 224, OpenAI mean/std, exact mode, default pixel budget. */
CLIPSEARCH_API
clipsearch_preprocess_params clipsearch_preprocess_default_params(void);

/*
 * Decodes a photo file (format from its magic bytes), applies its EXIF
 * orientation and fills *out (caller releases it) and, if not NULL, *info.
 * max_pixels <= 0 means CLIPSEARCH_DEFAULT_MAX_PIXELS; a header claiming more
 * gives CLIPSEARCH_ERR_TOO_LARGE before any large allocation.  Truncated or
 * damaged files give CLIPSEARCH_ERR_FORMAT; messages start with the path.
 * On failure *out is zeroed.  Thread-safe.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_image_load(const char *path, int64_t max_pixels,
                                        clipsearch_image *out,
                                        clipsearch_image_info *info,
                                        clipsearch_error *err);

/* Same as clipsearch_image_load from a buffer in memory. */
CLIPSEARCH_API
clipsearch_status clipsearch_image_load_memory(const void *data, size_t size,
                                               int64_t max_pixels,
                                               clipsearch_image *out,
                                               clipsearch_image_info *info,
                                               clipsearch_error *err);

/* Frees img->rgb and zeroes *img; NULL and zeroed images are allowed. */
CLIPSEARCH_API
void clipsearch_image_release(clipsearch_image *img);

/* Resize (Pillow bicubic: short side to S, long side floor(S*long/short)) +
 * centre crop (offsets rounded half to even) + x/255, (x - mean)/std into
 * out[3][S][S] (float32, CHW); bit-identical to transformers' CLIP image
 * processor with Pillow.  params->mode is not used here.  Thread-safe. */
CLIPSEARCH_API
clipsearch_status clipsearch_preprocess_image(const clipsearch_image *img,
                                              const clipsearch_preprocess_params *params,
                                              float *out, clipsearch_error *err);

/* Decode + preprocess a file in one step (uses DCT scaling in fast mode).
 * out: [3][S][S]; info may be NULL.  Thread-safe. */
CLIPSEARCH_API
clipsearch_status clipsearch_preprocess_file(const char *path,
                                             const clipsearch_preprocess_params *params,
                                             float *out, clipsearch_image_info *info,
                                             clipsearch_error *err);

/* Same from a buffer in memory. */
CLIPSEARCH_API
clipsearch_status clipsearch_preprocess_memory(const void *data, size_t size,
                                               const clipsearch_preprocess_params *params,
                                               float *out, clipsearch_image_info *info,
                                               clipsearch_error *err);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_IMAGE_H */
