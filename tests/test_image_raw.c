/* test_image_raw.c — camera RAW through LibRaw, on DNG files written here
 * with libtiff from a known photo (fixtures/images/chelsea_444.jpg):
 *
 *  - the photo mosaicked into an RGGB Bayer pattern (16-bit, linear light),
 *    with a small embedded JPEG preview: decoded at half size
 *    ("raw-half"), which must match the photo downscaled by 2 (correlation
 *    per channel; LibRaw's gamma and auto-brightness make it not
 *    bit-exact), and upright for the Orientation tag (6, 8, 3);
 *  - the same with a preview whose short side is >= 2 x the model input:
 *    the preview is used ("raw-preview"), oriented by the RAW's tag;
 *  - truncated and damaged copies: errors, never a crash; the pixel budget.
 *
 * Pillow does not read RAW files, so the reference is the photo the DNG
 * was made from. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <tiffio.h>

#include "clipsearch.h"
#include "image_decode.h"
#include "testutil.h"

static clipsearch_image photo; /* the known image, W x H, even sizes */

/* JPEG of `img` scaled by nearest neighbour to w x h. */
static unsigned char *make_jpeg(const clipsearch_image *img, int w, int h, unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL;
    uint8_t *row = malloc((size_t)w * 3);
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < h; y++) {
        int sy = y * img->height / h;
        for (int x = 0; x < w; x++)
            memcpy(row + 3 * x, img->rgb + ((size_t)sy * img->width + x * img->width / w) * 3, 3);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return buf;
}

static double srgb_to_linear(int v)
{
    double c = v / 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* A DNG: IFD0 = a JPEG preview of pw x ph (NewSubfileType 1), SubIFD = the
 * Bayer mosaic of the photo at full size.  Returns 0 on success. */
static int write_dng(const char *path, int orientation, int pw, int ph)
{
    const int W = photo.width, H = photo.height;
    unsigned long jlen = 0;
    unsigned char *jpeg = make_jpeg(&photo, pw, ph, &jlen);
    TIFF *t = TIFFOpen(path, "w");
    uint16_t *row = malloc(sizeof *row * (size_t)W);
    static const uint8_t dngver[4] = {1, 4, 0, 0};
    static const uint16_t cfadim[2] = {2, 2};
    static const uint8_t cfa[4] = {0, 1, 1, 2}; /* R G / G B */
    /* XYZ (D65) -> camera: the camera is linear sRGB. */
    static const float cm[9] = {3.2404542f, -1.5371385f, -0.4985314f, -0.9692660f, 1.8760108f,
                                0.0415560f,  0.0556434f, -0.2040259f, 1.0572252f};
    static const float neutral[3] = {1, 1, 1};
    uint64_t sub = 0;
    int rc = -1;
    if (!t || !jpeg || !row)
        goto out;
    /* IFD0: the preview, a JPEG in one strip. */
    TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, pw);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, ph);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, ph);
    TIFFSetField(t, TIFFTAG_ORIENTATION, orientation);
    TIFFSetField(t, TIFFTAG_MAKE, "Clipsearch");
    TIFFSetField(t, TIFFTAG_MODEL, "Test DNG");
    TIFFSetField(t, TIFFTAG_DNGVERSION, dngver);
    TIFFSetField(t, TIFFTAG_UNIQUECAMERAMODEL, "Clipsearch Test DNG");
    TIFFSetField(t, TIFFTAG_COLORMATRIX1, 9, cm);
    TIFFSetField(t, TIFFTAG_ASSHOTNEUTRAL, 3, neutral);
    TIFFSetField(t, TIFFTAG_CALIBRATIONILLUMINANT1, 21);
    TIFFSetField(t, TIFFTAG_SUBIFD, 1, &sub);
    if (TIFFWriteRawStrip(t, 0, jpeg, (tmsize_t)jlen) < 0 || !TIFFWriteDirectory(t))
        goto out;
    /* The SubIFD: the CFA data, 16-bit linear. */
    TIFFSetField(t, TIFFTAG_SUBFILETYPE, 0);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, W);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, H);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_CFA);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, H);
    TIFFSetField(t, TIFFTAG_CFAREPEATPATTERNDIM, cfadim);
    TIFFSetField(t, TIFFTAG_CFAPATTERN, 4, cfa);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            int c = cfa[(y & 1) * 2 + (x & 1)];
            double lin = srgb_to_linear(photo.rgb[((size_t)y * W + x) * 3 + c]);
            row[x] = (uint16_t)lrint(lin * 65535.0);
        }
        if (TIFFWriteScanline(t, row, (uint32_t)y, 0) < 0)
            goto out;
    }
    if (!TIFFWriteDirectory(t))
        goto out;
    rc = 0;
