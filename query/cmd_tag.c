/* cmd_tag.c — `clipsearch tag` (automatic tags from a vocabulary) and
 * `clipsearch tags` (tags and their counts). */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch tag [--vocabulary FILE|builtin] [--threshold P] [--db DIR]\n"
            "                      [--model DIR] [--vocab PATH] [--threads N]\n"
            "       clipsearch tags [--db DIR] [--model DIR]\n"
            "\n"
            "tag: classifies every photo of the library against a vocabulary (default: a\n"
            "built-in one of everyday photo concepts; FILE: one concept a line) plus a\n"
            "built-in 'background' set, and keeps each concept whose probability is at\n"
            "least P (default %.2f) as a tag, per model, replacing earlier tags.  The\n"
            "vocabulary and threshold are remembered: clipsearch-index then tags new\n"
            "photos as it indexes them.\n"
            "tags: lists the tags with how many photos carry each.\n",
            (double)CLIPSEARCH_TAG_DEFAULT_THRESHOLD);
}

enum { OPT_VOCABULARY = 256, OPT_THRESHOLD, OPT_DB, OPT_MODEL, OPT_VOCAB, OPT_THREADS };

static const struct option longopts[] = {
    {"vocabulary", required_argument, 0, OPT_VOCABULARY},
    {"threshold", required_argument, 0, OPT_THRESHOLD},
    {"db", required_argument, 0, OPT_DB},
    {"model", required_argument, 0, OPT_MODEL},
    {"vocab", required_argument, 0, OPT_VOCAB},
    {"threads", required_argument, 0, OPT_THREADS},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static int run(int argc, char **argv, int list)
{
    clipsearch_searcher_params sp = clipsearch_searcher_default_params();
    clipsearch_tag_params tp = clipsearch_tag_default_params();
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_searcher *s = NULL;
    clipsearch_library *lib = NULL;
    clipsearch_error err = {0};
    clipsearch_status st;
    clipsearch_tag_summary sum;
    char model_dir[PATH_MAX];
    int c, rc = CLI_EXIT_OK;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case OPT_VOCABULARY: tp.vocabulary = optarg; break;
        case OPT_DB: sp.library = optarg; break;
        case OPT_MODEL: sp.model = optarg; break;
        case OPT_VOCAB: sp.vocab = tp.vocab = optarg; break;
        case OPT_THRESHOLD:
            tp.threshold = strtof(optarg, &end);
            if (*end || end == optarg || !(tp.threshold > 0 && tp.threshold <= 1)) {
                fprintf(stderr, "clipsearch tag: --threshold: '%s' is not a probability in "
                                "(0, 1]\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_THREADS:
            tp.n_threads = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || tp.n_threads < 0) {
                fprintf(stderr, "clipsearch tag: --threads: '%s' is not a count\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch %s: bad option '%s' (or it needs a value)\n",
                    list ? "tags" : "tag", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc || (list && (tp.vocabulary || tp.threshold > 0))) {
        fprintf(stderr, "clipsearch %s: unexpected argument\n", list ? "tags" : "tag");
        return CLI_EXIT_USAGE;
    }
    if ((st = clipsearch_searcher_open(&sp, &s, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return cli_open_exit_code(st, &err);
    }
    if (list) {
        clipsearch_tag_count *tags = NULL;
        int n = 0;
        if ((st = clipsearch_library_tag_counts(clipsearch_searcher_library(s),
                                                clipsearch_searcher_model(s), &tags, &n,
                                                &err)) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
        }
        for (int i = 0; i < n; i++)
            printf("%8lld  %s\n", (long long)tags[i].count, tags[i].tag);
        if (st == CLIPSEARCH_OK && n == 0)
            fprintf(stderr, "clipsearch tags: no tags yet (run 'clipsearch tag')\n");
        clipsearch_free(tags);
        clipsearch_searcher_close(s);
        return rc;
    }
    snprintf(model_dir, sizeof model_dir, "%s", clipsearch_searcher_model_dir(s));
    if ((st = clipsearch_library_open(clipsearch_library_path(clipsearch_searcher_library(s)),
                                      &lp, &lib, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        clipsearch_searcher_close(s);
        return CLI_EXIT_FAILURE;
    }
    clipsearch_searcher_close(s);
    tp.model_dir = model_dir;
    if ((st = clipsearch_library_tag(lib, &tp, &sum, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = st == CLIPSEARCH_ERR_MODEL ? CLI_EXIT_MODEL : CLI_EXIT_FAILURE;
    } else {
        printf("tagged %lld photos: %lld tags from %d concepts (threshold %.3g)\n",
               (long long)sum.photos, (long long)sum.tags, sum.n_vocabulary,
               (double)sum.threshold);
    }
    clipsearch_library_close(lib);
    return rc;
}

int cmd_tag(int argc, char **argv) { return run(argc, argv, 0); }
int cmd_tags(int argc, char **argv) { return run(argc, argv, 1); }
