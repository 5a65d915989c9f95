/* test_serve_query.c — the server's request parsing and JSON writing
 * (src/server/querystring.c, jsonbuf.c): percent-decoding, query strings,
 * search parameters, the search box's query arithmetic, and JSON escaping
 * of arbitrary bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonbuf.h"
#include "querystring.h"
#include "testutil.h"

static int decodes(const char *in, int plus, const char *want)
{
    char out[256];
    size_t n = 0;
    if (cs_url_decode(in, strlen(in), plus, out, &n, NULL) != CLIPSEARCH_OK)
        return want == NULL;
    return want && !strcmp(out, want) && n == strlen(want);
}

static void test_decode(void)
{
    CHECK(decodes("/a%20b", 0, "/a b"), "space");
    CHECK(decodes("a+b", 0, "a+b"), "plus kept in paths");
    CHECK(decodes("a+b", 1, "a b"), "plus is space in queries");
    CHECK(decodes("%2e%2E/%2F", 0, "..//"), "case-insensitive hex");
    CHECK(decodes("%C3%A9", 0, "\xc3\xa9"), "utf-8 bytes");
    CHECK(decodes("%00", 0, NULL), "NUL refused");
    CHECK(decodes("a%0", 0, NULL), "short escape");
    CHECK(decodes("a%", 0, NULL), "bare percent");
    CHECK(decodes("%zz", 0, NULL), "bad hex");
    CHECK(decodes("%4g", 0, NULL), "bad second digit");
    CHECK(decodes("", 0, ""), "empty");
}

static void test_query(void)
{
    cs_query q;
    cs_search_request sr;
    clipsearch_error err = {0};
    const char *s = "q=a+red%20circle&n=7&&offset=3&flag&in=%2Fphotos%2Fa%2F%2F&after=2015"
                    "&before=2016-01-02T03:04:05&threshold=0.25&id=42&size=64";
    CHECK(cs_query_parse(s, strlen(s), &q, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(q.n == 10, "%d params", q.n);
    CHECK(!strcmp(cs_query_get(&q, "q"), "a red circle"), "q");
    CHECK(!strcmp(cs_query_get(&q, "flag"), ""), "name without value");
    CHECK(cs_query_get(&q, "missing") == NULL, "absent");
    CHECK(cs_search_request_parse(&q, &sr, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(sr.n == 7 && sr.offset == 3 && sr.id == 42 && sr.size == 64, "numbers");
    CHECK(sr.under && !strcmp(sr.under, "/photos/a"), "in: %s", sr.under ? sr.under : "NULL");
    CHECK(!strcmp(sr.after, "2015") && !strcmp(sr.before, "2016-01-02 03:04:05"), "dates");
    CHECK(sr.has_threshold && fabsf(sr.threshold - 0.25f) < 1e-6f, "threshold");
    cs_query_free(&q);

    CHECK(cs_query_parse("", 0, &q, NULL) == CLIPSEARCH_OK && q.n == 0, "empty query");
    CHECK(cs_search_request_parse(&q, &sr, NULL) == CLIPSEARCH_OK && sr.n == 50 &&
              sr.offset == 0 && sr.size == 256 && !sr.has_threshold && !sr.under && !sr.text,
          "defaults");
    cs_query_free(&q);
    {
        static const char *const bad[] = {
            "n=0", "n=501", "n=abc", "n=", "n=5x", "n=+5", "n= 5", "offset=-1",
            "offset=10001", "id=0", "id=-3", "id=99999999999999999999", "size=15",
            "size=1025", "threshold=2", "threshold=nan", "threshold=inf", "threshold=0.5x",
            "after=2015-1", "before=yesterday", "in=relative", "after=2015-1-1"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            clipsearch_status r = cs_query_parse(bad[i], strlen(bad[i]), &q, NULL);
            memset(&err, 0, sizeof err);
            if (r == CLIPSEARCH_OK)
                r = cs_search_request_parse(&q, &sr, &err);
            CHECK(r == CLIPSEARCH_ERR_INVALID_ARGUMENT && strstr(err.message, "parameter"),
                  "'%s' should be refused naming the parameter (%s)", bad[i], err.message);
            cs_query_free(&q);
        }
    }
    CHECK(cs_query_parse("a=%00", 5, &q, NULL) == CLIPSEARCH_ERR_INVALID_ARGUMENT, "NUL");
    cs_query_free(&q);
    {
        char many[400] = "";
        for (int i = 0; i < CS_QS_MAX_PARAMS + 1; i++)
            strcat(many, "a=1&");
        CHECK(cs_query_parse(many, strlen(many), &q, NULL) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
              "too many parameters");
        cs_query_free(&q);
    }
    {
        static char big[CS_QS_MAX_LEN + 2];
        memset(big, 'a', sizeof big - 1);
        CHECK(cs_query_parse(big, sizeof big - 1, &q, NULL) == CLIPSEARCH_ERR_TOO_LARGE,
              "too long");
        cs_query_free(&q);
    }
}

/* Parses text and compares with "value:weight|value:weight..." */
static void terms_are(const char *text, const char *want)
{
    clipsearch_query_term t[CS_QS_MAX_TERMS];
    char buf[512], got[1024] = "";
    int n = 0;
    clipsearch_status r = cs_parse_terms(text, buf, t, CS_QS_MAX_TERMS, &n, NULL);
    if (r != CLIPSEARCH_OK) {
        CHECK(want == NULL, "'%s' refused, expected %s", text, want);
        return;
    }
    for (int i = 0; i < n; i++) {
        char one[200];
        CHECK(t[i].kind == CLIPSEARCH_TERM_TEXT, "text only");
        snprintf(one, sizeof one, "%s%s:%g", i ? "|" : "", t[i].value, (double)t[i].weight);
        strcat(got, one);
    }
    CHECK(want && !strcmp(got, want), "'%s' -> '%s', expected '%s'", text, got,
          want ? want : "an error");
}

