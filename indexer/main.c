/* clipsearch-index — indexes photo folders into a clipsearch library.
 * Not implemented yet: see the indexer issue. */
#include <stdio.h>
#include <string.h>

#include "clipsearch.h"

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--version"))) {
        printf("clipsearch-index %s\n", clipsearch_version());
        return 0;
    }
    fprintf(stderr, "clipsearch-index: indexing is not implemented yet in this version\n");
    return 2;
}
