/* thumbs.h — private: thumbnails for the server (libjpeg-turbo DCT-scaled
 * decode through the image layer, EXIF orientation applied, the
 * preprocessing's Pillow-bicubic resize, JPEG encode) and their disk cache.
 * Thread-safe: no state. */
#ifndef CS_THUMBS_H
#define CS_THUMBS_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

/*
 * Renders an upright JPEG thumbnail of the photo in data[size] whose long
 * side is max_side (never upscaled: a smaller photo keeps its size).
 * *jpeg (malloc'd, caller frees) gets *jpeg_len bytes; *w, *h the size.
 * max_pixels: the decode budget (<= 0: the default).  Errors as
 * clipsearch_image_load_memory's.
 */
clipsearch_status cs_thumb_render(const uint8_t *data, size_t size, int max_side,
                                  int64_t max_pixels, uint8_t **jpeg, size_t *jpeg_len,
                                  int *w, int *h, clipsearch_error *err);

/* The cache folder: $XDG_CACHE_HOME/clipsearch/thumbs, else
 * $HOME/.cache/clipsearch/thumbs; "" (no cache) if neither is set. */
void cs_thumb_cache_dir(char *buf, size_t size);

/* Reads the cached thumbnail `key` (a content hash and size, [0-9a-f-]
 * only) from dir: 1 and *data (malloc'd) on a hit, 0 otherwise. */
int cs_thumb_cache_read(const char *dir, const char *key, uint8_t **data, size_t *len);

/* Stores it atomically (a temporary file renamed into place, so readers
 * never see half a thumbnail), creating folders as needed.  Failures are
 * ignored (the cache is only an optimisation): returns 0 on success. */
int cs_thumb_cache_write(const char *dir, const char *key, const uint8_t *data, size_t len);

#endif
