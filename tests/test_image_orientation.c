/* test_image_orientation.c — all 8 EXIF orientations, and the capture date
 * and camera read from EXIF, on JPEGs written during the test with an APP1
 * segment built here (both TIFF byte orders).  Also the EXIF of PNG (eXIf)
 * and WebP (RIFF "EXIF" chunk). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#include "clipsearch.h"
#include "testutil.h"

#define W 40
#define H 24

/* ---- a minimal EXIF writer ------------------------------------------------ */

typedef struct blob {
    uint8_t b[512];
    size_t n;
    int be;
} blob;

static void put16(blob *x, size_t at, unsigned v)
{
    x->b[at + (x->be ? 0 : 1)] = (uint8_t)(v >> 8);
    x->b[at + (x->be ? 1 : 0)] = (uint8_t)v;
}

static void put32(blob *x, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        x->b[at + (x->be ? (size_t)i : 3 - (size_t)i)] = (uint8_t)(v >> (24 - 8 * i));
}

static void entry(blob *x, size_t at, unsigned tag, unsigned type, uint32_t count, uint32_t value)
{
    put16(x, at, tag);
    put16(x, at + 2, type);
    put32(x, at + 4, count);
    if (type == 3 && count == 1) {
        put32(x, at + 8, 0);
        put16(x, at + 8, value);
    } else {
        put32(x, at + 8, value);
    }
}

/* "Exif\0\0" + TIFF: IFD0 {Make, Model, Orientation, ExifIFD}, Exif IFD
 * {DateTimeOriginal}; offsets are relative to the TIFF header. */
static size_t build_exif(uint8_t *out, int be, int orientation, const char *make,
                         const char *model, const char *date)
{
    blob x;
    size_t t = 6, data = 80;
    size_t lm = strlen(make) + 1, lo = strlen(model) + 1, ld = strlen(date) + 1;
    memset(&x, 0, sizeof x);
    x.be = be;
    memcpy(x.b, "Exif\0\0", 6);
    memcpy(x.b + t, be ? "MM\0*" : "II*\0", 4);
    put32(&x, t + 4, 8);
    put16(&x, t + 8, 4);
    entry(&x, t + 10, 0x010F, 2, (uint32_t)lm, (uint32_t)data);
    entry(&x, t + 22, 0x0110, 2, (uint32_t)lo, (uint32_t)(data + lm));
    entry(&x, t + 34, 0x0112, 3, 1, (uint32_t)orientation);
    entry(&x, t + 46, 0x8769, 4, 1, 62);
    put32(&x, t + 58, 0);
    put16(&x, t + 62, 1);
    entry(&x, t + 64, 0x9003, 2, (uint32_t)ld, (uint32_t)(data + lm + lo));
    put32(&x, t + 76, 0);
    memcpy(x.b + t + data, make, lm);
    memcpy(x.b + t + data + lm, model, lo);
    memcpy(x.b + t + data + lm + lo, date, ld);
    x.n = t + data + lm + lo + ld;
    memcpy(out, x.b, x.n);
    return x.n;
}

/* ---- test images ------------------------------------------------------------ */

