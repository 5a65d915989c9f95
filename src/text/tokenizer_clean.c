/* tokenizer_clean.c — CLIP's text cleaning, as simple_tokenizer.py does it:
 *
 *   text = html.unescape(html.unescape(text)).strip()   # ftfy: identity
 *   text = regex.sub(r'\s+', ' ', text).strip()
 *   text = text.lower()
 *
 * Each step follows the Python behaviour it copies, including the corners
 * (named references valid without ';', the invalid-codepoint table,
 * str.strip() knowing more spaces than regex's \s, lower()'s U+0130 and
 * final sigma), because one differing code point changes the token ids. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "error.h"
#include "tokenizer_internal.h"

#define CP_REPLACEMENT 0xFFFDu

/* ---- UTF-8 ------------------------------------------------------------- */

size_t cs_utf8_decode(const char *str, size_t len, uint32_t *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, n = 0;
    while (i < len) {
        unsigned b = s[i];
        unsigned need, lo = 0x80, hi = 0xBF;
        uint32_t cp;
        if (b < 0x80) {
            out[n++] = b;
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
            cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            cp = b & 0x0F;
            if (b == 0xE0)
                lo = 0xA0;
            else if (b == 0xED)
                hi = 0x9F; /* no surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            cp = b & 0x07;
            if (b == 0xF0)
                lo = 0x90;
            else if (b == 0xF4)
                hi = 0x8F;
        } else {
            out[n++] = CP_REPLACEMENT; /* stray continuation or bad lead */
            i++;
            continue;
        }
        i++;
        /* The first continuation byte has the narrowed range; a failure
         * anywhere replaces the maximal subpart read so far by one U+FFFD
         * and resumes at the offending byte (Unicode's recommended practice,
         * which is what Python's decoder does). */
        {
            unsigned k;
            int ok = 1;
            for (k = 0; k < need; k++) {
                unsigned c;
                if (i >= len) {
                    ok = 0;
                    break;
                }
                c = s[i];
                if (c < (k == 0 ? lo : 0x80) || c > (k == 0 ? hi : 0xBF)) {
                    ok = 0;
                    break;
                }
                cp = (cp << 6) | (c & 0x3F);
                i++;
            }
            out[n++] = ok ? cp : CP_REPLACEMENT;
        }
    }
    return n;
}

size_t cs_utf8_encode(uint32_t cp, char *buf)
{
    unsigned char *b = (unsigned char *)buf;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- html.unescape ---------------------------------------------------- */

static const char *entity_lookup(const char *name)
{
    size_t lo = 0, hi = cs_html5_entity_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(cs_html5_entities[mid].name, name);
        if (c == 0)
            return cs_html5_entities[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int is_hex(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static uint32_t hex_value(uint32_t c)
{
    if (c <= '9')
        return c - '0';
    return (c | 0x20) - 'a' + 10;
}

/* What html._replace_charref gives for a numeric reference; returns the
 * code point, or UINT32_MAX when the reference is dropped. */
static uint32_t charref_value(uint32_t num)
{
    size_t lo = 0, hi = cs_invalid_charref_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cs_invalid_charrefs[mid].from == num)
            return cs_invalid_charrefs[mid].to;
        if (cs_invalid_charrefs[mid].from < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF)
        return CP_REPLACEMENT;
    lo = 0;
    hi = cs_invalid_codepoint_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cs_invalid_codepoints[mid] == num)
            return UINT32_MAX;
        if (cs_invalid_codepoints[mid] < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return num;
}

/* Appends a UTF-8 table value (ASCII names, values of 1-2 code points). */
static size_t put_utf8(uint32_t *out, const char *v)
{
    return cs_utf8_decode(v, strlen(v), out);
}

/* html.unescape: the pattern
 *   &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
 * replaced left to right.  Works in place: no replacement is longer than
 * what it replaces, so the write index never passes the read index. */
size_t cs_html_unescape(uint32_t *cp, size_t n)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t c = cp[i];
        size_t j;
        if (c != '&' || i + 1 >= n) {
            cp[o++] = c;
            i++;
            continue;
        }
        j = i + 1;
        if (cp[j] == '#') {
            uint32_t num = 0;
            int hex = j + 1 < n && (cp[j + 1] == 'x' || cp[j + 1] == 'X');
            size_t d = j + 1 + (hex ? 1 : 0), e = d;
            while (e < n && (hex ? is_hex(cp[e]) : (cp[e] >= '0' && cp[e] <= '9'))) {
                uint32_t v = hex ? hex_value(cp[e]) : cp[e] - '0';
                /* Saturate: anything past 0x10FFFF reads as U+FFFD anyway. */
                if (num <= 0x10FFFF)
                    num = num * (hex ? 16u : 10u) + v;
                e++;
            }
            if (e == d) { /* "&#" not followed by digits: no reference */
                cp[o++] = c;
                i++;
                continue;
            }
            if (e < n && cp[e] == ';')
                e++;
            num = charref_value(num);
            if (num != UINT32_MAX)
                cp[o++] = num;
            i = e;
            continue;
        }
        {
            /* Named: s = up to 32 code points outside [\t\n\f <&#;], then an
             * optional ';'.  Every name is ASCII, so only the ASCII head of
             * s (copied into name[]) can match. */
            char name[40];
            size_t k = 0, head = 0, slen, e, x;
            int all_ascii = 1, semi = 0;
            const char *v = NULL;
            while (j + k < n && k < 32) {
                uint32_t ch = cp[j + k];
                if (ch == '\t' || ch == '\n' || ch == '\f' || ch == ' ' || ch == '<' ||
                    ch == '&' || ch == '#' || ch == ';')
                    break;
                if (ch >= 0x80 || ch == 0) /* no name holds either */
                    all_ascii = 0;
                else if (all_ascii)
                    name[head++] = (char)ch;
                k++;
            }
            if (k == 0) {
                cp[o++] = c;
                i++;
                continue;
            }
            e = j + k;
            if (e < n && cp[e] == ';') {
                semi = 1;
                e++;
            }
            slen = k + (size_t)semi;
            if (all_ascii) {
                if (semi)
                    name[head++] = ';';
                name[head] = '\0';
                v = entity_lookup(name);
                if (semi)
                    head--;
                if (v) {
                    o += put_utf8(cp + o, v);
                    i = e;
                    continue;
                }
            }
            /* The longest prefix s[:x], x from len(s)-1 down to 2. */
            x = slen - 1 < head ? slen - 1 : head;
            for (; x >= 2; x--) {
                name[x] = '\0';
                v = entity_lookup(name);
                if (v)
                    break;
            }
            if (v) {
                size_t r;
                o += put_utf8(cp + o, v);
                for (r = j + x; r < e; r++)
                    cp[o++] = cp[r];
                i = e;
                continue;
            }
            /* No match: '&' + s stays as it is. */
            for (; i < e; i++)
                cp[o++] = cp[i];
        }
    }
    return o;
}

/* ---- whitespace and case ----------------------------------------------- */

int cs_is_regex_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

int cs_is_py_space(uint32_t c)
{
    return cs_is_regex_space(c) || (c >= 0x1C && c <= 0x1F);
}

static int in_ranges(const cs_cp_range *r, size_t count, uint32_t c)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid].first)
            hi = mid;
        else if (c > r[mid].last)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static int is_cased(uint32_t c)
{
    return in_ranges(cs_cased_ranges, cs_cased_range_count, c);
}

