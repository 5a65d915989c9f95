/* hub.h — private helpers shared by hub.c (model folders) and download.c
 * (fetching from the hub): repository names and HTTP response headers. */
#ifndef CS_HUB_H
#define CS_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

/* Checks a repository id "ORG/NAME" (or a single "NAME"): letters, digits,
 * '-', '_', '.', no "..", no leading '.', at most 96 characters each part.
 * Writes the folder name ORG--NAME (models--ORG--NAME without the prefix)
 * to folder[size] when folder is not NULL. */
clipsearch_status cs_hub_check_repo(const char *repo, char *folder, size_t size,
                                    clipsearch_error *err);

/* What download.c keeps from a response's headers. */
typedef struct cs_hub_headers {
    int status;            /* from the status line, 0 before one is seen */
    char etag[80];         /* ETag, normalised (no W/, no quotes) */
    char linked_etag[80];  /* X-Linked-Etag, normalised */
    int64_t content_length;   /* -1 if absent */
    int64_t linked_size;      /* X-Linked-Size, -1 if absent */
    int64_t range_start;      /* Content-Range "bytes S-E/T": S, -1 if absent */
    int64_t range_total;      /* T, -1 if absent or '*' */
    char commit[64];       /* X-Repo-Commit */
    char location[2048];   /* Location, "" if none */
    char error_code[64];   /* X-Error-Code (e.g. RepoNotFound, GatedRepo) */
} cs_hub_headers;

void cs_hub_headers_reset(cs_hub_headers *h);

/* Feeds one raw header line (as libcurl's header callback receives it,
 * CRLF included or not; not NUL-terminated).  A status line ("HTTP/...")
 * resets the fields first, so after a redirect followed by libcurl only the
 * last response's headers remain.  Never fails: malformed lines are
 * ignored. */
void cs_hub_parse_header(cs_hub_headers *h, const char *line, size_t len);

/* Kind of checksum an ETag value is: 2 = SHA-256 (64 hex digits), 1 = git
 * blob SHA-1 (40 hex digits), 0 = neither. */
int cs_hub_etag_kind(const char *etag);

/* The hub-cache snapshot of repository folder ORG--NAME (the one refs/main
 * names if complete, else the newest complete one) into out[size]; with
 * need_tokenizer, only one that also has vocab.json + merges.txt.
 * Returns 1 if found. */
int cs_hub_cache_snapshot(const char *folder, int need_tokenizer, char *out, size_t size);

#endif
