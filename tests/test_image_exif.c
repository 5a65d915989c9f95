/* test_image_exif.c — the EXIF reader on hand-built blocks: both byte
 * orders, SHORT and LONG orientation, the "Exif\0\0" prefix, fallbacks, and
 * damaged blocks (offsets past the end, loops, huge counts, truncations). */
#include <string.h>

#include "exif.h"
#include "testutil.h"

typedef struct blob {
    uint8_t b[256];
    int be;
} blob;

static void p16(blob *x, size_t at, unsigned v)
{
    x->b[at + (x->be ? 0 : 1)] = (uint8_t)(v >> 8);
    x->b[at + (x->be ? 1 : 0)] = (uint8_t)v;
}

static void p32(blob *x, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        x->b[at + (x->be ? (size_t)i : 3 - (size_t)i)] = (uint8_t)(v >> (24 - 8 * i));
}

static void ent(blob *x, size_t at, unsigned tag, unsigned type, uint32_t count, uint32_t val)
{
    p16(x, at, tag);
    p16(x, at + 2, type);
    p32(x, at + 4, count);
    p32(x, at + 8, 0);
    if (type == 3 && count == 1)
        p16(x, at + 8, val);
    else
        p32(x, at + 8, val);
}

/* TIFF at 0: IFD0 at 8 with 3 entries {Orientation, Model, ExifIFD},
 * Exif IFD at 50 with 2 entries {DateTimeOriginal, DateTimeDigitized},
 * strings from 80.  Returns the size (120). */
static size_t build(blob *x, int be, unsigned orient_type, unsigned orient, const char *model,
                    const char *original, const char *digitized)
{
    memset(x->b, 0, sizeof x->b);
    x->be = be;
    memcpy(x->b, be ? "MM\0*" : "II*\0", 4);
    p32(x, 4, 8);
    p16(x, 8, 3);
    ent(x, 10, 0x0112, orient_type, 1, orient);
    ent(x, 22, 0x0110, 2, (uint32_t)strlen(model) + 1, 80);
    ent(x, 34, 0x8769, 4, 1, 50);
    p32(x, 46, 0);
    p16(x, 50, 2);
    ent(x, 52, 0x9003, 2, 20, 96);
    ent(x, 64, 0x9004, 2, 20, 116);
    p32(x, 76, 0);
    memcpy(x->b + 80, model, strlen(model) + 1);
    memcpy(x->b + 96, original, strlen(original) < 20 ? strlen(original) + 1 : 20);
    memcpy(x->b + 116, digitized, strlen(digitized) < 20 ? strlen(digitized) + 1 : 20);
    return 136;
}

int main(void)
{
    blob x;
    cs_exif e;
    size_t n;
    uint8_t pre[300];

    for (int be = 0; be <= 1; be++) {
        n = build(&x, be, 3, 6, "  Pixel 7  ", "2022:02:03 04:05:06", "2000:01:01 00:00:00");
        CHECK(cs_exif_parse(x.b, n, &e) == 0, "parse");
        CHECK(e.orientation == 6, "orientation %d", e.orientation);
        CHECK(strcmp(e.camera, "Pixel 7") == 0, "model only, trimmed: '%s'", e.camera);
        CHECK(strcmp(e.taken, "2022-02-03 04:05:06") == 0, "taken '%s'", e.taken);
        /* With the JPEG APP1 prefix. */
        memcpy(pre, "Exif\0\0", 6);
        memcpy(pre + 6, x.b, n);
        CHECK(cs_exif_parse(pre, n + 6, &e) == 0 && e.orientation == 6, "prefixed");
        /* LONG orientation. */
        n = build(&x, be, 4, 8, "X", "bad date here......", "2019:12:31 23:59:58");
        CHECK(cs_exif_parse(x.b, n, &e) == 0 && e.orientation == 8, "LONG orientation %d",
              e.orientation);
        CHECK(strcmp(e.taken, "2019-12-31 23:59:58") == 0, "falls back to digitized: '%s'",
              e.taken);
        /* Out of range and wrong type: 1. */
        n = build(&x, be, 3, 0, "X", "", "");
        CHECK(cs_exif_parse(x.b, n, &e) == 0 && e.orientation == 1, "orientation 0 -> 1");
        n = build(&x, be, 2, 6, "X", "", "");
        CHECK(cs_exif_parse(x.b, n, &e) == 0 && e.orientation == 1, "ASCII orientation -> 1");
        CHECK(e.taken[0] == '\0', "no date");
    }

    /* Not EXIF. */
    CHECK(cs_exif_parse((const uint8_t *)"hello world", 11, &e) == -1 && e.orientation == 1,
          "not TIFF");
    CHECK(cs_exif_parse(NULL, 0, &e) == -1, "NULL");
    CHECK(cs_exif_parse((const uint8_t *)"Exif\0\0II*\0", 10, &e) == -1, "too short");

    /* Every truncation of a good block: no crash, never garbage. */
    n = build(&x, 1, 3, 5, "Cam", "2022:02:03 04:05:06", "2022:02:03 04:05:06");
    for (size_t len = 0; len <= n; len++) {
        cs_exif_parse(x.b, len, &e);
        CHECK(e.orientation >= 1 && e.orientation <= 8, "orientation range at %zu", len);
        CHECK(strlen(e.taken) == 0 || strlen(e.taken) == 19, "taken at %zu", len);
    }

    /* Damaged offsets: IFD0 past the end, Exif IFD pointing to itself
     * (a loop), an entry count of 65535, a string offset past the end, and
     * a count whose byte size overflows. */
    n = build(&x, 0, 3, 6, "Cam", "2022:02:03 04:05:06", "2022:02:03 04:05:06");
    p32(&x, 4, 0xFFFFFFF0u);
    CHECK(cs_exif_parse(x.b, n, &e) == 0 && e.orientation == 1, "IFD0 past the end");
    n = build(&x, 0, 3, 6, "Cam", "2022:02:03 04:05:06", "2022:02:03 04:05:06");
    ent(&x, 34, 0x8769, 4, 1, 8);
    CHECK(cs_exif_parse(x.b, n, &e) == 0 && e.orientation == 6, "self loop");
    n = build(&x, 0, 3, 6, "Cam", "2022:02:03 04:05:06", "2022:02:03 04:05:06");
    p16(&x, 8, 65535);
    CHECK(cs_exif_parse(x.b, n, &e) == 0, "huge entry count");
    n = build(&x, 0, 3, 6, "Cam", "2022:02:03 04:05:06", "2022:02:03 04:05:06");
    ent(&x, 22, 0x0110, 2, 5, 0x7FFFFFF0u); /* > 4 bytes: not inline */
    CHECK(cs_exif_parse(x.b, n, &e) == 0 && e.camera[0] == '\0' && e.orientation == 6,
          "string offset past the end");
    ent(&x, 22, 0x0110, 5, 0x40000000u, 80);
    CHECK(cs_exif_parse(x.b, n, &e) == 0 && e.camera[0] == '\0', "overflowing count");
    /* Control characters in strings are replaced. */
    n = build(&x, 0, 3, 1, "AB\x01" "CD", "", "");
    CHECK(cs_exif_parse(x.b, n, &e) == 0 && strcmp(e.camera, "AB?CD") == 0, "camera '%s'",
          e.camera);
    return tu_finish("test_image_exif");
}
