/* fuzz_query.c — the query-text parsers over arbitrary bytes: query terms
 * with weights ("2:beach", "-0.5:people", a photo path) and filter dates. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clipsearch_query_term term;
    char date[CLIPSEARCH_DATE_SIZE];
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (clipsearch_query_term_parse(text, -1.0f, &term, NULL) == CLIPSEARCH_OK) {
        /* The value is a non-empty suffix of the input. */
        if (!term.value[0] || term.value < text || term.value > text + size)
            abort();
    }
    if (clipsearch_parse_date(text, date) == CLIPSEARCH_OK && strlen(date) != strlen(text))
        abort();
    free(text);
    return 0;
}
