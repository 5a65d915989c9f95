/* fuzz_hub_headers.c — libFuzzer target for the HTTP response header parser
 * of the model downloader (cs_hub_parse_header) and the repository-name and
 * ETag checks.  Input: header lines separated by '\n', fed one at a time
 * without NUL termination, as libcurl hands them over. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_hub_headers h;
    const char *p = (const char *)data, *end = p + size;
    char name[256], folder[256];
    cs_hub_headers_reset(&h);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char *line = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
        if (!line)
            abort();
        memcpy(line, p, len);
        cs_hub_parse_header(&h, line, len);
        free(line);
        p += len;
    }
    /* The contract: strings stay terminated, numbers sane. */
    if (strlen(h.etag) >= sizeof h.etag || strlen(h.linked_etag) >= sizeof h.linked_etag ||
        strlen(h.location) >= sizeof h.location || strlen(h.commit) >= sizeof h.commit ||
        h.content_length < -1 || h.linked_size < -1 || h.range_start < -1 ||
        h.status < 0 || h.status > 999)
        abort();
    (void)cs_hub_etag_kind(h.etag);
    /* The first line as a repository name. */
    {
        size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
        const char *nl = memchr(data, '\n', n);
        if (nl)
            n = (size_t)(nl - (const char *)data);
        memcpy(name, data, n);
        name[n] = '\0';
        if (cs_hub_check_repo(name, folder, sizeof folder, NULL) == 0 &&
            (strstr(folder, "..") || folder[0] == '.' || strchr(folder, '/')))
            abort(); /* an accepted name must be a safe folder name */
    }
    return 0;
}
