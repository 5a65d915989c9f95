/* querystring.c — URL and query-string decoding, search parameters and the
 * search box's query arithmetic (querystring.h). */
#include "querystring.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

clipsearch_status cs_url_decode(const char *in, size_t n, int plus_is_space, char *out,
                                size_t *out_len, clipsearch_error *err)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            int hi, lo;
            if (n - i < 3)
                return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                    "malformed %%-escape in the URL");
            hi = hexval(in[i + 1]);
            lo = hi < 0 ? -1 : hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                    "malformed %%-escape in the URL");
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0')
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                "NUL byte in the URL");
        out[o++] = c;
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return CLIPSEARCH_OK;
}

void cs_query_free(cs_query *q)
{
    if (!q)
        return;
    free(q->arena);
    memset(q, 0, sizeof *q);
}

clipsearch_status cs_query_parse(const char *qs, size_t len, cs_query *q,
                                 clipsearch_error *err)
{
    clipsearch_status r = CLIPSEARCH_OK;
    size_t at = 0, o = 0;
    memset(q, 0, sizeof *q);
    if (len > CS_QS_MAX_LEN)
        return cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE,
                            "query string longer than %d bytes", CS_QS_MAX_LEN);
    /* Decoding never grows a string: len + one NUL per name and value. */
    if (!(q->arena = malloc(len + 2 * CS_QS_MAX_PARAMS + 2)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    while (at < len) {
        const char *p = qs + at, *amp = memchr(p, '&', len - at), *eq;
        size_t plen = amp ? (size_t)(amp - p) : len - at, nlen, vlen, dl;
        at += plen + 1;
        if (plen == 0)
            continue; /* "a=1&&b=2" */
        if (q->n == CS_QS_MAX_PARAMS) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                             "more than %d query parameters", CS_QS_MAX_PARAMS);
            goto fail;
        }
        eq = memchr(p, '=', plen);
        nlen = eq ? (size_t)(eq - p) : plen;
        vlen = eq ? plen - nlen - 1 : 0;
        q->names[q->n] = q->arena + o;
        if ((r = cs_url_decode(p, nlen, 1, q->arena + o, &dl, err)) != CLIPSEARCH_OK)
            goto fail;
        o += dl + 1;
        q->values[q->n] = q->arena + o;
        if ((r = cs_url_decode(eq ? eq + 1 : p + plen, vlen, 1, q->arena + o, &dl, err)) !=
            CLIPSEARCH_OK)
            goto fail;
        o += dl + 1;
        q->n++;
    }
    return CLIPSEARCH_OK;
fail:
    cs_query_free(q);
    return r;
}

const char *cs_query_get(const cs_query *q, const char *name)
{
    for (int i = 0; i < q->n; i++)
        if (!strcmp(q->names[i], name))
            return q->values[i];
    return NULL;
}

clipsearch_status cs_query_int(const cs_query *q, const char *name, int64_t def, int64_t min,
                               int64_t max, int64_t *out, clipsearch_error *err)
{
    const char *v = cs_query_get(q, name);
    char *end = NULL;
    long long x;
    if (!v) {
        *out = def;
        return CLIPSEARCH_OK;
    }
    errno = 0;
    x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < min || x > max || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9')))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "parameter '%s' must be an integer from %lld to %lld", name,
                            (long long)min, (long long)max);
    *out = x;
    return CLIPSEARCH_OK;
}

