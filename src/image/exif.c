/* exif.c — bounds-checked EXIF reader (see exif.h). */
#include "exif.h"

#include <string.h>

enum {
    TAG_MAKE = 0x010F,
    TAG_MODEL = 0x0110,
    TAG_ORIENTATION = 0x0112,
    TAG_EXIF_IFD = 0x8769,
    TAG_DATE_ORIGINAL = 0x9003,
    TAG_DATE_DIGITIZED = 0x9004,
    TYPE_ASCII = 2,
    TYPE_SHORT = 3,
    TYPE_LONG = 4,
    /* A real IFD has a few dozen entries; more means a damaged count, and
     * the cap bounds the work a hostile block can cause. */
    MAX_ENTRIES = 1024
};

typedef struct tiff {
    const uint8_t *p;
    size_t n;
    int big_endian;
} tiff;

static unsigned rd16(const tiff *t, size_t at)
{
    const uint8_t *q = t->p + at;
    return t->big_endian ? (unsigned)q[0] << 8 | q[1] : (unsigned)q[1] << 8 | q[0];
}

static uint32_t rd32(const tiff *t, size_t at)
{
    const uint8_t *q = t->p + at;
    if (t->big_endian)
        return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
    return (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

/* True when [at, at + len) lies inside the block. */
static int in_bounds(const tiff *t, size_t at, size_t len)
{
    return at <= t->n && len <= t->n - at;
}

static size_t type_size(unsigned type)
{
    switch (type) {
    case 1: case 2: case 6: case 7: return 1;  /* BYTE ASCII SBYTE UNDEFINED */
    case 3: case 8: return 2;                  /* SHORT SSHORT */
    case 4: case 9: case 11: return 4;         /* LONG SLONG FLOAT */
    case 5: case 10: case 12: return 8;        /* RATIONAL SRATIONAL DOUBLE */
    default: return 0;
    }
}

/* Locates an entry's value: inline in the entry when it fits in 4 bytes,
 * else at the offset stored there.  Returns 0 and sets at and len, or -1. */
static int entry_value(const tiff *t, size_t entry, size_t *at, size_t *len)
{
    unsigned type = rd16(t, entry + 2);
    uint32_t count = rd32(t, entry + 4);
    size_t tsz = type_size(type);
    size_t bytes;
    if (!tsz || count > t->n / tsz)
        return -1;
    bytes = tsz * count;
    *at = bytes <= 4 ? entry + 8 : rd32(t, entry + 8);
    *len = bytes;
    return in_bounds(t, *at, bytes) ? 0 : -1;
}

/* Copies an ASCII value into dst[cap] up to its first NUL, keeping printable
 * characters only, with trailing spaces removed. */
static void read_ascii(const tiff *t, size_t entry, char *dst, size_t cap)
{
    size_t at, len, o = 0;
    dst[0] = '\0';
    if (rd16(t, entry + 2) != TYPE_ASCII || entry_value(t, entry, &at, &len) != 0)
        return;
    for (size_t i = 0; i < len && t->p[at + i] != 0 && o + 1 < cap; i++) {
        uint8_t c = t->p[at + i];
        dst[o++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
    /* Leading spaces too (some cameras pad on the left). */
    if (dst[0] == ' ') {
        size_t s = 0;
        while (dst[s] == ' ')
            s++;
        memmove(dst, dst + s, o - s + 1);
    }
}

/* "YYYY:MM:DD HH:MM:SS" -> "YYYY-MM-DD HH:MM:SS"; "" unless well formed and
 * not the all-zero placeholder some cameras write. */
static void normalise_date(const char *in, char out[20])
{
    static const char pattern[] = "dddd:dd:dd dd:dd:dd";
    int nonzero = 0;
    out[0] = '\0';
    if (strlen(in) < 19)
        return;
    for (int i = 0; i < 19; i++) {
        if (pattern[i] == 'd') {
            if (in[i] < '0' || in[i] > '9')
                return;
            nonzero |= in[i] != '0';
        } else if (in[i] != pattern[i] && !(pattern[i] == ':' && i < 10 && in[i] == '-')) {
            return;
        }
    }
    if (!nonzero)
        return;
    memcpy(out, in, 19);
    out[4] = out[7] = '-';
    out[19] = '\0';
}

typedef struct found {
    int orientation, has_orientation;
    char make[64], model[96], original[32], digitized[32];
    uint32_t exif_ifd; /* 0 when absent */
} found;

static void walk_ifd(const tiff *t, size_t ifd, int is_exif_ifd, found *f)
{
    unsigned n;
    if (!in_bounds(t, ifd, 2))
        return;
    n = rd16(t, ifd);
    if (n > MAX_ENTRIES)
        return;
    for (unsigned i = 0; i < n; i++) {
        size_t e = ifd + 2 + (size_t)i * 12;
        unsigned tag, type;
        if (!in_bounds(t, e, 12))
            return;
        tag = rd16(t, e);
        type = rd16(t, e + 2);
        if (!is_exif_ifd) {
            if (tag == TAG_ORIENTATION && rd32(t, e + 4) >= 1) {
                unsigned v = type == TYPE_SHORT ? rd16(t, e + 8)
                             : type == TYPE_LONG ? (unsigned)rd32(t, e + 8) : 0;
                f->orientation = (v >= 1 && v <= 8) ? (int)v : 1;
                f->has_orientation = 1;
            } else if (tag == TAG_MAKE) {
                read_ascii(t, e, f->make, sizeof f->make);
            } else if (tag == TAG_MODEL) {
                read_ascii(t, e, f->model, sizeof f->model);
            } else if (tag == TAG_EXIF_IFD && (type == TYPE_LONG || type == 13)) {
                f->exif_ifd = rd32(t, e + 8);
            }
        } else if (tag == TAG_DATE_ORIGINAL) {
            read_ascii(t, e, f->original, sizeof f->original);
        } else if (tag == TAG_DATE_DIGITIZED) {
            read_ascii(t, e, f->digitized, sizeof f->digitized);
        }
    }
}

/* Appends src to the NUL-terminated dst[cap], truncating. */
static void append(char *dst, size_t cap, const char *src)
{
    size_t o = strlen(dst);
    while (*src && o + 1 < cap)
        dst[o++] = *src++;
    dst[o] = '\0';
}

void cs_exif_init(cs_exif *out)
{
    out->orientation = 1;
    out->has_orientation = 0;
    out->taken[0] = '\0';
    out->camera[0] = '\0';
}

int cs_exif_parse(const uint8_t *data, size_t size, cs_exif *out)
{
    tiff t;
    found f;
    uint32_t ifd0;
    cs_exif_init(out);
    if (!data)
        return -1;
    if (size >= 6 && memcmp(data, "Exif\0\0", 6) == 0) {
        data += 6;
        size -= 6;
    }
    if (size < 8)
        return -1;
    if (memcmp(data, "II*\0", 4) == 0)
        t.big_endian = 0;
    else if (memcmp(data, "MM\0*", 4) == 0)
        t.big_endian = 1;
    else
        return -1;
    t.p = data;
    t.n = size;
    memset(&f, 0, sizeof f);
    f.orientation = 1;
    ifd0 = rd32(&t, 4);
    walk_ifd(&t, ifd0, 0, &f);
    if (f.exif_ifd && f.exif_ifd != ifd0)
        walk_ifd(&t, f.exif_ifd, 1, &f);

    out->orientation = f.orientation;
    out->has_orientation = f.has_orientation;
    normalise_date(f.original, out->taken);
    if (!out->taken[0])
        normalise_date(f.digitized, out->taken);
    if (f.make[0] && f.model[0] && strncmp(f.model, f.make, strlen(f.make)) != 0) {
        append(out->camera, sizeof out->camera, f.make);
        append(out->camera, sizeof out->camera, " ");
    }
    append(out->camera, sizeof out->camera, f.model[0] ? f.model : f.make);
    return 0;
}
