/* test_image_more_formats.c — TIFF, GIF, BMP, AVIF and JPEG XL files made
 * inside the test (ImageMagick's `convert`, libtiff's tiffcp/tiffset,
 * avifenc/avifdec, cjxl/djxl), each decoded and compared with Pillow's
 * pixels (exif_transpose + convert("RGB"), tests/pil_rgb.py) within one
 * 8-bit level.  Where Pillow does not read the format (AVIF, JPEG XL) the
 * reference is the format library's own decoder (avifdec/djxl to PNG, then
 * Pillow).  PNGs whose orientation is only in XMP or in ImageMagick's raw
 * EXIF profile, and a palette shorter than its indices.  Then truncated and damaged copies of every file: an error
 * (never a crash), and the pixel budget from each header.
 *
 * A case whose tool is missing is reported and skipped; when none can be
 * made, or Pillow is absent, the test exits 77. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clipsearch.h"
#include "testutil.h"

static const char *dir;
static char src_png[1024];
static int made, compared;

static int have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* Runs a shell command in the scratch folder (quiet); 0 on success. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096], full[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "cd '%s' && (%s) >/dev/null 2>&1", dir, cmd);
    return system(full);
}

static uint8_t *read_ppm(const char *path, int *w, int *h)
{
    size_t n = 0;
    char *buf = tu_read_file(path, &n);
    int maxv = 0, off = 0;
    uint8_t *rgb;
    if (!buf)
        return NULL;
    if (sscanf(buf, "P6 %d %d %d%n", w, h, &maxv, &off) != 3 || maxv != 255 ||
        (size_t)off + 1 + (size_t)*w * *h * 3 > n) {
        free(buf);
        return NULL;
    }
    rgb = malloc((size_t)*w * *h * 3);
    memcpy(rgb, buf + off + 1, (size_t)*w * *h * 3);
    free(buf);
    return rgb;
}

/* Decodes dir/file and compares it with the reference made from dir/ref
 * (a file Pillow reads) with Pillow; `format` is the expected info.format. */
static void compare(const char *file, const char *ref, const char *format, int transpose,
                    int tolerance)
{
    char path[1200], refpath[1200], ppm[1200], cmd[4000];
    clipsearch_image img = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err = {0, ""};
    int w = 0, h = 0, maxd = 0;
    size_t bad = 0;
    uint8_t *want;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(refpath, sizeof refpath, "%s/%s", dir, ref);
    snprintf(ppm, sizeof ppm, "%s/%s.ppm", dir, file);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/pil_rgb.py' '%s' '%s'",
             CLIPSEARCH_SOURCE_DIR, refpath, ppm);
    if (transpose >= 0)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " --transpose %d", transpose);
    if (system(cmd) != 0) {
        CHECK(0, "%s: Pillow could not make the reference from %s", file, ref);
        return;
    }
    want = read_ppm(ppm, &w, &h);
    CHECK(want != NULL, "%s: reference PPM unreadable", file);
    if (clipsearch_image_load(path, 0, &img, &info, &err) != CLIPSEARCH_OK) {
        CHECK(0, "%s: %s", file, err.message);
        free(want);
        return;
    }
    CHECK(strcmp(info.format, format) == 0, "%s: format %s, want %s", file, info.format, format);
    CHECK(img.width == w && img.height == h, "%s: %dx%d, Pillow %dx%d", file, img.width,
          img.height, w, h);
    CHECK(info.width == img.width && info.height == img.height, "%s: info %dx%d", file,
          info.width, info.height);
    if (want && img.width == w && img.height == h) {
        for (size_t i = 0; i < (size_t)w * h * 3; i++) {
            int d = abs(img.rgb[i] - want[i]);
            bad += d > tolerance;
            if (d > maxd)
                maxd = d;
        }
        CHECK(bad == 0, "%s: %zu samples differ from the reference by more than %d (max %d)",
              file, bad, tolerance, maxd);
    }
    printf("%-22s %-5s %4dx%-4d orientation %d, max difference %d\n", file, info.format,
           img.width, img.height, info.orientation, maxd);
    compared++;
    clipsearch_image_release(&img);
    free(want);
}

/* Truncated and damaged copies: an error or an image, never a crash; a copy
 * cut in half must be an error that says the data ends or is damaged. */
