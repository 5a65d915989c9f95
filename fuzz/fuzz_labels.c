/* fuzz_labels.c — the label/template/vocabulary list parsers over arbitrary
 * bytes (not NUL-terminated): comma lists and one-item-a-line files, with
 * the invariants each accepted list must keep. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const clipsearch_string_list *l, int templates)
{
    if (l->n <= 0)
        abort();
    for (int i = 0; i < l->n; i++) {
        size_t n = strlen(l->items[i]);
        if (n == 0 || l->items[i][0] == ' ' || l->items[i][n - 1] == ' ')
            abort();
        if (templates) {
            char *s = NULL;
            if (!strstr(l->items[i], "{}") ||
                clipsearch_fill_template(l->items[i], "x", &s, NULL) != CLIPSEARCH_OK)
                abort();
            clipsearch_free(s);
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(l->items[i], l->items[j]))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clipsearch_string_list l = {0, NULL};
    /* A private copy so reads past `size` are caught by the sanitizers. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (clipsearch_labels_parse(buf, size, &l, NULL) == CLIPSEARCH_OK) {
        check(&l, 0);
        clipsearch_string_list_free(&l);
    }
    for (int t = 0; t < 2; t++)
        if (clipsearch_list_parse(buf, size, t, &l, NULL) == CLIPSEARCH_OK) {
            check(&l, t);
            clipsearch_string_list_free(&l);
        }
    free(buf);
    return 0;
}
