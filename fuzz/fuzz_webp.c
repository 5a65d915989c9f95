/* fuzz_webp.c — libFuzzer target for the WebP path (libwebp, RIFF chunk walk
 * for EXIF) and preprocessing. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_webp, 0);
    return 0;
}
