/* fuzz_bmp.c — libFuzzer target for the BMP decoder (src/image/decode_bmp.c),
 * orientation and preprocessing from memory. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_bmp, 0);
    return 0;
}
