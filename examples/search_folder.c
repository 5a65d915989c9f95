/*
 * search_folder.c — the smallest complete program on libclipsearch: indexes a
 * folder of photos into a library, then searches it by words and prints the
 * best matches.  Built against the installed library:
 *
 *   cc search_folder.c $(pkg-config --cflags --libs clipsearch) -o search_folder
 *   ./search_folder LIBRARY_DIR MODEL_DIR PHOTO_DIR "a red circle" [N]
 *
 * or with CMake (examples/CMakeLists.txt: find_package(clipsearch)).
 * Output: one line per result, "RANK SCORE PATH", best first.
 */
#include <clipsearch.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const clipsearch_error *err)
{
    fprintf(stderr, "search_folder: %s: %s\n", what,
            err->message[0] ? err->message : clipsearch_strerror(err->status));
    return 1;
}

int main(int argc, char **argv)
{
    clipsearch_error err = {0};
    clipsearch_library *lib = NULL;
    clipsearch_searcher *searcher = NULL;
    clipsearch_search_results *results = NULL;
    clipsearch_index_summary summary;
    int code = 1;

    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: search_folder LIBRARY_DIR MODEL_DIR PHOTO_DIR QUERY [N]\n");
        return 2;
    }
    /* The headers compiled against and the library loaded should agree. */
    if (strcmp(clipsearch_version(), CLIPSEARCH_VERSION) != 0)
        fprintf(stderr, "search_folder: warning: headers %s, library %s\n", CLIPSEARCH_VERSION,
                clipsearch_version());

    /* 1. Index the folder (creates the library if needed; a re-run only
     *    looks at what changed). */
    const char *roots[] = {argv[3]};
    clipsearch_index_params ip = clipsearch_index_default_params();
    if (clipsearch_library_open(argv[1], NULL, &lib, &err) != CLIPSEARCH_OK)
        return fail("opening the library", &err);
    if (clipsearch_library_index(lib, argv[2], roots, 1, &ip, &summary, &err) != CLIPSEARCH_OK) {
        fail("indexing", &err);
        goto out;
    }
    clipsearch_library_close(lib);
    lib = NULL;
    fprintf(stderr, "indexed %lld photos (%lld new)\n", (long long)summary.seen,
            (long long)summary.encoded);

    /* 2. Search it by words. */
    clipsearch_searcher_params sp = clipsearch_searcher_default_params();
    sp.library = argv[1];
    sp.model = argv[2];
    sp.one_shot = 1; /* one query, then exit: the quickest text tower to start */
    if (clipsearch_searcher_open(&sp, &searcher, &err) != CLIPSEARCH_OK) {
        fail("opening the searcher", &err);
        goto out;
    }
    clipsearch_query_term term = {CLIPSEARCH_TERM_TEXT, argv[4], 1.0f};
    clipsearch_search_params params = clipsearch_search_default_params();
    if (argc == 6)
        params.limit = atoi(argv[5]);
    if (clipsearch_searcher_search(searcher, &term, 1, &params, &results, &err) != CLIPSEARCH_OK) {
        fail("searching", &err);
        goto out;
    }
    for (int i = 0; i < results->n; i++)
        printf("%d %.6f %s\n", i + 1, results->items[i].score, results->items[i].path);
    code = 0;
out:
    clipsearch_search_results_free(results);
    clipsearch_searcher_close(searcher);
    clipsearch_library_close(lib);
    return code;
}
