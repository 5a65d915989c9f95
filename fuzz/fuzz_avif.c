/* fuzz_avif.c — libFuzzer target for the AVIF decoder (src/image/decode_avif.c),
 * orientation and preprocessing from memory. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_avif, 0);
    return 0;
}