static int is_case_ignorable(uint32_t c)
{
    return in_ranges(cs_case_ignorable_ranges, cs_case_ignorable_range_count, c);
}

/* CPython's handle_capital_sigma: U+03A3 lowers to final U+03C2 when
 * preceded by a cased letter and not followed by one (case-ignorable code
 * points skipped on both sides). */
static int final_sigma(const uint32_t *cp, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && is_case_ignorable(cp[j - 1]))
        j--;
    if (j == 0 || !is_cased(cp[j - 1]))
        return 0;
    for (j = i + 1; j < n && is_case_ignorable(cp[j]); j++)
        ;
    return j == n || !is_cased(cp[j]);
}

size_t cs_clip_clean(uint32_t *in, size_t n, uint32_t *out)
{
    size_t a, b, i, m = 0, o = 0;
    int prev_space = 0;
    n = cs_html_unescape(in, n);
    n = cs_html_unescape(in, n);
    /* strip() (str.isspace), then runs of regex \s to one space, then
     * strip() again.  The first strip leaves non-space ends and the
     * collapse only touches \s (a subset of isspace), so the second strip
     * has nothing left to do. */
    for (a = 0; a < n && cs_is_py_space(in[a]); a++)
        ;
    for (b = n; b > a && cs_is_py_space(in[b - 1]); b--)
        ;
    for (i = a; i < b; i++) {
        if (!cs_is_regex_space(in[i])) {
            in[m++] = in[i];
            prev_space = 0;
        } else if (!prev_space) {
            in[m++] = ' ';
            prev_space = 1;
        }
    }
    /* str.lower(): simple lowercase mapping, plus the two context or
     * length changing cases CPython applies. */
    for (i = 0; i < m; i++) {
        uint32_t c = in[i];
        if (c == 0x0130) {
            out[o++] = 'i';
            out[o++] = 0x0307;
        } else if (c == 0x03A3) {
            out[o++] = final_sigma(in, m, i) ? 0x03C2 : 0x03C3;
        } else {
            out[o++] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        }
    }
    return o;
}

clipsearch_status cs_clip_clean_utf8(const char *text, size_t len, char **out,
                                     size_t *out_len, clipsearch_error *err)
{
    uint32_t *cp = NULL, *lo = NULL;
    char *s = NULL;
    size_t n, m, i, k = 0;
    clipsearch_status st = CLIPSEARCH_OK;
    *out = NULL;
    *out_len = 0;
    if (len > SIZE_MAX / 16 - 1) {
        st = cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE, "text of %zu bytes is too long", len);
        goto out;
    }
    cp = malloc((len + 1) * sizeof *cp);
    lo = malloc((2 * len + 1) * sizeof *lo);
    if (!cp || !lo) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory cleaning text");
        goto out;
    }
    n = cs_utf8_decode(text, len, cp);
    m = cs_clip_clean(cp, n, lo);
    s = malloc(4 * m + 1);
    if (!s) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory cleaning text");
        goto out;
    }
    for (i = 0; i < m; i++)
        k += cs_utf8_encode(lo[i], s + k);
    s[k] = '\0';
    *out = s;
    *out_len = k;
    s = NULL;
out:
    free(cp);
    free(lo);
    free(s);
    return st;
}