static void damage(const char *file)
{
    char path[1200], cut[1300];
    size_t n = 0;
    char *buf;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    buf = tu_read_file(path, &n);
    if (!buf)
        return;
    snprintf(cut, sizeof cut, "%s/cut-%s", dir, file);
    {
        const size_t lengths[] = {n / 2, n * 3 / 4, 40, 12, 6};
        for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
            clipsearch_image img = {0, 0, NULL};
            clipsearch_error err = {0, ""};
            clipsearch_status st;
            tu_write_file(cut, buf, lengths[k]);
            st = clipsearch_image_load(cut, 0, &img, NULL, &err);
            if (k == 0) {
                CHECK(st != CLIPSEARCH_OK, "%s cut to %zu bytes decodes", file, lengths[k]);
                printf("  %s cut in half: %s\n", file, err.message);
                CHECK(strchr(err.message, '\n') == NULL, "%s: one-line message", file);
            }
            CHECK(st == CLIPSEARCH_OK || (img.rgb == NULL && err.message[0]),
                  "%s cut: an error with a message", file);
            clipsearch_image_release(&img);
        }
    }
    /* Bytes flipped through the middle of the file. */
    for (int seed = 1; seed <= 8; seed++) {
        char *copy = malloc(n);
        clipsearch_image img = {0, 0, NULL};
        clipsearch_error err = {0, ""};
        memcpy(copy, buf, n);
        srand((unsigned)seed);
        for (int j = 0; j < 16; j++)
            copy[(size_t)rand() % n] ^= (char)(1 + rand() % 255);
        tu_write_file(cut, copy, n);
        if (clipsearch_image_load(cut, 0, &img, NULL, &err) == CLIPSEARCH_OK)
            CHECK(img.width > 0 && img.rgb != NULL, "%s damaged: empty image", file);
        else
            CHECK(err.message[0] != 0, "%s damaged: error without message", file);
        clipsearch_image_release(&img);
        free(copy);
    }
    free(buf);
}

static void budget(const char *file)
{
    char path[1200];
    clipsearch_image img = {0, 0, NULL};
    clipsearch_error err = {0, ""};
    snprintf(path, sizeof path, "%s/%s", dir, file);
    CHECK(clipsearch_image_load(path, 100, &img, NULL, &err) == CLIPSEARCH_ERR_TOO_LARGE,
          "%s: budget of 100 pixels: %s", file, err.message);
    CHECK(strstr(err.message, "pixel budget") != NULL, "%s: budget message: %s", file,
          err.message);
}

static int make(const char *what, const char *cmd)
{
    if (sh("%s", cmd) != 0) {
        printf("SKIP case %s: `%s` failed\n", what, cmd);
        return 0;
    }
    made++;
    return 1;
}

static void test_tiff(void)
{
    if (!have("convert") || !have("tiffcp") || !have("tiffset")) {
        printf("SKIP TIFF: ImageMagick or libtiff-tools missing\n");
        return;
    }
    if (make("tiff rgb", "convert src.png -compress none rgb.tif"))
        compare("rgb.tif", "rgb.tif", "tiff", -1, 0), damage("rgb.tif"), budget("rgb.tif");
    if (make("tiff lzw 16-bit", "convert src.png -depth 16 -compress lzw rgb16.tif"))
        compare("rgb16.tif", "rgb16.tif", "tiff", -1, 0), damage("rgb16.tif");
    if (make("tiff gray", "convert src.png -colorspace gray -compress zip gray.tif"))
        compare("gray.tif", "gray.tif", "tiff", -1, 0), damage("gray.tif");
    if (make("tiff bilevel", "convert src.png -monochrome -compress group4 bw.tif"))
        compare("bw.tif", "bw.tif", "tiff", -1, 0);
    if (make("tiff palette", "convert src.png -colors 200 -type palette pal.tif"))
        compare("pal.tif", "pal.tif", "tiff", -1, 0), damage("pal.tif");
    if (make("tiff alpha", "convert src.png -alpha set -channel A -fx 'i/w' +channel "
                           "-define tiff:alpha=unassociated rgba.tif"))
        compare("rgba.tif", "rgba.tif", "tiff", -1, 0);
    if (make("tiff tiled", "tiffcp -t -w 16 -l 16 rgb.tif tiled.tif"))
        compare("tiled.tif", "tiled.tif", "tiff", -1, 0), damage("tiled.tif");
    if (make("tiff multi-page", "tiffcp rgb.tif gray.tif multi.tif"))
        compare("multi.tif", "rgb.tif", "tiff", -1, 0);
    if (make("tiff orientation 6", "cp rgb.tif rot6.tif && tiffset -s 274 6 rot6.tif"))
        compare("rot6.tif", "rot6.tif", "tiff", -1, 0);
    if (make("tiff orientation 3", "cp pal.tif rot3.tif && tiffset -s 274 3 rot3.tif"))
        compare("rot3.tif", "rot3.tif", "tiff", -1, 0);
    /* YCbCr JPEG-in-TIFF goes through libtiff's RGBA path; libtiff and
     * Pillow both use libjpeg, so upsampling may round differently. */
    if (make("tiff jpeg", "convert src.png -compress jpeg -quality 90 jpeg.tif"))
        compare("jpeg.tif", "jpeg.tif", "tiff", -1, 1), damage("jpeg.tif");
}