static void test_terms(void)
{
    terms_are("a red circle", "a red circle:1");
    terms_are("  dog \t on   a beach ", "dog on a beach:1");
    terms_are("beach +sunset -people", "beach:1|sunset:1|people:-1");
    terms_are("beach +2:sunset glow -0.5:people", "beach:1|sunset glow:2|people:-0.5");
    terms_are("2:beach", "beach:2");
    terms_are("meeting 12:30", "meeting 12:30:1");
    terms_are("black-and-white photo", "black-and-white photo:1");
    terms_are("a - b", "a - b:1");
    terms_are("+2: sunset", "sunset:2");
    terms_are("beach +3:", "beach:1");
    terms_are("nan:x inf:y", "nan:x inf:y:1");
    terms_are("/etc/passwd", "/etc/passwd:1");
    terms_are("", NULL);
    terms_are("   ", NULL);
    terms_are("+2:", NULL);
    terms_are("a +b +c +d +e +f +g +h +i +j +k +l +m +n +o +p",
              "a:1|b:1|c:1|d:1|e:1|f:1|g:1|h:1|i:1|j:1|k:1|l:1|m:1|n:1|o:1|p:1"); /* 16 */
    terms_are("a +b +c +d +e +f +g +h +i +j +k +l +m +n +o +p +q", NULL);     /* 17 */
}

static void test_json(void)
{
    cs_buf b = {0};
    char *s;
    cs_buf_json_str(&b, "a\"b\\c\n\x01\x7f");
    cs_buf_puts(&b, " ");
    cs_buf_json_str(&b, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xb7");
    cs_buf_puts(&b, " ");
    /* invalid: lone continuation, overlong, surrogate, truncated, > U+10FFFF */
    cs_buf_json_str(&b, "\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80");
    cs_buf_puts(&b, " ");
    cs_buf_json_num(&b, NAN);
    s = cs_buf_take(&b, NULL);
    CHECK(s && !strcmp(s, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\" "
                          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xb7\" "
                          "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|"
                          "\\ufffd\\ufffd\\ufffd\\ufffd\" null"),
          "got %s", s ? s : "NULL");
    free(s);
}

int main(void)
{
    test_decode();
    test_query();
    test_terms();
    test_json();
    return tu_finish("test_serve_query");
}
