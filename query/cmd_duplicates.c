/* cmd_duplicates.c — `clipsearch duplicates`: groups of identical and
 * near-duplicate photos, best first, for the user to decide (never deletes). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch duplicates [--threshold S] [--in DIR] [--exact] [--json]\n"
            "                             [--db DIR] [--model DIR]\n"
            "\n"
            "Lists groups of photos that are the same picture: identical files (same\n"
            "content) and near-duplicates (resized, recompressed, lightly cropped or\n"
            "edited copies, burst shots) whose embeddings have a cosine similarity of at\n"
            "least S.  Each group lists its photos best first (most pixels, then largest\n"
            "file, then oldest), with sizes; the largest groups come first.  Nothing is\n"
            "deleted: the list is for you to decide.\n"
            "  --threshold S  similarity in (0, 1] (default %.2f; higher: fewer, closer\n"
            "                 copies)\n"
            "  --in DIR       only photos under folder DIR\n"
            "  --exact        identical files only (content hash), no similarity\n"
            "  --json         one group a line: {\"group\", \"bytes\", \"photos\": [{\"path\",\n"
            "                 \"size\", \"width\", \"height\", \"taken\", \"similarity\",\n"
            "                 \"identical\"}, ...]}\n"
            "  --db DIR       library folder (default as for searching)\n"
            "  --model DIR    the model whose embeddings are compared (default: the\n"
            "                 library's model with the most photos)\n"
            "Exit codes: 0 success (also when there are no duplicates), 1 failure, 2 bad\n"
            "command line, 3 no library, 4 the model is not in the library.\n",
            (double)CLIPSEARCH_DUPLICATES_DEFAULT_THRESHOLD);
}

enum { OPT_THRESHOLD = 256, OPT_IN, OPT_EXACT, OPT_JSON, OPT_DB, OPT_MODEL };

static void human(int64_t b, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    double x = (double)b;
    int u = 0;
    while (x >= 1000 && u < 4)
        x /= 1000, u++;
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", x, units[u]);
}

static void print_group(size_t g, const clipsearch_duplicate_group *gr, int json)
{
    char hb[32];
    if (json) {
        printf("{\"group\":%zu,\"bytes\":%lld,\"photos\":[", g + 1, (long long)gr->bytes);
        for (size_t k = 0; k < gr->n; k++) {
            const clipsearch_duplicate_photo *p = &gr->photos[k];
            printf("%s{\"path\":", k ? "," : "");
            cli_print_json_string(stdout, p->file.path);
            printf(",\"size\":%lld,\"width\":%d,\"height\":%d,\"taken\":",
                   (long long)p->file.size, p->file.width, p->file.height);
            if (p->file.taken[0])
                cli_print_json_string(stdout, p->file.taken);
            else
                printf("null");
            printf(",\"similarity\":%.4f,\"identical\":%s}", (double)p->similarity,
                   k > 0 && p->identical ? "true" : "false");
        }
        printf("]}\n");
        return;
    }
    human(gr->bytes, hb, sizeof hb);
    printf("group %zu: %zu photos, %s\n", g + 1, gr->n, hb);
    for (size_t k = 0; k < gr->n; k++) {
        const clipsearch_duplicate_photo *p = &gr->photos[k];
        char size[32], dims[32], how[32];
        human(p->file.size, size, sizeof size);
        snprintf(dims, sizeof dims, "%dx%d", p->file.width, p->file.height);
        if (k == 0)
            snprintf(how, sizeof how, "best");
        else if (p->identical)
            snprintf(how, sizeof how, "identical");
        else
            snprintf(how, sizeof how, "similar %.3f", (double)p->similarity);
        printf("  %-13s %11s %9s  %-19s  %s\n", how, dims, size,
               p->file.taken[0] ? p->file.taken : "-", p->file.path);
    }
}

int cmd_duplicates(int argc, char **argv)
{
    static const struct option longopts[] = {{"threshold", required_argument, 0, OPT_THRESHOLD},
                                             {"in", required_argument, 0, OPT_IN},
                                             {"exact", no_argument, 0, OPT_EXACT},
                                             {"json", no_argument, 0, OPT_JSON},
                                             {"db", required_argument, 0, OPT_DB},
                                             {"model", required_argument, 0, OPT_MODEL},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    clipsearch_duplicates_params dp = clipsearch_duplicates_default_params();
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library *lib = NULL;
    clipsearch_library_model models[32], model;
    clipsearch_duplicates *d = NULL;
    clipsearch_error err = {0};
    clipsearch_status st;
    const char *db = NULL, *model_dir = NULL, *in = NULL;
    char in_real[PATH_MAX];
    int json = 0, c, n_models = 0, rc = CLI_EXIT_OK;
    int64_t photos = 0, spare = 0;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case OPT_THRESHOLD:
            dp.threshold = strtof(optarg, &end);
            if (*end || end == optarg || !(dp.threshold > 0 && dp.threshold <= 1)) {
                fprintf(stderr, "clipsearch duplicates: --threshold: '%s' is not a similarity "
                                "in (0, 1]\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_IN: in = optarg; break;
        case OPT_EXACT: dp.exact_only = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_DB: db = optarg; break;
        case OPT_MODEL: model_dir = optarg; break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch duplicates: bad option '%s' (or it needs a value)\n",
                    argv[optind - 1]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clipsearch duplicates: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (in) {
        if (!realpath(in, in_real)) {
            fprintf(stderr, "clipsearch duplicates: --in: cannot find folder '%s'\n", in);
            return CLI_EXIT_FAILURE;
        }
        dp.under = in_real;
    }
    lp.read_only = 1;
    if ((st = clipsearch_library_open(db, &lp, &lib, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return st == CLIPSEARCH_ERR_NOT_FOUND ? CLI_EXIT_NO_LIBRARY : CLI_EXIT_FAILURE;
    }
    if (model_dir) {
        if ((st = clipsearch_library_find_model(lib, model_dir, &model, &err)) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = st == CLIPSEARCH_ERR_NOT_FOUND ? CLI_EXIT_MODEL : CLI_EXIT_FAILURE;
            goto out;
        }
    } else {
        if ((st = clipsearch_library_models(lib, models, 32, &n_models, &err)) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        if (n_models > 32)
            n_models = 32;
        if (n_models == 0) {
            fprintf(stderr, "clipsearch duplicates: the library holds no photos yet "
                            "(run clipsearch-index)\n");
            rc = CLI_EXIT_NO_LIBRARY;
            goto out;
        }
        model = models[0];
        for (int i = 1; i < n_models; i++)
            if (models[i].n_embeddings > model.n_embeddings)
                model = models[i];
    }
    if ((st = clipsearch_library_find_duplicates(lib, &model, &dp, &d, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    for (size_t g = 0; g < d->n_groups; g++) {
        print_group(g, &d->groups[g], json);
        photos += (int64_t)d->groups[g].n;
        for (size_t k = 1; k < d->groups[g].n; k++)
            spare += d->groups[g].photos[k].file.size;
    }
    if (!json) {
        char hb[32];
        human(spare, hb, sizeof hb);
        printf("%zu group%s, %lld photos in groups, %s in the photos after each group's "
               "first (of %lld photos compared%s)\n",
               d->n_groups, d->n_groups == 1 ? "" : "s", (long long)photos, hb,
               (long long)d->photos_compared, dp.exact_only ? ", identical files only" : "");
    }
out:
    clipsearch_duplicates_free(d);
    clipsearch_library_close(lib);
    return rc;
}
