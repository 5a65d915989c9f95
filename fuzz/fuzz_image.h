/* fuzz_image.h — what the decoder fuzz targets (fuzz_jpeg.c, fuzz_png.c,
 * fuzz_webp.c) share: one decoder over the input, orientation, then the
 * whole preprocessing path from memory.  A small pixel budget keeps each run
 * fast; the budget check itself is part of what is exercised. */
#ifndef CS_FUZZ_IMAGE_H
#define CS_FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch.h"
#include "image_decode.h"

typedef clipsearch_status (*fuzz_decoder)(const uint8_t *data, size_t size,
                                          const cs_decode_opts *opts, clipsearch_image *out,
                                          clipsearch_image_info *info, clipsearch_error *err);

/* min_short_side > 0 also decodes with DCT scaling (JPEG's fast mode). */
static inline void fuzz_image(const uint8_t *data, size_t size, fuzz_decoder decode,
                              int min_short_side)
{
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    static float out[3 * 32 * 32];
    clipsearch_image img = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err;
    cs_decode_opts o = {1 << 20, 0, 0};

    if (decode(data, size, &o, &img, &info, &err) == CLIPSEARCH_OK) {
        cs_image_orient(&img, info.orientation, &err);
        clipsearch_image_release(&img);
    }
    if (min_short_side > 0) {
        o.min_short_side = min_short_side;
        if (decode(data, size, &o, &img, &info, &err) == CLIPSEARCH_OK)
            clipsearch_image_release(&img);
    }
    p.size = 32;
    p.max_pixels = 1 << 20;
    p.mode = size % 2 ? CLIPSEARCH_PREPROCESS_FAST : CLIPSEARCH_PREPROCESS_EXACT;
    clipsearch_preprocess_memory(data, size, &p, out, &info, &err);
}

#endif