static void test_gif(void)
{
    if (!have("convert")) {
        printf("SKIP GIF: ImageMagick missing\n");
        return;
    }
    if (make("gif", "convert src.png -colors 128 plain.gif"))
        compare("plain.gif", "plain.gif", "gif", -1, 0), damage("plain.gif"), budget("plain.gif");
    if (make("gif interlaced", "convert src.png -interlace GIF interlaced.gif"))
        compare("interlaced.gif", "interlaced.gif", "gif", -1, 0), damage("interlaced.gif");
    if (make("gif transparent", "convert src.png -fuzz 20% -transparent white trans.gif"))
        compare("trans.gif", "trans.gif", "gif", -1, 0);
    /* The first frame of an animation, smaller than the screen. */
    if (make("gif animation",
             "convert -dispose none -delay 10 src.png \\( src.png -crop 40x30+10+10 \\) "
             "-colors 64 anim.gif && convert 'anim.gif[0]' -crop 40x30+5+5 -colors 32 "
             "small.gif && convert -size 120x100 xc:none \\( small.gif -repage +7+9 \\) "
             "\\( src.png -resize 50% \\) -delete 0 -colors 64 anim2.gif"))
        compare("anim.gif", "anim.gif", "gif", -1, 0), compare("anim2.gif", "anim2.gif", "gif", -1, 0);
}

static void test_bmp(void)
{
    if (!have("convert")) {
        printf("SKIP BMP: ImageMagick missing\n");
        return;
    }
    if (make("bmp 24-bit", "convert src.png BMP3:b24.bmp"))
        compare("b24.bmp", "b24.bmp", "bmp", -1, 0), damage("b24.bmp"), budget("b24.bmp");
    if (make("bmp 8-bit", "convert src.png -colors 100 -type palette BMP3:b8.bmp"))
        compare("b8.bmp", "b8.bmp", "bmp", -1, 0), damage("b8.bmp");
    if (make("bmp 4-bit", "convert src.png -colors 16 -type palette -define bmp:format=bmp3 "
                          "-depth 4 BMP3:b4.bmp"))
        compare("b4.bmp", "b4.bmp", "bmp", -1, 0);
    if (make("bmp 1-bit", "convert src.png -monochrome BMP3:b1.bmp"))
        compare("b1.bmp", "b1.bmp", "bmp", -1, 0);
    if (make("bmp 32-bit", "convert src.png -alpha set BMP:b32.bmp"))
        compare("b32.bmp", "b32.bmp", "bmp", -1, 0), damage("b32.bmp");
    if (make("bmp 16-bit", "convert src.png -define bmp:subtype=RGB565 BMP:b16.bmp"))
        compare("b16.bmp", "b16.bmp", "bmp", -1, 0);
    /* Top-down rows: the height negated, the rows reversed. */
    {
        char path[1200];
        size_t n = 0;
        uint8_t *b;
        snprintf(path, sizeof path, "%s/b24.bmp", dir);
        b = (uint8_t *)tu_read_file(path, &n);
        if (b && n > 54) {
            uint32_t off = b[10] | b[11] << 8 | b[12] << 16 | (uint32_t)b[13] << 24;
            int32_t w = (int32_t)(b[18] | b[19] << 8 | b[20] << 16 | (uint32_t)b[21] << 24);
            int32_t h = (int32_t)(b[22] | b[23] << 8 | b[24] << 16 | (uint32_t)b[25] << 24);
            size_t row = ((size_t)w * 24 + 31) / 32 * 4;
            uint32_t nh = (uint32_t)-h;
            uint8_t *copy = malloc(n);
            memcpy(copy, b, n);
            for (int y = 0; y < h; y++)
                memcpy(copy + off + (size_t)y * row, b + off + (size_t)(h - 1 - y) * row, row);
            copy[22] = (uint8_t)nh, copy[23] = (uint8_t)(nh >> 8), copy[24] = (uint8_t)(nh >> 16),
            copy[25] = (uint8_t)(nh >> 24);
            snprintf(path, sizeof path, "%s/topdown.bmp", dir);
            tu_write_file(path, copy, n);
            free(copy);
            made++;
            compare("topdown.bmp", "topdown.bmp", "bmp", -1, 0);
        }
        free(b);
    }
}

