/* error.h — private helpers for filling a clipsearch_error. */
#ifndef CS_ERROR_H
#define CS_ERROR_H

#include "clipsearch/common.h"

/* Fills *err (if not NULL) with status and a printf-formatted message and
 * returns status, so callers can write `return cs_error_set(err, ...)`. */
clipsearch_status cs_error_set(clipsearch_error *err, clipsearch_status status,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an already filled message (e.g. a file name). */
void cs_error_prefix(clipsearch_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
