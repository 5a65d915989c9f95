/* test_failure_group.c — clipsearch_failure_group: the reason a failure is
 * grouped under, for the messages the decoders and the reader give, with
 * and without the path prefix. */
#include <string.h>

#include "clipsearch.h"
#include "testutil.h"

static void expect(const char *path, const char *message, const char *want)
{
    char got[96];
    clipsearch_failure_group(path, message, got, sizeof got);
    CHECK(strcmp(got, want) == 0, "%s / '%s': '%s', want '%s'", path, message, got, want);
}

int main(void)
{
    char tiny[8];
    expect("/p/a.PSD", "/p/a.PSD: unsupported format (unrecognised first bytes)",
           "unsupported format: .psd");
    expect("/p/noext", "/p/noext: unsupported format (unrecognised first bytes)",
           "unsupported format (no extension)");
    expect("/p/.hidden", "unsupported format (unrecognised first bytes)",
           "unsupported format (no extension)");
    expect("/p/t.jpg", "/p/t.jpg: JPEG data ends early (truncated file)", "truncated file");
    expect("/p/t.tif", "/p/t.tif: TIFF file is damaged or truncated (x)", "truncated file");
    expect("/p/e.jpg", "/p/e.jpg: file is empty", "empty file");
    expect("/p/h.jpg", "/p/h.jpg: JPEG header claims 65000x65000 pixels (4225.0 megapixels), "
                       "over the pixel budget of 100.0 megapixels", "over the pixel budget");
    expect("/p/c.png", "/p/c.png: PNG data is damaged (IDAT: CRC error)", "damaged PNG file");
    expect("/p/x.jxl", "/p/x.jxl: JPEG XL data is damaged", "damaged JPEG XL file");
    expect("/p/r.nef", "/p/r.nef: camera RAW file cannot be read (Unsupported file format or "
                       "not RAW file)", "unsupported feature of camera RAW file");
    expect("/p/b.bmp", "/p/b.bmp: BMP with embedded JPEG/PNG is not supported",
           "unsupported feature of BMP file");
    expect("/p/u.jpg", "/p/u.jpg: cannot open: Permission denied", "unreadable file");
    expect("/p/o.jpg", "something else entirely", "other error");
    expect(NULL, NULL, "other error");
    /* A small buffer is filled and terminated. */
    clipsearch_failure_group("/a.jpg", "file is empty", tiny, sizeof tiny);
    CHECK(strlen(tiny) == sizeof tiny - 1 && strncmp(tiny, "empty f", 7) == 0, "tiny: '%s'", tiny);
    return tu_finish("test_failure_group");
}
