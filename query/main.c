/* clipsearch — the command-line program: searches by default, and
 * dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch [options] QUERY...     search the photo library\n"
            "       clipsearch COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  search      the same as without a command (for queries that are command names)\n"
            "  stats       what the library holds: photos, failures, models, sizes\n"
            "  export      the embeddings and metadata for other tools (.npy, JSON lines)\n"
            "  model       download and list CLIP models (model download, model list)\n"
            "  serve       the search page in a browser: a local web server\n"
            "  embed       print CLIP embeddings of images and texts as JSON lines\n"
            "  tokenize    print CLIP token ids of strings as JSON arrays\n"
            "  preprocess  write the float32 tensor the model sees for a photo\n"
            "  learn       train a personal classifier from example photos\n"
            "  classifiers list the personal classifiers (rank by one: --classifier NAME)\n"
            "  forget      delete a personal classifier\n"
            "  classify    zero-shot classification of photos against labels\n"
            "  tag         tag the library's photos from a vocabulary (automatic tags)\n"
            "  tags        list the library's tags and how many photos carry each\n"
            "  check       verify the library (--repair: fix what can be fixed)\n"
            "  duplicates  groups of identical and near-duplicate photos (never deletes)\n"
            "\n"
            "Every command that runs a model (search, serve, embed, classify, tag, learn)\n"
            "also takes --precision bf16|fp32|auto: the number format of the towers'\n"
            "matrix products (auto, the default: bf16 where the CPU has native bf16 dot\n"
            "products, AVX512_BF16 or AMX, else fp32; CLIPSEARCH_BACKEND=openblas runs\n"
            "fp32 on OpenBLAS instead of oneDNN).\n"
            "\n"
            "Run 'clipsearch search --help' for the search options and\n"
            "'clipsearch COMMAND --help' for a command's.\n"
            "Exit codes: 0 success, 1 failure, 2 bad command line, 3 no library or an\n"
            "empty one, 4 model missing or not the library's, 5 download failed,\n"
            "130 interrupted.\n"
            "'clipsearch --version' prints the version and the backends (BLAS, FAISS,\n"
            "precision).\n");
}

void cli_print_error(const clipsearch_error *err)
{
    fprintf(stderr, "clipsearch: %s\n",
            err->message[0] ? err->message : clipsearch_strerror(err->status));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (cli_take_precision(&argc, argv) != 0)
        return CLI_EXIT_USAGE;
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("clipsearch %s\n%s", clipsearch_version(), clipsearch_backends());
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "embed"))
        return cmd_embed(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tokenize"))
        return cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(argv[1], "preprocess"))
        return cmd_preprocess(argc - 1, argv + 1);
    if (!strcmp(argv[1], "search"))
        return cmd_search(argc - 1, argv + 1);
    if (!strcmp(argv[1], "duplicates"))
        return cmd_duplicates(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats"))
        return cmd_stats(argc - 1, argv + 1);
    if (!strcmp(argv[1], "export"))
        return cmd_export(argc - 1, argv + 1);
    if (!strcmp(argv[1], "classify"))
        return cmd_classify(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tag"))
        return cmd_tag(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tags"))
        return cmd_tags(argc - 1, argv + 1);
    if (!strcmp(argv[1], "model"))
        return cmd_model(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "learn"))
        return cmd_learn(argc - 1, argv + 1);
    if (!strcmp(argv[1], "classifiers"))
        return cmd_classifiers(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "forget"))
        return cmd_forget(argc - 1, argv + 1);
    /* Anything else is a search: `clipsearch dog on a beach`. */
    return cmd_search(argc, argv);
}
