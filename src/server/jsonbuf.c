/* jsonbuf.c — the growing buffer and JSON string escaping (jsonbuf.h). */
#include "jsonbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cs_buf_free(cs_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int reserve(cs_buf *b, size_t extra)
{
    size_t want;
    char *p;
    if (b->oom)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return 0;
    }
    want = b->len + extra + 1;
    if (want <= b->cap)
        return 1;
    if (want < 256)
        want = 256;
    if (want < b->cap * 2)
        want = b->cap * 2;
    if (!(p = realloc(b->data, want))) {
        b->oom = 1;
        return 0;
    }
    b->data = p;
    b->cap = want;
    return 1;
}

void cs_buf_add(cs_buf *b, const void *data, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cs_buf_puts(cs_buf *b, const char *s) { cs_buf_add(b, s, strlen(s)); }

void cs_buf_printf(cs_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at s (1..4), 0 if ill-formed. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80
                   ? 4
                   : 0;
    }
    return 0;
}

void cs_buf_json_str(cs_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    cs_buf_add(b, "\"", 1);
    while (*s) {
        unsigned c = *s;
        int n;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            cs_buf_add(b, e, 2);
            s++;
        } else if (c < 0x20 || c == 0x7F) {
            cs_buf_printf(b, "\\u%04x", c);
            s++;
        } else if ((n = utf8_len(s)) > 0) {
            cs_buf_add(b, s, (size_t)n);
            s += n;
        } else {
            cs_buf_puts(b, "\\ufffd");
            s++;
        }
    }
    cs_buf_add(b, "\"", 1);
}

void cs_buf_json_num(cs_buf *b, double v)
{
    if (!isfinite(v))
        cs_buf_puts(b, "null");
    else
        cs_buf_printf(b, "%.6g", v);
}

char *cs_buf_take(cs_buf *b, size_t *len)
{
    char *p;
    if (b->oom) {
        cs_buf_free(b);
        return NULL;
    }
    if (!b->data)
        reserve(b, 0);
    if (!b->data)
        return NULL;
    b->data[b->len] = '\0';
    p = b->data;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof *b);
    return p;
}
