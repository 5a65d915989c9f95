/* test_image_formats.c — PNG colour types (16-bit, gray+alpha, palette with
 * tRNS, 1-bit gray, interlaced RGBA, RGB with tRNS), WebP with alpha (lossless
 * and lossy), format sniffing by content, and the pixel budget for JPEG, PNG
 * and WebP headers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <webp/decode.h>
#include <webp/encode.h>
#include <zlib.h>

#include "clipsearch.h"
#include "testutil.h"

#define W 37
#define H 23

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

/* Writes a PNG from raw rows (rowbytes each) into m. */
static int write_png(membuf *m, int color, int depth, int interlace, const uint8_t *raw,
                     size_t rowbytes, const png_color *palette, int npal, const uint8_t *trans,
                     int ntrans, const png_color_16 *trans_color)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop pi = png_create_info_struct(png);
    png_bytep rows[H];
    memset(m, 0, sizeof *m);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &pi);
        return -1;
    }
    png_set_write_fn(png, m, png_write_mem, png_flush_mem);
    png_set_IHDR(png, pi, W, H, depth, color, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, pi, palette, npal);
    if (trans || trans_color)
        png_set_tRNS(png, pi, trans, ntrans, trans_color);
    for (int y = 0; y < H; y++)
        rows[y] = (png_bytep)(raw + (size_t)y * rowbytes);
    png_set_rows(png, pi, rows);
    png_write_png(png, pi, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &pi);
    return 0;
}

static void check_png(const char *what, const membuf *m, const uint8_t *expect)
{
    clipsearch_image img = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err = {0, ""};
    if (clipsearch_image_load_memory(m->p, m->n, 0, &img, &info, &err) != CLIPSEARCH_OK) {
        CHECK(0, "%s: %s", what, err.message);
        return;
    }
    CHECK(strcmp(info.format, "png") == 0 && img.width == W && img.height == H, "%s: %s %dx%d",
          what, info.format, img.width, img.height);
    if (img.width == W && img.height == H) {
        size_t bad = 0;
        for (size_t i = 0; i < (size_t)W * H * 3; i++)
            bad += img.rgb[i] != expect[i];
        CHECK(bad == 0, "%s: %zu samples differ from Pillow's convert(\"RGB\")", what, bad);
    }
    clipsearch_image_release(&img);
}

static uint16_t sample16(int x, int y, int c) { return (uint16_t)(x * 1709 + y * 2311 + c * 7919); }
static uint8_t sample8(int x, int y, int c) { return (uint8_t)(x * 7 + y * 11 + c * 50); }