static void make_pattern(uint8_t *rgb)
{
    /* Smooth but asymmetric in both axes, so every flip shows. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + (y * W + x) * 3;
            p[0] = (uint8_t)(x * 6);
            p[1] = (uint8_t)(y * 10);
            p[2] = (uint8_t)(x < W / 4 && y < H / 3 ? 250 : 30);
        }
}

static unsigned char *write_jpeg(const uint8_t *rgb, const uint8_t *app1, size_t app1_len,
                                 unsigned long *size)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, size);
    c.image_width = W;
    c.image_height = H;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (app1)
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned)app1_len);
    while (c.next_scanline < H) {
        JSAMPROW row = (JSAMPROW)(rgb + c.next_scanline * W * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return buf;
}

/* Where stored pixel (x, y) lands in the upright image, per the EXIF
 * definition of each value (row 0 / column 0 placement). */
static void forward(int o, int x, int y, int *u, int *v)
{
    switch (o) {
    case 1: *u = x; *v = y; break;
    case 2: *u = W - 1 - x; *v = y; break;
    case 3: *u = W - 1 - x; *v = H - 1 - y; break;
    case 4: *u = x; *v = H - 1 - y; break;
    case 5: *u = y; *v = x; break;
    case 6: *u = H - 1 - y; *v = x; break;
    case 7: *u = H - 1 - y; *v = W - 1 - x; break;
    default: *u = y; *v = W - 1 - x; break; /* 8 */
    }
}

static void test_jpeg_orientations(void)
{
    uint8_t rgb[W * H * 3], app1[512];
    clipsearch_image base = {0, 0, NULL};
    clipsearch_error err = {0, ""};
    clipsearch_image_info info;
    unsigned long size = 0;
    unsigned char *jpg;

    make_pattern(rgb);
    jpg = write_jpeg(rgb, NULL, 0, &size);
    CHECK(clipsearch_image_load_memory(jpg, size, 0, &base, &info, &err) == CLIPSEARCH_OK,
          "plain JPEG: %s", err.message);
    CHECK(info.orientation == 1 && info.taken[0] == '\0' && info.camera[0] == '\0',
          "no EXIF: orientation %d taken '%s' camera '%s'", info.orientation, info.taken,
          info.camera);
    free(jpg);

    for (int o = 1; o <= 8; o++) {
        for (int be = 0; be <= 1; be++) {
            clipsearch_image img = {0, 0, NULL};
            size_t n = build_exif(app1, be, o, "Canon", "Canon EOS 5D", "2021:07:04 18:30:05");
            int swap = o >= 5, bad = 0;
            char path[600];
            jpg = write_jpeg(rgb, app1, n, &size);
            /* Through a file named .png: the format comes from the bytes. */
            snprintf(path, sizeof path, "%s/o%d_%d.png", tu_tmpdir(), o, be);
            CHECK(tu_write_file(path, jpg, size) == 0, "write %s", path);
            free(jpg);
            memset(&info, 0, sizeof info);
            if (clipsearch_image_load(path, 0, &img, &info, &err) != CLIPSEARCH_OK) {
                CHECK(0, "orientation %d: %s", o, err.message);
                continue;
            }
            CHECK(strcmp(info.format, "jpeg") == 0, "format %s", info.format);
            CHECK(info.orientation == o, "orientation %d read as %d", o, info.orientation);
            CHECK(info.stored_width == W && info.stored_height == H, "stored size");
            CHECK(img.width == (swap ? H : W) && img.height == (swap ? W : H),
                  "orientation %d: upright %dx%d", o, img.width, img.height);
            CHECK(info.width == img.width && info.height == img.height, "info size");
            CHECK(strcmp(info.taken, "2021-07-04 18:30:05") == 0, "taken '%s'", info.taken);
            CHECK(strcmp(info.camera, "Canon EOS 5D") == 0, "camera '%s'", info.camera);
            for (int y = 0; y < H && !bad && img.rgb; y++)
                for (int x = 0; x < W && !bad; x++) {
                    int u, v;
                    forward(o, x, y, &u, &v);
                    if (memcmp(base.rgb + (y * W + x) * 3, img.rgb + (v * img.width + u) * 3, 3))
                        bad = 1;
                }
            CHECK(!bad, "orientation %d (%s-endian): pixels not where EXIF puts them", o,
                  be ? "big" : "little");
            clipsearch_image_release(&img);
        }
    }

    /* Out-of-range orientation is ignored; Make not repeated in Model. */
    {
        clipsearch_image img = {0, 0, NULL};
        size_t n = build_exif(app1, 0, 9, "NIKON", "D750", "0000:00:00 00:00:00");
        jpg = write_jpeg(rgb, app1, n, &size);
        CHECK(clipsearch_image_load_memory(jpg, size, 0, &img, &info, &err) == CLIPSEARCH_OK,
              "%s", err.message);
        CHECK(info.orientation == 1, "orientation 9 -> %d", info.orientation);
        CHECK(img.width == W && img.height == H, "unrotated");
        CHECK(strcmp(info.camera, "NIKON D750") == 0, "camera '%s'", info.camera);
        CHECK(info.taken[0] == '\0', "zero date ignored: '%s'", info.taken);
        clipsearch_image_release(&img);
        free(jpg);
    }
    clipsearch_image_release(&base);
}

/* ---- PNG eXIf and WebP EXIF ---------------------------------------------- */

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static void png_write_mem(png_structp png, png_bytep data, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, data, n);
    m->n += n;
}

static void png_flush_mem(png_structp png) { (void)png; }