out:
    if (t)
        TIFFClose(t);
    free(jpeg);
    free(row);
    return rc;
}

/* Pearson correlation of channel c between a and b (same size). */
static double correlation(const clipsearch_image *a, const clipsearch_image *b, int c)
{
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    size_t n = (size_t)a->width * a->height;
    for (size_t i = 0; i < n; i++) {
        double x = a->rgb[3 * i + c], y = b->rgb[3 * i + c];
        sa += x, sb += y, saa += x * x, sbb += y * y, sab += x * y;
    }
    return (sab - sa * sb / n) / sqrt((saa - sa * sa / n) * (sbb - sb * sb / n) + 1e-9);
}

/* The photo downscaled by 2 (box filter), then oriented as EXIF says. */
static clipsearch_image expected_half(int orientation)
{
    clipsearch_image e = {0, 0, NULL};
    clipsearch_error err;
    int w = photo.width / 2, h = photo.height / 2;
    e.width = w, e.height = h;
    e.rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0;
                for (int k = 0; k < 4; k++)
                    s += photo.rgb[((size_t)(2 * y + k / 2) * photo.width + 2 * x + k % 2) * 3 + c];
                e.rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)(s / 4);
            }
    cs_image_orient(&e, orientation, &err);
    return e;
}

static void check_dng(const char *name, int orientation, int pw, int ph, const char *format)
{
    char path[1200];
    clipsearch_image img = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err = {0, ""};
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    if (write_dng(path, orientation, pw, ph) != 0) {
        CHECK(0, "%s: could not write the DNG", name);
        return;
    }
    if (clipsearch_image_load(path, 0, &img, &info, &err) != CLIPSEARCH_OK) {
        CHECK(0, "%s: %s", name, err.message);
        return;
    }
    CHECK(strcmp(info.format, format) == 0, "%s: format %s, want %s", name, info.format, format);
    CHECK(info.orientation == orientation, "%s: orientation %d, want %d", name, info.orientation,
          orientation);
    CHECK(strstr(info.camera, "Clipsearch") != NULL, "%s: camera '%s'", name, info.camera);
    if (!strcmp(format, "raw-half")) {
        clipsearch_image e = expected_half(orientation);
        CHECK(img.width == e.width && img.height == e.height, "%s: %dx%d, want %dx%d", name,
              img.width, img.height, e.width, e.height);
        if (img.width == e.width && img.height == e.height) {
            for (int c = 0; c < 3; c++) {
                double r = correlation(&img, &e, c);
                printf("%s channel %d: correlation with the photo %.4f\n", name, c, r);
                CHECK(r > 0.97, "%s: channel %d correlation %.4f", name, c, r);
            }
        }
        clipsearch_image_release(&e);
    } else {
        /* The preview, upright: the long side follows the orientation. */
        int swap = orientation >= 5;
        CHECK(img.width == (swap ? ph : pw) && img.height == (swap ? pw : ph),
              "%s: preview %dx%d", name, img.width, img.height);
    }
    printf("%-16s %-11s %dx%d orientation %d camera '%s'\n", name, info.format, img.width,
           img.height, info.orientation, info.camera);
    clipsearch_image_release(&img);
}