static void test_png_variants(void)
{
    static uint8_t raw[W * H * 8], expect[W * H * 3];
    membuf m;

    /* RGB 16-bit: Pillow keeps the high byte of each sample. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                uint16_t v = sample16(x, y, c);
                raw[(y * W + x) * 6 + c * 2] = (uint8_t)(v >> 8);
                raw[(y * W + x) * 6 + c * 2 + 1] = (uint8_t)v;
                expect[(y * W + x) * 3 + c] = (uint8_t)(v >> 8);
            }
    CHECK(write_png(&m, PNG_COLOR_TYPE_RGB, 16, 0, raw, W * 6, NULL, 0, NULL, 0, NULL) == 0, "w");
    check_png("RGB 16-bit", &m, expect);
    free(m.p);

    /* RGBA 16-bit, interlaced: alpha dropped, high byte. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 4; c++) {
                uint16_t v = c == 3 ? (uint16_t)(x * 1000) : sample16(x, y, c);
                raw[(y * W + x) * 8 + c * 2] = (uint8_t)(v >> 8);
                raw[(y * W + x) * 8 + c * 2 + 1] = (uint8_t)v;
                if (c < 3)
                    expect[(y * W + x) * 3 + c] = (uint8_t)(v >> 8);
            }
    CHECK(write_png(&m, PNG_COLOR_TYPE_RGBA, 16, 1, raw, W * 8, NULL, 0, NULL, 0, NULL) == 0, "w");
    check_png("RGBA 16-bit interlaced", &m, expect);
    free(m.p);

    /* Gray + alpha 8-bit: gray replicated, alpha dropped (not composited). */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t g = sample8(x, y, 0);
            raw[(y * W + x) * 2] = g;
            raw[(y * W + x) * 2 + 1] = (uint8_t)(x * 7); /* includes fully transparent */
            memset(expect + (y * W + x) * 3, g, 3);
        }
    CHECK(write_png(&m, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, raw, W * 2, NULL, 0, NULL, 0, NULL) == 0,
          "w");
    check_png("gray+alpha 8-bit", &m, expect);
    free(m.p);

    /* Gray + alpha 16-bit. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint16_t g = sample16(x, y, 0);
            raw[(y * W + x) * 4] = (uint8_t)(g >> 8);
            raw[(y * W + x) * 4 + 1] = (uint8_t)g;
            raw[(y * W + x) * 4 + 2] = (uint8_t)y;
            raw[(y * W + x) * 4 + 3] = 0;
            memset(expect + (y * W + x) * 3, g >> 8, 3);
        }
    CHECK(write_png(&m, PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, raw, W * 4, NULL, 0, NULL, 0, NULL) == 0,
          "w");
    check_png("gray+alpha 16-bit", &m, expect);
    free(m.p);

    /* Palette (8-bit indices) with tRNS: the palette colour, alpha dropped. */
    {
        png_color pal[200];
        uint8_t trans[200];
        for (int i = 0; i < 200; i++) {
            pal[i].red = (png_byte)(i * 3);
            pal[i].green = (png_byte)(255 - i);
            pal[i].blue = (png_byte)(i * 7);
            trans[i] = (uint8_t)(i % 3 == 0 ? 0 : i);
        }
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int idx = (x * 5 + y * 3) % 200;
                raw[y * W + x] = (uint8_t)idx;
                expect[(y * W + x) * 3] = pal[idx].red;
                expect[(y * W + x) * 3 + 1] = pal[idx].green;
                expect[(y * W + x) * 3 + 2] = pal[idx].blue;
            }
        CHECK(write_png(&m, PNG_COLOR_TYPE_PALETTE, 8, 0, raw, W, pal, 200, trans, 200, NULL) == 0,
              "w");
        check_png("palette + tRNS", &m, expect);
        free(m.p);

        /* 4-bit palette, interlaced. */
        for (int y = 0; y < H; y++) {
            memset(raw + y * ((W + 1) / 2), 0, (W + 1) / 2);
            for (int x = 0; x < W; x++) {
                int idx = (x + y) % 16;
                raw[y * ((W + 1) / 2) + x / 2] |= (uint8_t)(x % 2 ? idx : idx << 4);
                expect[(y * W + x) * 3] = pal[idx].red;
                expect[(y * W + x) * 3 + 1] = pal[idx].green;
                expect[(y * W + x) * 3 + 2] = pal[idx].blue;
            }
        }
        CHECK(write_png(&m, PNG_COLOR_TYPE_PALETTE, 4, 1, raw, (W + 1) / 2, pal, 16, trans, 16,
                        NULL) == 0,
              "w");
        check_png("4-bit palette interlaced + tRNS", &m, expect);
        free(m.p);
    }

    /* 1-bit gray: 0 -> 0, 1 -> 255. */
    for (int y = 0; y < H; y++) {
        memset(raw + y * ((W + 7) / 8), 0, (W + 7) / 8);
        for (int x = 0; x < W; x++) {
            int bit = (x * y + x) % 3 == 0;
            if (bit)
                raw[y * ((W + 7) / 8) + x / 8] |= (uint8_t)(0x80 >> (x % 8));
            memset(expect + (y * W + x) * 3, bit ? 255 : 0, 3);
        }
    }
    CHECK(write_png(&m, PNG_COLOR_TYPE_GRAY, 1, 0, raw, (W + 7) / 8, NULL, 0, NULL, 0, NULL) == 0,
          "w");
    check_png("1-bit gray", &m, expect);
    free(m.p);

    /* 16-bit gray: high byte (Pillow's "I;16" -> "RGB" would clip to 255;
     * see README: the image content is kept instead). */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint16_t g = sample16(x, y, 1);
            raw[(y * W + x) * 2] = (uint8_t)(g >> 8);
            raw[(y * W + x) * 2 + 1] = (uint8_t)g;
            memset(expect + (y * W + x) * 3, g >> 8, 3);
        }
    CHECK(write_png(&m, PNG_COLOR_TYPE_GRAY, 16, 0, raw, W * 2, NULL, 0, NULL, 0, NULL) == 0, "w");
    check_png("gray 16-bit", &m, expect);
    free(m.p);

    /* RGB 8-bit with a tRNS colour key: ignored. */
    {
        png_color_16 key = {0, 10, 20, 30, 0};
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++) {
                    uint8_t v = x == 3 ? (uint8_t)(10 + 10 * c) : sample8(x, y, c);
                    raw[(y * W + x) * 3 + c] = v;
                    expect[(y * W + x) * 3 + c] = v;
                }
        CHECK(write_png(&m, PNG_COLOR_TYPE_RGB, 8, 0, raw, W * 3, NULL, 0, NULL, 0, &key) == 0,
              "w");
        check_png("RGB + tRNS key", &m, expect);
        free(m.p);
    }
}

