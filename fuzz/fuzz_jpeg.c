/* fuzz_jpeg.c — libFuzzer target for the JPEG path: header, EXIF, colour
 * conversion, DCT scaling (fast mode), orientation and preprocessing. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_jpeg, 8);
    return 0;
}
