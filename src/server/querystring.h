/* querystring.h — private: decoding request URLs and query strings, and
 * turning query parameters into search requests.  Everything here works on
 * untrusted bytes from the network: it never reads past the given length,
 * refuses what it cannot represent (bad %-escapes, NUL bytes, too many or
 * too long parameters) with a message, and is fuzzed
 * (fuzz/fuzz_serve_query.c).  Thread-safe: no state. */
#ifndef CS_QUERYSTRING_H
#define CS_QUERYSTRING_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"
#include "clipsearch/library.h"
#include "clipsearch/search.h"

/* Limits on what a request may carry. */
#define CS_QS_MAX_PARAMS 32
#define CS_QS_MAX_LEN 8192      /* the whole query string, encoded */
#define CS_QS_MAX_TERMS 16      /* terms of a search: "beach +sunset -people" */
#define CS_QS_MAX_RESULTS 500   /* n */
#define CS_QS_MAX_OFFSET 10000  /* offset */

/*
 * Percent-decodes in[0..n-1] into out (room for n + 1 bytes), NUL-terminated;
 * '+' becomes a space when plus_is_space.  *out_len gets the length.
 * CLIPSEARCH_ERR_INVALID_ARGUMENT for a malformed escape ("%4", "%zz") or a
 * decoded NUL byte ("%00"): such a string could mean two things.
 */
clipsearch_status cs_url_decode(const char *in, size_t n, int plus_is_space, char *out,
                                size_t *out_len, clipsearch_error *err);

/* A parsed query string: names and values decoded, in order. */
typedef struct cs_query {
    int n;
    char *names[CS_QS_MAX_PARAMS];
    char *values[CS_QS_MAX_PARAMS];
    char *arena; /* owns the strings */
} cs_query;

/* Parses "a=1&b=x%20y" (without the '?'; may be empty).  A name without
 * '=' has the value "".  On error *q is left empty (cs_query_free is still
 * allowed). */
clipsearch_status cs_query_parse(const char *qs, size_t len, cs_query *q,
                                 clipsearch_error *err);
void cs_query_free(cs_query *q);

/* The value of the first parameter called name, or NULL. */
const char *cs_query_get(const cs_query *q, const char *name);

/* Integer parameter in [min, max]; def when absent.  An empty, non-numeric
 * or out-of-range value is an error naming the parameter. */
clipsearch_status cs_query_int(const cs_query *q, const char *name, int64_t def, int64_t min,
                               int64_t max, int64_t *out, clipsearch_error *err);

/*
 * Splits the text of a search box into weighted text terms, the CLI's
 * query arithmetic: words accumulate into one term; a word starting with
 * '+' or '-' starts a new term added or subtracted, with an optional weight
 * "+W:" / "-W:" (a finite decimal).  "beach +2:sunset -people" is
 * beach (1), sunset (2), people (-1).  A leading "W:" weights the first
 * term.  The term values point into buf (a copy of text that the caller
 * provides, at least strlen(text) + 1 bytes).  Terms are always text: a
 * search request can never name a file.  Errors: no words at all, more
 * than CS_QS_MAX_TERMS terms.
 */
clipsearch_status cs_parse_terms(const char *text, char *buf, clipsearch_query_term *terms,
                                 int max, int *n, clipsearch_error *err);

/* A search request from its query parameters. */
typedef struct cs_search_request {
    int n;          /* results wanted (default 50, 1..CS_QS_MAX_RESULTS) */
    int offset;     /* results skipped (0..CS_QS_MAX_OFFSET) */
    float threshold;/* min score (default -1: none) */
    int has_threshold;
    char after[CLIPSEARCH_DATE_SIZE], before[CLIPSEARCH_DATE_SIZE];
    const char *under;  /* "in": absolute folder, trailing slashes removed; points into
                           the query (NULL = all) */
    int64_t id;         /* "id" (similar/thumb/photo), 0 if absent */
    int size;           /* "size" (thumb): 256 by default, 16..1024 */
    const char *text;   /* "q", NULL if absent */
} cs_search_request;

/* Reads n, offset, threshold, after, before, in, id, size and q from the
 * query (all optional here; each handler checks what it needs).  Messages
 * name the parameter and say what is allowed. */
clipsearch_status cs_search_request_parse(cs_query *q, cs_search_request *out,
                                          clipsearch_error *err);

#endif
