/* fuzz_webp.c — libFuzzer target for the WebP path (libwebp, RIFF chunk walk
 * for EXIF) and preprocessing. */
#include <stddef.h>
#include <stdint.h>

#include "clipsearch.h"
#include "image_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    static float out[3 * 32 * 32];
    clipsearch_image img = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err;
    cs_decode_opts o = {1 << 20, 0};

    if (cs_decode_webp(data, size, &o, &img, &info, &err) == CLIPSEARCH_OK) {
        cs_image_orient(&img, info.orientation, &err);
        clipsearch_image_release(&img);
    }
    p.size = 32;
    p.max_pixels = 1 << 20;
    clipsearch_preprocess_memory(data, size, &p, out, &info, &err);
    return 0;
}