static void test_png_exif(const uint8_t *rgb)
{
    uint8_t app1[512];
    size_t n = build_exif(app1, 1, 6, "Apple", "iPhone 12", "2020:01:02 03:04:05");
    membuf m = {NULL, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop pi = png_create_info_struct(png);
    clipsearch_image img = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err = {0, ""};
    if (setjmp(png_jmpbuf(png))) {
        CHECK(0, "libpng write failed");
        return;
    }
    png_set_write_fn(png, &m, png_write_mem, png_flush_mem);
    png_set_IHDR(png, pi, W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* eXIf holds the TIFF structure without the "Exif\0\0" prefix. */
    png_set_eXIf_1(png, pi, (png_uint_32)(n - 6), app1 + 6);
    png_write_info(png, pi);
    for (int y = 0; y < H; y++)
        png_write_row(png, rgb + y * W * 3);
    png_write_end(png, pi);
    png_destroy_write_struct(&png, &pi);

    CHECK(clipsearch_image_load_memory(m.p, m.n, 0, &img, &info, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    CHECK(info.orientation == 6 && img.width == H && img.height == W,
          "PNG eXIf orientation %d, %dx%d", info.orientation, img.width, img.height);
    CHECK(strcmp(info.camera, "Apple iPhone 12") == 0, "PNG camera '%s'", info.camera);
    CHECK(strcmp(info.taken, "2020-01-02 03:04:05") == 0, "PNG taken '%s'", info.taken);
    /* Lossless, so the pixels are exactly the pattern rotated. */
    if (img.rgb && img.width == H) {
        int bad = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int u, v;
                forward(6, x, y, &u, &v);
                bad |= memcmp(rgb + (y * W + x) * 3, img.rgb + (v * img.width + u) * 3, 3) != 0;
            }
        CHECK(!bad, "PNG orientation 6 pixels");
    }
    clipsearch_image_release(&img);
    free(m.p);
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_webp_exif(const uint8_t *rgb)
{
    uint8_t app1[512], *out = NULL, *file = NULL;
    size_t n = build_exif(app1, 0, 8, "Google", "Pixel 7", "2023:11:30 23:59:59");
    size_t exif_len = n - 6, vp8l_len, total;
    size_t enc = WebPEncodeLosslessRGB(rgb, W, H, W * 3, &out);
    clipsearch_image img = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err = {0, ""};
    CHECK(enc > 12, "WebP encode");
    if (enc <= 12)
        return;
    /* Re-wrap as an extended (VP8X) file: VP8X, the VP8L chunk, EXIF. */
    vp8l_len = enc - 12;
    total = 12 + 18 + vp8l_len + 8 + exif_len + (exif_len & 1);
    file = calloc(1, total);
    memcpy(file, "RIFF", 4);
    le32(file + 4, (uint32_t)(total - 8));
    memcpy(file + 8, "WEBP", 4);
    memcpy(file + 12, "VP8X", 4);
    le32(file + 16, 10);
    file[20] = 0x08; /* EXIF flag */
    file[24] = (uint8_t)((W - 1) & 0xFF);
    file[25] = (uint8_t)((W - 1) >> 8);
    file[27] = (uint8_t)((H - 1) & 0xFF);
    file[28] = (uint8_t)((H - 1) >> 8);
    memcpy(file + 30, out + 12, vp8l_len);
    memcpy(file + 30 + vp8l_len, "EXIF", 4);
    le32(file + 34 + vp8l_len, (uint32_t)exif_len);
    memcpy(file + 38 + vp8l_len, app1 + 6, exif_len);
    WebPFree(out);

    CHECK(clipsearch_image_load_memory(file, total, 0, &img, &info, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    CHECK(strcmp(info.format, "webp") == 0, "format %s", info.format);
    CHECK(info.orientation == 8 && img.width == H && img.height == W,
          "WebP EXIF orientation %d, %dx%d", info.orientation, img.width, img.height);
    CHECK(strcmp(info.camera, "Google Pixel 7") == 0, "WebP camera '%s'", info.camera);
    CHECK(strcmp(info.taken, "2023-11-30 23:59:59") == 0, "WebP taken '%s'", info.taken);
    if (img.rgb && img.width == H) {
        int bad = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int u, v;
                forward(8, x, y, &u, &v);
                bad |= memcmp(rgb + (y * W + x) * 3, img.rgb + (v * img.width + u) * 3, 3) != 0;
            }
        CHECK(!bad, "WebP orientation 8 pixels");
    }
    clipsearch_image_release(&img);
    free(file);
}

int main(void)
{
    uint8_t rgb[W * H * 3];
    make_pattern(rgb);
    test_jpeg_orientations();
    test_png_exif(rgb);
    test_webp_exif(rgb);
    return tu_finish("test_image_orientation");
}