static void test_webp_alpha(void)
{
    static uint8_t rgba[W * H * 4];
    uint8_t *enc = NULL, *ref = NULL;
    size_t n;
    int rw = 0, rh = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgba + (y * W + x) * 4;
            p[0] = sample8(x, y, 0);
            p[1] = sample8(x, y, 1);
            p[2] = sample8(x, y, 2);
            p[3] = (uint8_t)(x < 5 ? 0 : x * 6);
        }
    for (int lossy = 0; lossy <= 1; lossy++) {
        clipsearch_image img = {0, 0, NULL};
        clipsearch_image_info info;
        clipsearch_error err = {0, ""};
        n = lossy ? WebPEncodeRGBA(rgba, W, H, W * 4, 90, &enc)
                  : WebPEncodeLosslessRGBA(rgba, W, H, W * 4, &enc);
        CHECK(n > 0, "WebP encode");
        if (!n)
            continue;
        /* libwebp's own RGBA decode is the reference: same RGB, alpha dropped
         * without compositing. */
        ref = WebPDecodeRGBA(enc, n, &rw, &rh);
        CHECK(clipsearch_image_load_memory(enc, n, 0, &img, &info, &err) == CLIPSEARCH_OK,
              "WebP %s: %s", lossy ? "lossy" : "lossless", err.message);
        if (img.rgb && ref && img.width == W && img.height == H) {
            size_t bad = 0, bad_visible = 0;
            for (int i = 0; i < W * H; i++)
                for (int c = 0; c < 3; c++) {
                    bad += img.rgb[i * 3 + c] != ref[i * 4 + c];
                    if (!lossy && rgba[i * 4 + 3])
                        bad_visible += img.rgb[i * 3 + c] != rgba[i * 4 + c];
                }
            CHECK(bad == 0, "WebP %s: %zu samples differ from libwebp RGBA",
                  lossy ? "lossy" : "lossless", bad);
            CHECK(bad_visible == 0, "WebP lossless: visible pixels changed (%zu)", bad_visible);
            CHECK(strcmp(info.format, "webp") == 0, "format %s", info.format);
        } else {
            CHECK(0, "WebP %s decode", lossy ? "lossy" : "lossless");
        }
        clipsearch_image_release(&img);
        WebPFree(ref);
        WebPFree(enc);
    }
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_budget(void)
{
    clipsearch_image img = {0, 0, NULL};
    clipsearch_error err = {0, ""};
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    float *out = malloc(sizeof(float) * 3 * 224 * 224);
    uint8_t png[64], webp[32];

    /* A configurable budget: astronaut.jpg is 512x512 = 262144 pixels. */
    CHECK(clipsearch_image_load(tu_fixture("images/astronaut.jpg"), 262143, &img, NULL, &err) ==
              CLIPSEARCH_ERR_TOO_LARGE,
          "JPEG over a small budget");
    CHECK(strstr(err.message, "astronaut.jpg") && strstr(err.message, "512x512"), "message: %s",
          err.message);
    CHECK(img.rgb == NULL, "nothing returned");
    CHECK(clipsearch_image_load(tu_fixture("images/astronaut.jpg"), 262144, &img, NULL, &err) ==
              CLIPSEARCH_OK,
          "JPEG at the budget: %s", err.message);
    clipsearch_image_release(&img);
    p.max_pixels = 100000;
    CHECK(clipsearch_preprocess_file(tu_fixture("images/coffee.webp"), &p, out, NULL, &err) ==
              CLIPSEARCH_ERR_TOO_LARGE,
          "WebP over the budget");
    CHECK(clipsearch_preprocess_file(tu_fixture("images/chelsea_palette.png"), &p, out, NULL,
                                     &err) == CLIPSEARCH_ERR_TOO_LARGE,
          "PNG over the budget");
    p.mode = CLIPSEARCH_PREPROCESS_FAST;
    CHECK(clipsearch_preprocess_file(tu_fixture("images/hubble_large.jpg"), &p, out, NULL, &err) ==
              CLIPSEARCH_ERR_TOO_LARGE,
          "fast mode checks the full size");

    /* A PNG header claiming 100000 x 100000, with a valid CRC. */
    memcpy(png, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    be32(png + 16, 100000);
    be32(png + 20, 100000);
    memcpy(png + 24, "\x08\x02\0\0\0", 5);
    be32(png + 29, (uint32_t)crc32(0, png + 12, 17));
    CHECK(clipsearch_image_load_memory(png, 33, 0, &img, NULL, &err) == CLIPSEARCH_ERR_TOO_LARGE,
          "PNG 100000x100000: %s", err.message);

    /* A lossless WebP header claiming 16384 x 16384. */
    memset(webp, 0, sizeof webp);
    memcpy(webp, "RIFF", 4);
    webp[4] = sizeof webp - 8;
    memcpy(webp + 8, "WEBPVP8L", 8);
    webp[16] = sizeof webp - 20;
    webp[20] = 0x2f;
    {
        uint32_t bits = 16383u | 16383u << 14;
        for (int i = 0; i < 4; i++)
            webp[21 + i] = (uint8_t)(bits >> (8 * i));
    }
    CHECK(clipsearch_image_load_memory(webp, sizeof webp, 0, &img, NULL, &err) ==
              CLIPSEARCH_ERR_TOO_LARGE,
          "WebP 16384x16384: %s", err.message);
    free(out);
}

static void test_sniffing(void)
{
    /* A PNG named .jpg and a JPEG named .webp decode by content. */
    size_t n = 0;
    char *data = tu_read_file(tu_fixture("images/chelsea_palette.png"), &n);
    char path[600];
    clipsearch_image img = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err = {0, ""};
    snprintf(path, sizeof path, "%s/photo.jpg", tu_tmpdir());
    CHECK(data && tu_write_file(path, data, n) == 0, "copy");
    CHECK(clipsearch_image_load(path, 0, &img, &info, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(strcmp(info.format, "png") == 0, "PNG named .jpg read as %s", info.format);
    clipsearch_image_release(&img);
    free(data);

    data = tu_read_file(tu_fixture("images/tiny_16x12.jpg"), &n);
    snprintf(path, sizeof path, "%s/photo.webp", tu_tmpdir());
    CHECK(data && tu_write_file(path, data, n) == 0, "copy");
    CHECK(clipsearch_image_load(path, 0, &img, &info, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(strcmp(info.format, "jpeg") == 0 && img.width == 16 && img.height == 12,
          "JPEG named .webp read as %s", info.format);
    clipsearch_image_release(&img);
    free(data);
}

int main(void)
{
    tu_require_fixture("images/astronaut.jpg");
    test_png_variants();
    test_webp_alpha();
    test_budget();
    test_sniffing();
    return tu_finish("test_image_formats");
}
