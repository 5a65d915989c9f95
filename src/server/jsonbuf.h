/* jsonbuf.h — private: a growing byte buffer and JSON writing with proper
 * escaping (the server's responses). */
#ifndef CS_JSONBUF_H
#define CS_JSONBUF_H

#include <stddef.h>

typedef struct cs_buf {
    char *data;  /* NUL-terminated while !oom */
    size_t len, cap;
    int oom;     /* an allocation failed: the content is incomplete */
} cs_buf;

void cs_buf_free(cs_buf *b);
void cs_buf_add(cs_buf *b, const void *data, size_t n);
void cs_buf_puts(cs_buf *b, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void cs_buf_printf(cs_buf *b, const char *fmt, ...);

/* Appends s as a JSON string literal.  Control characters, quotes and
 * backslashes are escaped; bytes that are not well-formed UTF-8 (a path
 * may hold any bytes) become U+FFFD, so the output is always valid JSON. */
void cs_buf_json_str(cs_buf *b, const char *s);
/* A finite float as a JSON number (non-finite ones as null). */
void cs_buf_json_num(cs_buf *b, double v);

/* Hands the content to the caller (malloc'd) and empties the buffer. */
char *cs_buf_take(cs_buf *b, size_t *len);

#endif
