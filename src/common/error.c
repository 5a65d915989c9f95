/* error.c — status strings and error message formatting. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *clipsearch_strerror(clipsearch_status status)
{
    switch (status) {
    case CLIPSEARCH_OK: return "no error";
    case CLIPSEARCH_ERR_INVALID_ARGUMENT: return "invalid argument";
    case CLIPSEARCH_ERR_OUT_OF_MEMORY: return "out of memory";
    case CLIPSEARCH_ERR_IO: return "input/output error";
    case CLIPSEARCH_ERR_FORMAT: return "malformed file";
    case CLIPSEARCH_ERR_MODEL: return "invalid or incomplete model";
    case CLIPSEARCH_ERR_UNSUPPORTED: return "unsupported";
    case CLIPSEARCH_ERR_TOO_LARGE: return "too large";
    case CLIPSEARCH_ERR_NOT_FOUND: return "not found";
    case CLIPSEARCH_ERR_DATABASE: return "database error";
    case CLIPSEARCH_ERR_INDEX: return "vector index error";
    case CLIPSEARCH_ERR_INTERRUPTED: return "interrupted";
    case CLIPSEARCH_ERR_NETWORK: return "network error";
    case CLIPSEARCH_ERR_INTERNAL: return "internal error";
    case CLIPSEARCH_ERR_BUSY: return "busy";
    }
    return "unknown status";
}

clipsearch_status cs_error_set(clipsearch_error *err, clipsearch_status status,
                               const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->status = status;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

void cs_error_prefix(clipsearch_error *err, const char *fmt, ...)
{
    char prefix[512];
    char old[CLIPSEARCH_ERROR_MESSAGE_SIZE];
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen;
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Built by hand: the result is cut to the buffer on purpose. */
    plen = strlen(prefix);
    if (plen > sizeof err->message - 3)
        plen = sizeof err->message - 3;
    memcpy(err->message, prefix, plen);
    memcpy(err->message + plen, ": ", 2);
    plen += 2;
    {
        size_t olen = strlen(old);
        if (olen > sizeof err->message - 1 - plen)
            olen = sizeof err->message - 1 - plen;
        memcpy(err->message + plen, old, olen);
        err->message[plen + olen] = '\0';
    }
}
