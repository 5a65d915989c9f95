/* fuzz_tiff.c — libFuzzer target for the TIFF decoder (src/image/decode_tiff.c),
 * orientation and preprocessing from memory. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_tiff, 0);
    return 0;
}
