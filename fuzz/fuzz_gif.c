/* fuzz_gif.c — libFuzzer target for the GIF decoder (src/image/decode_gif.c),
 * orientation and preprocessing from memory. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_gif, 0);
    return 0;
}