static void check_damaged(const char *name)
{
    char path[1200], cut[1300];
    size_t n = 0;
    char *buf;
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    snprintf(cut, sizeof cut, "%s/cut-%s", tu_tmpdir(), name);
    buf = tu_read_file(path, &n);
    if (!buf)
        return;
    {
        const size_t lengths[] = {n / 2, n - 100, 200, 16};
        for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
            clipsearch_image img = {0, 0, NULL};
            clipsearch_error err = {0, ""};
            clipsearch_status st;
            tu_write_file(cut, buf, lengths[k]);
            st = clipsearch_image_load(cut, 0, &img, NULL, &err);
            if (k == 0)
                printf("  %s cut in half: %s\n", name, st ? err.message : "decodes");
            CHECK(st == CLIPSEARCH_OK || (img.rgb == NULL && err.message[0] &&
                                          !strchr(err.message, '\n')),
                  "%s cut to %zu: an error with a one-line message", name, lengths[k]);
            clipsearch_image_release(&img);
        }
    }
    for (int seed = 1; seed <= 12; seed++) {
        char *copy = malloc(n);
        clipsearch_image img = {0, 0, NULL};
        clipsearch_error err = {0, ""};
        memcpy(copy, buf, n);
        srand((unsigned)seed);
        for (int j = 0; j < 8; j++)
            copy[(size_t)rand() % (n < 4096 ? n : 4096)] ^= (char)(1 + rand() % 255);
        tu_write_file(cut, copy, n);
        if (clipsearch_image_load(cut, 0, &img, NULL, &err) == CLIPSEARCH_OK)
            CHECK(img.rgb != NULL && img.width > 0, "%s damaged: empty image", name);
        else
            CHECK(err.message[0] != 0, "%s damaged: no message", name);
        clipsearch_image_release(&img);
        free(copy);
    }
    {
        clipsearch_image img = {0, 0, NULL};
        clipsearch_error err = {0, ""};
        CHECK(clipsearch_image_load(path, 1000, &img, NULL, &err) == CLIPSEARCH_ERR_TOO_LARGE &&
                  strstr(err.message, "pixel budget"),
              "%s: pixel budget: %s", name, err.message);
    }
    free(buf);
}

/* test_image_raw --write-seeds DIR: writes the small DNGs of the fuzz seed
 * corpus (fuzz/corpus/fuzz_raw) instead of testing. */
static int write_seeds(const char *out)
{
    char path[1200];
    clipsearch_image small = {0, 0, NULL};
    small.width = 16, small.height = 12;
    small.rgb = malloc(16 * 12 * 3);
    for (int i = 0; i < 16 * 12 * 3; i++)
        small.rgb[i] = photo.rgb[(size_t)(i / 3 % 16 * 20 + i / 48 * 20 * photo.width) * 3 + i % 3];
    clipsearch_image_release(&photo);
    photo = small;
    snprintf(path, sizeof path, "%s/half6.dng", out);
    if (write_dng(path, 6, 8, 6) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/preview.dng", out);
    return write_dng(path, 1, 16, 12) != 0;
}

/* test_image_raw --write-large PATH: a 6000x4000 DNG (the photo scaled up)
 * with a 1620x1080 JPEG preview, for bench_duplicates --raw. */
static int write_large(const char *path)
{
    clipsearch_image big = {0, 0, NULL};
    big.width = 6000, big.height = 4000;
    big.rgb = malloc((size_t)6000 * 4000 * 3);
    if (!big.rgb)
        return 1;
    for (int y = 0; y < 4000; y++)
        for (int x = 0; x < 6000; x++)
            memcpy(big.rgb + ((size_t)y * 6000 + x) * 3,
                   photo.rgb + ((size_t)(y * photo.height / 4000) * photo.width +
                                x * photo.width / 6000) * 3, 3);
    clipsearch_image_release(&photo);
    photo = big;
    return write_dng(path, 6, 1620, 1080) != 0;
}

int main(int argc, char **argv)
{
    clipsearch_error err;
    tu_require_fixture("images/chelsea_444.jpg");
    if (clipsearch_image_load(tu_fixture("images/chelsea_444.jpg"), 0, &photo, NULL, &err) !=
        CLIPSEARCH_OK) {
        CHECK(0, "fixture: %s", err.message);
        return tu_finish("test_image_raw");
    }
    {
        /* Even sizes for the Bayer quads: drop an odd last row/column. */
        clipsearch_image even = {0, 0, NULL};
        int full = photo.width, w = photo.width & ~1, h = photo.height & ~1;
        even.width = w, even.height = h;
        even.rgb = malloc((size_t)w * h * 3);
        for (int y = 0; y < h; y++)
            memcpy(even.rgb + (size_t)y * w * 3, photo.rgb + (size_t)y * full * 3, (size_t)w * 3);
        free(photo.rgb);
        photo = even;
    }
    if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
        return write_seeds(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--write-large"))
        return write_large(argv[2]);
    check_dng("half.dng", 1, 160, 120, "raw-half");
    check_dng("half6.dng", 6, 160, 120, "raw-half");
    check_dng("half8.dng", 8, 160, 120, "raw-half");
    check_dng("half3.dng", 3, 160, 120, "raw-half");
    check_dng("preview6.dng", 6, 600, 450, "raw-preview");
    check_dng("preview.dng", 1, 640, 480, "raw-preview");
    check_damaged("half.dng");
    check_damaged("preview.dng");
    clipsearch_image_release(&photo);
    return tu_finish("test_image_raw");
}
