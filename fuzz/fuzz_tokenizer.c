/* fuzz_tokenizer.c — arbitrary bytes through CLIP's tokenizer.
 *
 * The table is loaded once, from $CLIPSEARCH_FIXTURES_DIR/tokenizer (or
 * ../shared/fixtures/tokenizer); without it the target does nothing.  The
 * first byte picks the context length, so truncation is exercised too.
 * Crashes, sanitizer reports and leaks are the verdict; the ids are also
 * checked for the invariants every result must meet. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "tokenizer_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static clipsearch_tokenizer *load_once(void)
{
    static clipsearch_tokenizer *tok;
    static int tried;
    if (!tried) {
        char path[4096];
        const char *root = getenv("CLIPSEARCH_FIXTURES_DIR");
        tried = 1;
        snprintf(path, sizeof path, "%s/tokenizer", root && *root ? root : "../shared/fixtures");
        if (clipsearch_tokenizer_load(path, &tok, NULL) != CLIPSEARCH_OK)
            tok = NULL;
    }
    return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clipsearch_tokenizer *tok = load_once();
    int32_t ids[300];
    int ctx, n = -1;
    char *clean = NULL;
    size_t clean_len = 0;
    if (!tok)
        return 0;
    ctx = size ? 2 + data[0] % 255 : 77;
    if (clipsearch_tokenize(tok, (const char *)data, size, ids, ctx, &n, NULL) != CLIPSEARCH_OK)
        abort();
    if (n < 2 || n > ctx || ids[0] != CLIPSEARCH_TOKEN_SOT || ids[n - 1] != CLIPSEARCH_TOKEN_EOT)
        abort();
    for (int i = 0; i < ctx; i++)
        if (i >= n ? ids[i] != 0 : (ids[i] < 0 || ids[i] >= 49408))
            abort();
    if (cs_clip_clean_utf8((const char *)data, size, &clean, &clean_len, NULL) != CLIPSEARCH_OK)
        abort();
    if (strlen(clean) > clean_len) /* NUL-terminated, interior NULs allowed */
        abort();
    free(clean);
    return 0;
}
