/* fuzz_jxl.c — libFuzzer target for the JXL decoder (src/image/decode_jxl.c),
 * orientation and preprocessing from memory. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_jxl, 0);
    return 0;
}