/* A weight "W:" at the start of the word w[0..wl-1]: *used = chars consumed. */
static int parse_weight(const char *w, size_t wl, float *weight, size_t *used)
{
    const char *colon = memchr(w, ':', wl);
    char num[32], *end = NULL;
    size_t n;
    double x;
    if (!colon || colon == w || (n = (size_t)(colon - w)) >= sizeof num)
        return 0;
    memcpy(num, w, n);
    num[n] = '\0';
    if (strspn(num, "+-.0123456789eE") != n)
        return 0;
    errno = 0;
    x = strtod(num, &end);
    if (end != num + n || errno || !isfinite(x))
        return 0;
    *weight = (float)x;
    *used = n + 1;
    return 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

clipsearch_status cs_parse_terms(const char *text, char *buf, clipsearch_query_term *terms,
                                 int max, int *n, clipsearch_error *err)
{
    /* Each term's text is contiguous in buf and NUL-terminated; the NUL
     * takes the place of the whitespace before the next term and the sign
     * is dropped, so buf never needs more than strlen(text) + 1 bytes. */
    size_t o = 0;
    int cur = -1;
    const char *p = text;
    *n = 0;
    if (max > CS_QS_MAX_TERMS)
        max = CS_QS_MAX_TERMS;
    buf[0] = '\0';
    for (;;) {
        const char *w;
        size_t wl;
        float sign = 1.0f;
        int start = cur < 0;
        while (is_space(*p))
            p++;
        if (!*p)
            break;
        w = p;
        while (*p && !is_space(*p))
            p++;
        wl = (size_t)(p - w);
        if ((*w == '+' || *w == '-') && wl > 1) {
            sign = *w == '+' ? 1.0f : -1.0f;
            w++, wl--;
            start = 1;
        }
        if (start) {
            float weight = 1.0f;
            size_t used = 0;
            if (parse_weight(w, wl, &weight, &used))
                w += used, wl -= used;
            if (*n == max)
                return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                    "more than %d terms in the query", max);
            if (cur >= 0)
                o++; /* past the previous term's NUL */
            cur = (*n)++;
            terms[cur].kind = CLIPSEARCH_TERM_TEXT;
            terms[cur].value = buf + o;
            terms[cur].weight = sign * weight;
            buf[o] = '\0';
        } else if (wl > 0 && terms[cur].value[0] != '\0') {
            buf[o++] = ' ';
        }
        memcpy(buf + o, w, wl);
        o += wl;
        buf[o] = '\0';
    }
    /* Drop empty terms ("+2:" alone at the end). */
    {
        int k = 0;
        for (int i = 0; i < *n; i++)
            if (terms[i].value[0])
                terms[k++] = terms[i];
        *n = k;
    }
    if (*n == 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "the query has no words");
    return CLIPSEARCH_OK;
}

clipsearch_status cs_search_request_parse(cs_query *q, cs_search_request *out,
                                          clipsearch_error *err)
{
    const char *v;
    int64_t x;
    clipsearch_status r;
    memset(out, 0, sizeof *out);
    out->threshold = -1.0f;
    if ((r = cs_query_int(q, "n", 50, 1, CS_QS_MAX_RESULTS, &x, err)) != CLIPSEARCH_OK)
        return r;
    out->n = (int)x;
    if ((r = cs_query_int(q, "offset", 0, 0, CS_QS_MAX_OFFSET, &x, err)) != CLIPSEARCH_OK)
        return r;
    out->offset = (int)x;
    if ((r = cs_query_int(q, "id", 0, 1, INT64_MAX, &x, err)) != CLIPSEARCH_OK)
        return r;
    out->id = x;
    if ((r = cs_query_int(q, "size", 256, 16, 1024, &x, err)) != CLIPSEARCH_OK)
        return r;
    out->size = (int)x;
    if ((v = cs_query_get(q, "threshold")) != NULL && *v) {
        char *end = NULL;
        float t = strtof(v, &end);
        if (*end || !isfinite(t) || t < -1.0f || t > 1.0f)
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                "parameter 'threshold' must be a number from -1 to 1");
        out->threshold = t;
        out->has_threshold = 1;
    }
    if ((v = cs_query_get(q, "after")) != NULL && *v &&
        clipsearch_parse_date(v, out->after) != CLIPSEARCH_OK)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "parameter 'after' must be a date: YYYY, YYYY-MM, YYYY-MM-DD or "
                            "YYYY-MM-DD HH:MM:SS");
    if ((v = cs_query_get(q, "before")) != NULL && *v &&
        clipsearch_parse_date(v, out->before) != CLIPSEARCH_OK)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "parameter 'before' must be a date: YYYY, YYYY-MM, YYYY-MM-DD or "
                            "YYYY-MM-DD HH:MM:SS");
    for (int i = 0; i < q->n; i++) {
        if (strcmp(q->names[i], "in") || !q->values[i][0])
            continue;
        {
            char *d = q->values[i];
            size_t len = strlen(d);
            if (d[0] != '/')
                return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                    "parameter 'in' must be an absolute folder path");
            while (len > 1 && d[len - 1] == '/')
                d[--len] = '\0';
            out->under = d;
        }
        break;
    }
    out->text = cs_query_get(q, "q");
    return CLIPSEARCH_OK;
}
