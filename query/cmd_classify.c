/* cmd_classify.c — `clipsearch classify`: zero-shot classification of
 * photos (files or the whole library) against labels. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch classify (--labels \"a,b,c\" | --labels-file FILE)\n"
            "                           [--templates FILE | --template \"a photo of a {}.\"]\n"
            "                           [--top K] [--json] (PHOTO... | --library [--in DIR])\n"
            "\n"
            "Zero-shot classification (CLIP's recipe): each label's class vector is the\n"
            "normalised mean of the normalised text embeddings of every template filled\n"
            "with it; a photo's score is its cosine with the class vector, its probability\n"
            "the softmax over the labels of exp(logit_scale) x score.  Prompt embeddings\n"
            "are cached in the library, per model.\n"
            "\n"
            "  --labels L          comma-separated labels\n"
            "  --labels-file F     one label a line ('#' comments, blank lines skipped)\n"
            "  --templates F       one template a line, each with {} where the label goes;\n"
            "                      'imagenet' = CLIP's 80 ImageNet templates, 'photos' = the\n"
            "                      default short set for personal photos, 'bare' = {} alone\n"
            "  --template T        one template (with {})\n"
            "  --top K             labels printed per photo (default 3)\n"
            "  --json              one object a line:\n"
            "                      {\"image\": PATH, \"labels\": [{\"label\": L, \"probability\": P,\n"
            "                       \"score\": S}, ...]}\n"
            "  --library           classify every photo of the library (stored embeddings)\n"
            "  --in DIR            with --library: only photos under DIR\n"
            "  --db DIR            the library (default $CLIPSEARCH_DB, else\n"
            "                      $XDG_DATA_HOME/clipsearch)\n"
            "  --model DIR         the model (default: the installed one the library uses)\n"
            "  --vocab PATH        tokenizer table (default: the model folder's)\n"
            "  --threads N         encoder threads (default: all cores)\n"
            "  --precision P       bf16, fp32 or auto (default): the towers' number format\n"
            "  -h, --help\n"
            "\n"
            "PHOTOs in the library use their stored embedding; others are decoded and\n"
            "embedded.  Exit codes: 0 success, 1 failure (bad labels or templates, an\n"
            "unreadable photo), 2 bad command line, 3 no library, 4 model problem.\n");
}

enum { OPT_LABELS = 256, OPT_LABELS_FILE, OPT_TEMPLATES, OPT_TEMPLATE, OPT_TOP, OPT_JSON,
       OPT_LIBRARY, OPT_IN, OPT_DB, OPT_MODEL, OPT_VOCAB, OPT_THREADS };

static const struct option longopts[] = {
    {"labels", required_argument, 0, OPT_LABELS},
    {"labels-file", required_argument, 0, OPT_LABELS_FILE},
    {"templates", required_argument, 0, OPT_TEMPLATES},
    {"template", required_argument, 0, OPT_TEMPLATE},
    {"top", required_argument, 0, OPT_TOP},
    {"json", no_argument, 0, OPT_JSON},
    {"library", no_argument, 0, OPT_LIBRARY},
    {"in", required_argument, 0, OPT_IN},
    {"db", required_argument, 0, OPT_DB},
    {"model", required_argument, 0, OPT_MODEL},
    {"vocab", required_argument, 0, OPT_VOCAB},
    {"threads", required_argument, 0, OPT_THREADS},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static void print_photo(const char *path, const clipsearch_string_list *labels,
                        const float *score, const float *prob, int top, int json)
{
    int *idx = malloc((size_t)labels->n * sizeof *idx);
    int m;
    if (!idx)
        return;
    m = clipsearch_top_k(prob, labels->n, top, idx);
    if (json) {
        printf("{\"image\": ");
        cli_print_json_string(stdout, path);
        printf(", \"labels\": [");
        for (int i = 0; i < m; i++) {
            printf("%s{\"label\": ", i ? ", " : "");
            cli_print_json_string(stdout, labels->items[idx[i]]);
            printf(", \"probability\": %.6g, \"score\": %.6g}", prob[idx[i]], score[idx[i]]);
        }
        printf("]}\n");
    } else {
        printf("%s\n", path);
        for (int i = 0; i < m; i++)
            printf("  %6.4f  %-24s (score %.4f)\n", prob[idx[i]], labels->items[idx[i]],
                   score[idx[i]]);
    }
    free(idx);
}

int cmd_classify(int argc, char **argv)
{
    clipsearch_searcher_params sp = clipsearch_searcher_default_params();
    clipsearch_searcher *s = NULL;
    clipsearch_library *cache = NULL;
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_model *model = NULL;
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_tokenizer *tok = NULL;
    clipsearch_string_list labels = {0, NULL}, templates = {0, NULL};
    clipsearch_class_params cp = clipsearch_class_default_params();
    clipsearch_error err = {0};
    clipsearch_status st;
    const char *labels_arg = NULL, *labels_file = NULL, *templates_arg = NULL,
               *template_arg = NULL;
    const char *const *tmpl;
    int n_tmpl = 0, top = 3, json = 0, library = 0, rc = CLI_EXIT_OK, c, dim;
    char in_dir[PATH_MAX], fp[CLIPSEARCH_FINGERPRINT_SIZE];
    const char *under = NULL;
    float *classes = NULL, *emb = NULL, *scores = NULL, *probs = NULL, scale;
    int64_t *ids = NULL, n = 0;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case OPT_LABELS: labels_arg = optarg; break;
        case OPT_LABELS_FILE: labels_file = optarg; break;
        case OPT_TEMPLATES: templates_arg = optarg; break;
        case OPT_TEMPLATE: template_arg = optarg; break;
        case OPT_JSON: json = 1; break;
        case OPT_LIBRARY: library = 1; break;
        case OPT_DB: sp.library = optarg; break;
        case OPT_MODEL: sp.model = optarg; break;
        case OPT_VOCAB: sp.vocab = optarg; break;
        case OPT_TOP:
            errno = 0;
            top = (int)strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || top <= 0) {
                fprintf(stderr, "clipsearch classify: --top: '%s' is not a positive count\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_THREADS:
            sp.n_threads = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || sp.n_threads < 0) {
                fprintf(stderr, "clipsearch classify: --threads: '%s' is not a count\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_IN:
            if (!realpath(optarg, in_dir)) {
                fprintf(stderr, "clipsearch classify: --in %s: %s\n", optarg, strerror(errno));
                return CLI_EXIT_FAILURE;
            }
            under = in_dir;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch classify: bad option '%s' (or it needs a value)\n"
                            "Run 'clipsearch classify --help' for the options.\n",
                    argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (!!labels_arg + !!labels_file != 1) {
        fprintf(stderr, "clipsearch classify: give exactly one of --labels and --labels-file\n");
        return CLI_EXIT_USAGE;
    }
    if (templates_arg && template_arg) {
        fprintf(stderr, "clipsearch classify: give --templates or --template, not both\n");
        return CLI_EXIT_USAGE;
    }
    if (library == (optind < argc)) {
        fprintf(stderr, "clipsearch classify: give PHOTO files or --library (not both)\n");
        return CLI_EXIT_USAGE;
    }
    if (under && !library) {
        fprintf(stderr, "clipsearch classify: --in goes with --library\n");
        return CLI_EXIT_USAGE;
    }
    /* Labels and templates first: bad ones fail before anything loads. */
    st = labels_arg ? clipsearch_labels_parse(labels_arg, strlen(labels_arg), &labels, &err)
                    : clipsearch_list_load(labels_file, 0, &labels, &err);
    if (st != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return CLI_EXIT_FAILURE;
    }
    if (template_arg) {
        if ((st = clipsearch_list_parse(template_arg, strlen(template_arg), 1, &templates,
                                        &err)) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        tmpl = (const char *const *)templates.items;
        n_tmpl = templates.n;
    } else if (!templates_arg || !strcmp(templates_arg, "photos")) {
        tmpl = clipsearch_builtin_templates(CLIPSEARCH_TEMPLATES_PHOTOS, &n_tmpl);
    } else if (!strcmp(templates_arg, "imagenet")) {
        tmpl = clipsearch_builtin_templates(CLIPSEARCH_TEMPLATES_IMAGENET, &n_tmpl);
    } else if (!strcmp(templates_arg, "bare")) {
        tmpl = clipsearch_builtin_templates(CLIPSEARCH_TEMPLATES_BARE, &n_tmpl);
    } else {
        if ((st = clipsearch_list_load(templates_arg, 1, &templates, &err)) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        tmpl = (const char *const *)templates.items;
        n_tmpl = templates.n;
    }
    /* A writable handle for the prompt cache (upgrades the schema); without
     * one (read-only folder) there is simply no cache. */
    if (clipsearch_library_open(sp.library, &lp, &cache, NULL) != CLIPSEARCH_OK)
        cache = NULL;
    if ((st = clipsearch_searcher_open(&sp, &s, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = cli_open_exit_code(st, &err);
        goto out;
    }
    dim = clipsearch_searcher_model(s)->dim;
    mp.towers = CLIPSEARCH_TOWER_TEXT;
    if ((st = clipsearch_model_load(clipsearch_searcher_model_dir(s), &mp, &model, &err)) !=
            CLIPSEARCH_OK ||
        (st = clipsearch_tokenizer_load(sp.vocab ? sp.vocab : clipsearch_searcher_model_dir(s),
                                        &tok, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_MODEL;
        goto out;
    }
    memcpy(fp, clipsearch_searcher_model(s)->fingerprint, sizeof fp);
    cp.n_threads = sp.n_threads;
    cp.cache = cache;
    cp.fingerprint = cache ? fp : NULL;
    if (!(classes = malloc((size_t)labels.n * dim * sizeof *classes))) {
        fprintf(stderr, "clipsearch: out of memory\n");
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if ((st = clipsearch_class_vectors(model, tok, (const char *const *)labels.items, labels.n,
                                       tmpl, n_tmpl, &cp, classes, NULL, &err)) !=
        CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    scale = clipsearch_model_logit_scale(model);
    if (library) {
        if ((st = clipsearch_library_get_embeddings(clipsearch_searcher_library(s),
                                                    clipsearch_searcher_model(s), &ids, &emb,
                                                    &n, &err)) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
    } else {
        n = argc - optind;
        if (!(emb = malloc((size_t)n * dim * sizeof *emb))) {
            fprintf(stderr, "clipsearch: out of memory\n");
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        for (int64_t i = 0; i < n; i++) {
            clipsearch_query_term t = {CLIPSEARCH_TERM_IMAGE, argv[optind + i], 1.0f};
            if ((st = clipsearch_searcher_embed(s, &t, 1, emb + (size_t)i * dim, &err)) !=
                CLIPSEARCH_OK) {
                cli_print_error(&err);
                rc = CLI_EXIT_FAILURE;
                goto out;
            }
        }
    }
    if (n > 0 && (!(scores = malloc((size_t)n * labels.n * sizeof *scores)) ||
                  !(probs = malloc((size_t)n * labels.n * sizeof *probs)))) {
        fprintf(stderr, "clipsearch: out of memory\n");
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (n > 0 && (st = clipsearch_classify_embeddings(emb, n, dim, classes, labels.n, scale,
                                                      scores, probs, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        char *path = NULL;
        const float *sc = scores + (size_t)i * labels.n, *pr = probs + (size_t)i * labels.n;
        if (!library) {
            print_photo(argv[optind + i], &labels, sc, pr, top, json);
            continue;
        }
        if ((st = clipsearch_library_file_path(clipsearch_searcher_library(s), ids[i], &path,
                                               &err)) != CLIPSEARCH_OK) {
            if (st == CLIPSEARCH_ERR_NOT_FOUND)
                continue; /* removed since */
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        if (!under || (!strncmp(path, under, strlen(under)) &&
                       (path[strlen(under)] == '/' || !strcmp(under, "/"))))
            print_photo(path, &labels, sc, pr, top, json);
        clipsearch_free(path);
    }
out:
    free(classes);
    clipsearch_free(emb);
    clipsearch_free(ids);
    free(scores);
    free(probs);
    clipsearch_tokenizer_free(tok);
    clipsearch_model_free(model);
    clipsearch_searcher_close(s);
    clipsearch_library_close(cache);
    clipsearch_string_list_free(&labels);
    clipsearch_string_list_free(&templates);
    return rc;
}
