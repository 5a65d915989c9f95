/* failures.c — a short, stable reason for a recorded failure, so that
 * `clipsearch stats --failures` (and the page) can group thousands of
 * failed files into a handful of lines (see clipsearch_failure_group). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clipsearch/library.h"

static int has(const char *s, const char *what) { return strcasestr(s, what) != NULL; }

void clipsearch_failure_group(const char *path, const char *message, char *out, size_t cap)
{
    static const char *const formats[] = {"JPEG XL", "JPEG", "PNG", "WebP", "HEIF", "AVIF",
                                          "TIFF", "GIF", "BMP", "camera RAW"};
    const char *m = message ? message : "";
    const char *base, *dot;
    size_t plen = path ? strlen(path) : 0;
    if (!out || cap == 0)
        return;
    /* Messages start with the file's path; the rest says why. */
    if (plen && strncmp(m, path, plen) == 0 && m[plen] == ':')
        m += plen + 1;
    if (has(m, "unsupported format") || has(m, "unrecognised first bytes")) {
        char ext[16] = "";
        base = path ? strrchr(path, '/') : NULL;
        base = base ? base + 1 : path ? path : "";
        dot = strrchr(base, '.');
        if (dot && dot != base && strlen(dot) < sizeof ext) {
            for (size_t i = 0; dot[i]; i++)
                ext[i] = (char)tolower((unsigned char)dot[i]);
            ext[strlen(dot)] = '\0';
            snprintf(out, cap, "unsupported format: %s", ext);
        } else {
            snprintf(out, cap, "unsupported format (no extension)");
        }
        return;
    }
    if (has(m, "file is empty")) {
        snprintf(out, cap, "empty file");
        return;
    }
    if (has(m, "pixel budget")) {
        snprintf(out, cap, "over the pixel budget");
        return;
    }
    if (has(m, "truncated") || has(m, "ends early")) {
        snprintf(out, cap, "truncated file");
        return;
    }
    if (has(m, "cannot open") || has(m, "cannot stat") || has(m, "read failed") ||
        has(m, "not a regular file") || has(m, "permission denied")) {
        snprintf(out, cap, "unreadable file");
        return;
    }
    if (has(m, "out of memory")) {
        snprintf(out, cap, "out of memory");
        return;
    }
    {
        /* The format named first ("BMP with embedded JPEG..." is a BMP). */
        const char *best = NULL, *name = NULL;
        for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
            const char *at = strstr(m, formats[i]);
            while (at && !(at == m || at[-1] == ' '))
                at = strstr(at + 1, formats[i]);
            if (at && (!best || at < best))
                best = at, name = formats[i];
        }
        if (name) {
            snprintf(out, cap, "%s %s file",
                     has(m, "not supported") || has(m, "unsupported") ? "unsupported feature of"
                                                                       : "damaged",
                     name);
            return;
        }
    }
    snprintf(out, cap, "other error");
}