static void test_avif(void)
{
    if (!have("avifenc") || !have("avifdec")) {
        printf("SKIP AVIF: libavif-bin missing\n");
        return;
    }
    if (make("avif", "avifenc -s 10 --min 20 --max 30 src.png lossy.avif && avifdec -d 8 lossy.avif "
                     "lossy-ref.png"))
        compare("lossy.avif", "lossy-ref.png", "avif", -1, 0), damage("lossy.avif"),
            budget("lossy.avif");
    if (make("avif 10-bit alpha", "convert src.png -alpha set -channel A -fx 'j/h' +channel "
                                  "srca.png && avifenc -s 10 -d 10 srca.png a10.avif && "
                                  "avifdec -d 8 a10.avif a10-ref.png"))
        compare("a10.avif", "a10-ref.png", "avif", -1, 1), damage("a10.avif");
    /* irot 1 (a quarter turn anticlockwise): Pillow's ROTATE_90 (2). */
    if (make("avif irot", "avifenc -s 10 --irot 1 src.png rot.avif && avifdec -d 8 rot.avif "
                          "rot-ref.png"))
        compare("rot.avif", "rot-ref.png", "avif", 2, 0);
    /* imir 1 (left and right exchanged): FLIP_LEFT_RIGHT (0). */
    if (make("avif imir", "avifenc -s 10 --imir 1 src.png mir.avif && avifdec -d 8 mir.avif "
                          "mir-ref.png"))
        compare("mir.avif", "mir-ref.png", "avif", 0, 0);
}

static void test_jxl(void)
{
    if (!have("cjxl") || !have("djxl")) {
        printf("SKIP JPEG XL: libjxl-tools missing\n");
        return;
    }
    if (make("jxl lossless", "cjxl -d 0 src.png lossless.jxl"))
        compare("lossless.jxl", "src.png", "jxl", -1, 0), damage("lossless.jxl"),
            budget("lossless.jxl");
    if (make("jxl lossy", "cjxl -d 1.5 src.png lossy.jxl && djxl lossy.jxl lossy-jxl-ref.png"))
        compare("lossy.jxl", "lossy-jxl-ref.png", "jxl", -1, 1), damage("lossy.jxl");
    if (make("jxl gray", "convert src.png -colorspace gray gray.png && cjxl -d 0 gray.png "
                         "gray.jxl"))
        compare("gray.jxl", "gray.png", "jxl", -1, 0);
}

/* Where Pillow finds a PNG's orientation outside eXIf, and palette indices
 * past PLTE (tests/make_png_cases.py writes the files). */
static void test_png_like_pillow(void)
{
    char cmd[2400];
    static const char *const files[] = {"xmp6.png", "xmp_attr8.png", "rawexif3.png",
                                        "palette_short.png"};
    static const int orientation[] = {6, 8, 3, 1};
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/make_png_cases.py' src.png .",
             CLIPSEARCH_SOURCE_DIR);
    if (!make("png cases", cmd))
        return;
    made += 3;
    for (int i = 0; i < 4; i++) {
        char path[1200];
        clipsearch_image img = {0, 0, NULL};
        clipsearch_image_info info;
        clipsearch_error err = {0, ""};
        compare(files[i], files[i], "png", -1, 0);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (clipsearch_image_load(path, 0, &img, &info, &err) == CLIPSEARCH_OK)
            CHECK(info.orientation == orientation[i], "%s: orientation %d, want %d", files[i],
                  info.orientation, orientation[i]);
        clipsearch_image_release(&img);
    }
    damage("xmp_attr8.png");
}

int main(void)
{
    struct stat sb;
    tu_require_fixture("images/chelsea_444.jpg");
    if (stat("/usr/bin/python3", &sb) != 0 ||
        system("/usr/bin/python3 -c 'import PIL' >/dev/null 2>&1") != 0) {
        printf("SKIP: /usr/bin/python3 with Pillow (python3-pil) is needed for the reference\n");
        return 77;
    }
    if (!have("convert")) {
        printf("SKIP: ImageMagick's convert is needed to make the test files\n");
        return 77;
    }
    dir = tu_tmpdir();
    snprintf(src_png, sizeof src_png, "%s/src.png", dir);
    /* A small photograph (odd size, so rows are padded in BMP). */
    if (sh("convert '%s' -resize 97x65! src.png", tu_fixture("images/chelsea_444.jpg")) != 0) {
        printf("SKIP: convert could not make the source image\n");
        return 77;
    }
    test_png_like_pillow();
    test_tiff();
    test_gif();
    test_bmp();
    test_avif();
    test_jxl();
    printf("%d files made, %d compared\n", made, compared);
    if (made == 0) {
        printf("SKIP: no test file could be made\n");
        return 77;
    }
    return tu_finish("test_image_more_formats");
}
