/* fuzz_exif.c — libFuzzer target for the EXIF (TIFF structure) reader, fed
 * both as a bare block and as the APP1 segment of a minimal JPEG header. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_exif e;
    cs_exif_parse(data, size, &e);
    if (e.orientation < 1 || e.orientation > 8 || strlen(e.taken) >= sizeof e.taken ||
        strlen(e.camera) >= sizeof e.camera)
        abort(); /* the reader's contract */
    /* Without the identifier too, so both entry forms are covered. */
    if (size > 6 && memcmp(data, "Exif\0\0", 6) == 0)
        cs_exif_parse(data + 6, size - 6, &e);
    return 0;
}
