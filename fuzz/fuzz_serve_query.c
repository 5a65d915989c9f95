/* fuzz_serve_query.c — the server's URL handling over arbitrary bytes:
 * percent-decoding of a path, query-string parsing, the search parameters
 * (n, offset, id, size, threshold, dates, folder) and the search box's
 * query arithmetic ("beach +2:sunset -people"), with their invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "querystring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    char *path = malloc(size + 1);
    size_t plen = 0;
    cs_query q;
    cs_search_request sr;
    if (!path)
        return 0;
    /* Decoding never grows a string and never yields a NUL inside it. */
    if (cs_url_decode(in, size, 0, path, &plen, NULL) == CLIPSEARCH_OK &&
        (plen > size || strlen(path) != plen))
        abort();
    free(path);
    if (cs_query_parse(in, size, &q, NULL) == CLIPSEARCH_OK) {
        if (q.n < 0 || q.n > CS_QS_MAX_PARAMS)
            abort();
        if (cs_search_request_parse(&q, &sr, NULL) == CLIPSEARCH_OK) {
            if (sr.n < 1 || sr.n > CS_QS_MAX_RESULTS || sr.offset < 0 ||
                sr.offset > CS_QS_MAX_OFFSET || sr.size < 16 || sr.size > 1024 ||
                (sr.under && sr.under[0] != '/'))
                abort();
            if (sr.text) {
                clipsearch_query_term terms[CS_QS_MAX_TERMS];
                size_t tl = strlen(sr.text);
                char *buf = malloc(tl + 1);
                int n = 0;
                if (!buf)
                    abort();
                if (cs_parse_terms(sr.text, buf, terms, CS_QS_MAX_TERMS, &n, NULL) ==
                    CLIPSEARCH_OK) {
                    /* Each term is non-empty text inside buf. */
                    if (n < 1 || n > CS_QS_MAX_TERMS)
                        abort();
                    for (int i = 0; i < n; i++)
                        if (terms[i].kind != CLIPSEARCH_TERM_TEXT || !terms[i].value[0] ||
                            terms[i].value < buf ||
                            terms[i].value + strlen(terms[i].value) > buf + tl)
                            abort();
                }
                free(buf);
            }
        }
        cs_query_free(&q);
    }
    return 0;
}
