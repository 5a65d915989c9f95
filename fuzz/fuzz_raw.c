/* fuzz_raw.c — libFuzzer target for the RAW decoder (src/image/decode_raw.c),
 * orientation and preprocessing from memory. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_raw, 0);
    return 0;
}
