/* cmd_export.c — `clipsearch export`: the library's embeddings and metadata
 * for other tools (clip-retrieval / autofaiss layout, or JSON lines). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch export [--db PATH] [--format npy|jsonl] [--model NAME] DIR\n"
            "\n"
            "Writes every embedded photo's embedding (L2-normalised float32) and\n"
            "metadata (id, path, width, height, taken) to folder DIR, ordered by id:\n"
            "  npy (default)  DIR/img_emb/img_emb_0.npy, float32 [N, dim], and\n"
            "                 DIR/metadata/metadata_0.jsonl, line i = row i: the layout\n"
            "                 clip-retrieval writes and autofaiss reads\n"
            "  jsonl          DIR/embeddings.jsonl, one object per photo with its\n"
            "                 \"embedding\"\n"
            "  --db PATH      library folder (default as for searching)\n"
            "  --model NAME   the library's model to export (a name shown by\n"
            "                 'clipsearch stats'); needed only when it holds several\n"
            "Files are written under a temporary name and renamed when complete.\n"
            "Exit codes: 0 success, 1 failure, 2 bad command line, 3 no library or an\n"
            "empty one.\n");
}

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"model", required_argument, NULL, 'm'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library *lib = NULL;
    clipsearch_library_model models[32];
    const clipsearch_library_model *chosen = NULL;
    clipsearch_export_format format = CLIPSEARCH_EXPORT_NPY;
    clipsearch_error err = {0};
    clipsearch_status st;
    const char *db = NULL, *model = NULL;
    int n_models = 0, used = 0, rc = CLI_EXIT_OK, c;
    int64_t rows = 0;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'f':
            if (!strcmp(optarg, "npy"))
                format = CLIPSEARCH_EXPORT_NPY;
            else if (!strcmp(optarg, "jsonl"))
                format = CLIPSEARCH_EXPORT_JSONL;
            else {
                fprintf(stderr, "clipsearch export: --format: '%s' is not npy or jsonl\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'm':
            model = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch export: bad option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "clipsearch export: %s\n",
                optind >= argc ? "no output folder given" : "only one output folder");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    lp.read_only = 1;
    if ((st = clipsearch_library_open(db, &lp, &lib, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return st == CLIPSEARCH_ERR_NOT_FOUND ? CLI_EXIT_NO_LIBRARY : CLI_EXIT_FAILURE;
    }
    if (clipsearch_library_models(lib, models, 32, &n_models, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (n_models > 32)
        n_models = 32;
    for (int i = 0; i < n_models; i++) {
        if (models[i].n_embeddings <= 0)
            continue;
        used++;
        if (!model ? !chosen : !strcmp(models[i].name, model))
            chosen = &models[i];
    }
    if (!chosen || (!model && used > 1)) {
        if (used == 0)
            fprintf(stderr, "clipsearch export: the library %s is empty: index photos first\n",
                    clipsearch_library_path(lib));
        else
            fprintf(stderr,
                    "clipsearch export: %s; pass --model with one of:",
                    model ? "the library has no photos indexed with that model"
                          : "the library holds photos of several models");
        for (int i = 0; used && i < n_models; i++)
            if (models[i].n_embeddings > 0)
                fprintf(stderr, " %s", models[i].name);
        if (used)
            fputc('\n', stderr);
        rc = used == 0 ? CLI_EXIT_NO_LIBRARY : CLI_EXIT_USAGE;
        goto out;
    }
    if (clipsearch_library_export(lib, chosen, format, argv[optind], &rows, &err) !=
        CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    fprintf(stderr, "clipsearch export: %lld photos (%s, dim %d) written to %s\n",
            (long long)rows, chosen->name, chosen->dim, argv[optind]);
out:
    clipsearch_library_close(lib);
    return rc;
}
