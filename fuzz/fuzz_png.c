/* fuzz_png.c — libFuzzer target for the PNG path (libpng with our error
 * handlers, every colour type, eXIf) and preprocessing. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image(data, size, cs_decode_png, 0);
    return 0;
}
