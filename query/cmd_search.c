/* cmd_search.c — `clipsearch [options] QUERY...`: searches the library by
 * words, example photos and their combinations, and prints the results as a
 * table, paths or JSON lines.  The work is clipsearch_searcher_* (search.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch [options] QUERY...\n"
            "       clipsearch search [options] QUERY...\n"
            "\n"
            "Searches the photo library for QUERY (several words are one query).\n"
            "  clipsearch dog on a beach\n"
            "  clipsearch --image holiday/IMG_0042.jpg -n 20\n"
            "  clipsearch beach --add 2:sunset --subtract people\n"
            "\n"
            "query:\n"
            "  --image PATH       search by an example photo (need not be in the library)\n"
            "  --add [W:]Q        add a text or photo query Q (a path to an existing file is a\n"
            "                     photo), weighted by W (default 1); repeatable\n"
            "  --subtract [W:]Q   subtract one; repeatable\n"
            "                     All terms are combined on normalised embeddings:\n"
            "                     normalise(sum of W * normalise(embedding)).\n"
            "  --classifier NAME  rank by a personal classifier instead of a query (see\n"
            "                     'clipsearch learn'); scores are then its probabilities\n"
            "filters:\n"
            "  -n, --limit N      number of results (default 10)\n"
            "  --threshold S      only results with score (cosine similarity, or with\n"
            "                     --classifier the probability) >= S\n"
            "  --in DIR           only photos under folder DIR\n"
            "  --after DATE       only photos taken at or after DATE (EXIF capture time;\n"
            "  --before DATE      photos without one are left out); before is exclusive.\n"
            "                     DATE: YYYY, YYYY-MM, YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS'\n"
            "output (default: a table of rank, score and path, relative to the current\n"
            "folder when under it):\n"
            "  --paths            absolute paths only, one a line\n"
            "  -0, --null         absolute paths separated by NUL bytes (for xargs -0)\n"
            "  --json             one JSON object a line: rank, score, path (absolute),\n"
            "                     width, height, taken (null if unknown)\n"
            "  --exact            score every photo, also in a library large enough for an\n"
            "                     approximate index (slower; results are then exact)\n"
            "  --timing           print where the time went to standard error\n"
            "  --tag TAG          only photos tagged TAG (see 'clipsearch tag'); without a\n"
            "                     query, lists them (score = the tag's probability)\n"
            "library and model:\n"
            "  --db PATH          library folder (default: $CLIPSEARCH_DB, else\n"
            "                     $XDG_DATA_HOME/clipsearch, else ~/.local/share/clipsearch)\n"
            "  --model DIR|REPO   model folder or installed model (default: $CLIPSEARCH_MODEL,\n"
            "                     else the installed model the library was built with)\n"
            "  --vocab PATH       tokenizer files, if the model folder lacks them\n"
            "  --threads N        encoder threads (default: all cores)\n"
            "  --precision P      bf16, fp32 or auto (default: bf16 where the CPU has native\n"
            "                     bf16 dot products, else fp32); any command takes it\n"
            "  -h, --help\n"
            "\n"
            "Exit codes: 0 success (also when nothing matched), 1 failure, 2 bad command\n"
            "line, 3 no library or an empty one (run clipsearch-index), 4 model missing or\n"
            "not the one the library was built with.\n");
}

static int exit_code_for(clipsearch_status st)
{
    switch (st) {
    case CLIPSEARCH_ERR_MODEL:
        return CLI_EXIT_MODEL;
    case CLIPSEARCH_ERR_INTERRUPTED:
        return CLI_EXIT_INTERRUPTED;
    default:
        return CLI_EXIT_FAILURE;
    }
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int json_tag(const char *tag, float probability, void *user)
{
    int *first = user;
    printf("%s{\"tag\":", *first ? "" : ",");
    cli_print_json_string(stdout, tag);
    printf(",\"probability\":%.6f}", (double)probability);
    *first = 0;
    return 0;
}

/* ,"tags":[...] of one photo (this model's tags; [] if none). */
static void print_json_tags(clipsearch_searcher *s, int64_t file_id)
{
    int first = 1;
    fputs(",\"tags\":[", stdout);
    clipsearch_library_file_tags(clipsearch_searcher_library(s), clipsearch_searcher_model(s),
                                 file_id, json_tag, &first, NULL);
    fputs("]", stdout);
}

typedef struct tag_prob {
    const char *tag;
    float p;
} tag_prob;

static int find_tag(const char *tag, float probability, void *user)
{
    tag_prob *t = user;
    if (!strcmp(tag, t->tag)) {
        t->p = probability;
        return 1;
    }
    return 0;
}

/* Lists the photos tagged `tag` (no query): score = the tag's probability. */
static int print_tagged(clipsearch_searcher *s, const char *tag, const int64_t *ids, int64_t n,
                        int limit, int mode)
{
    int shown = 0;
    if (mode == 0 && n > 0)
        printf("%4s  %7s  %s\n", "rank", "prob", "path");
    for (int64_t i = 0; i < n && shown < limit; i++) {
        char *path = NULL;
        tag_prob t = {tag, 0};
        if (clipsearch_library_file_path(clipsearch_searcher_library(s), ids[i], &path, NULL) !=
            CLIPSEARCH_OK)
            continue;
        clipsearch_library_file_tags(clipsearch_searcher_library(s),
                                     clipsearch_searcher_model(s), ids[i], find_tag, &t, NULL);
        shown++;
        switch (mode) {
        case 0:
            printf("%4d  %7.4f  %s\n", shown, (double)t.p, path);
            break;
        case 1:
            printf("%s\n", path);
            break;
        case 2:
            fputs(path, stdout);
            fputc('\0', stdout);
            break;
        default:
            printf("{\"rank\":%d,\"score\":%.6f,\"path\":", shown, (double)t.p);
            cli_print_json_string(stdout, path);
            print_json_tags(s, ids[i]);
            fputs("}\n", stdout);
        }
        clipsearch_free(path);
    }
    if (mode == 0 && shown == 0)
        fprintf(stderr, "clipsearch: no photo is tagged '%s'\n", tag);
    return CLI_EXIT_OK;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum { OPT_IMAGE = 256, OPT_ADD, OPT_SUBTRACT, OPT_THRESHOLD, OPT_IN, OPT_AFTER, OPT_BEFORE,
       OPT_PATHS, OPT_JSON, OPT_DB, OPT_MODEL, OPT_VOCAB, OPT_THREADS, OPT_TIMING, OPT_TAG,
       OPT_CLASSIFIER, OPT_EXACT };

int cmd_search(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"image", required_argument, NULL, OPT_IMAGE},
        {"add", required_argument, NULL, OPT_ADD},
        {"subtract", required_argument, NULL, OPT_SUBTRACT},
        {"limit", required_argument, NULL, 'n'},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"in", required_argument, NULL, OPT_IN},
        {"after", required_argument, NULL, OPT_AFTER},
        {"before", required_argument, NULL, OPT_BEFORE},
        {"paths", no_argument, NULL, OPT_PATHS},
        {"null", no_argument, NULL, '0'},
        {"json", no_argument, NULL, OPT_JSON},
        {"db", required_argument, NULL, OPT_DB},
        {"model", required_argument, NULL, OPT_MODEL},
        {"vocab", required_argument, NULL, OPT_VOCAB},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"timing", no_argument, NULL, OPT_TIMING},
        {"exact", no_argument, NULL, OPT_EXACT},
        {"classifier", required_argument, NULL, OPT_CLASSIFIER},
        {"tag", required_argument, NULL, OPT_TAG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    clipsearch_searcher_params sp = clipsearch_searcher_default_params();
    clipsearch_search_params qp = clipsearch_search_default_params();
    clipsearch_searcher *s = NULL;
    clipsearch_search_results *res = NULL;
    const char *tag = NULL;
    int64_t *tagged = NULL, n_tagged = 0;
    clipsearch_query_term *terms = NULL;
    clipsearch_error err = {0};
    clipsearch_status st;
    char after[32], before[32], in_dir[PATH_MAX], cwd[PATH_MAX], *text = NULL;
    const char *classifier = NULL;
    int n_terms = 0, mode = 0 /* 0 table, 1 paths, 2 nul, 3 json */, timing = 0, rc = CLI_EXIT_OK;
    size_t text_len = 0;
    double t_start = now(), t_open = 0, t_search = 0;
    int c;

    /* Each option can add a term: at most argc of them. */
    if (!(terms = calloc((size_t)argc + 1, sizeof *terms))) {
        fprintf(stderr, "clipsearch: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "n:0h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case OPT_IMAGE:
            terms[n_terms].kind = CLIPSEARCH_TERM_IMAGE;
            terms[n_terms].value = optarg;
            terms[n_terms].weight = 1.0f;
            if (access(optarg, R_OK) != 0) {
                fprintf(stderr, "clipsearch: --image %s: %s\n", optarg, strerror(errno));
                rc = CLI_EXIT_FAILURE;
                goto out;
            }
            n_terms++;
            break;
        case OPT_ADD:
        case OPT_SUBTRACT:
            if (clipsearch_query_term_parse(optarg, c == OPT_ADD ? 1.0f : -1.0f,
                                            &terms[n_terms], &err) != CLIPSEARCH_OK) {
                cli_print_error(&err);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            n_terms++;
            break;
        case 'n':
            errno = 0;
            qp.limit = (int)strtol(optarg, &end, 10);
            if (errno || *end || qp.limit <= 0 || qp.limit > 1000000) {
                fprintf(stderr, "clipsearch: --limit: '%s' is not a number from 1 to 1000000\n",
                        optarg);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            break;
        case OPT_THRESHOLD:
            qp.min_score = strtof(optarg, &end);
            if (*end || end == optarg || !isfinite(qp.min_score)) {
                fprintf(stderr, "clipsearch: --threshold: '%s' is not a number\n", optarg);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            break;
        case OPT_IN:
            if (!realpath(optarg, in_dir)) {
                fprintf(stderr, "clipsearch: --in %s: %s\n", optarg, strerror(errno));
                rc = CLI_EXIT_FAILURE;
                goto out;
            }
            qp.under = in_dir;
            break;
        case OPT_AFTER:
        case OPT_BEFORE:
            if (clipsearch_parse_date(optarg, c == OPT_AFTER ? after : before) != CLIPSEARCH_OK) {
                fprintf(stderr,
                        "clipsearch: %s: '%s' is not a date (YYYY, YYYY-MM, YYYY-MM-DD or "
                        "'YYYY-MM-DD HH:MM:SS')\n",
                        c == OPT_AFTER ? "--after" : "--before", optarg);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            if (c == OPT_AFTER)
                qp.taken_after = after;
            else
                qp.taken_before = before;
            break;
        case OPT_PATHS:
            mode = 1;
            break;
        case '0':
            mode = 2;
            break;
        case OPT_JSON:
            mode = 3;
            break;
        case OPT_DB:
            sp.library = optarg;
            break;
        case OPT_MODEL:
            sp.model = optarg;
            break;
        case OPT_VOCAB:
            sp.vocab = optarg;
            break;
        case OPT_THREADS:
            sp.n_threads = (int)strtol(optarg, &end, 10);
            if (*end || sp.n_threads < 0) {
                fprintf(stderr, "clipsearch: --threads: '%s' is not a count\n", optarg);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            break;
        case OPT_TAG:
            tag = optarg;
            break;
        case OPT_TIMING:
            timing = 1;
            break;
        case OPT_EXACT:
            qp.exact = 1;
            break;
        case OPT_CLASSIFIER:
            classifier = optarg;
            break;
        case 'h':
            usage(stdout);
            goto out;
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "clipsearch: bad option -%c (or it needs a value)\n", optopt);
            else
                fprintf(stderr, "clipsearch: bad option '%s' (or it needs a value)\n",
                        argv[optind - 1]);
            fprintf(stderr, "Run 'clipsearch --help' for the options.\n");
            rc = CLI_EXIT_USAGE;
            goto out;
        }
    }
    /* The remaining words are one text query. */
    for (int i = optind; i < argc; i++)
        text_len += strlen(argv[i]) + 1;
    if (text_len > 0) {
        if (!(text = malloc(text_len))) {
            fprintf(stderr, "clipsearch: out of memory\n");
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        text[0] = '\0';
        for (int i = optind; i < argc; i++) {
            if (i > optind)
                strcat(text, " ");
            strcat(text, argv[i]);
        }
        /* The main query first, weight 1; it is text even if a file of that
         * name exists (use --image for photos). */
        memmove(terms + 1, terms, (size_t)n_terms * sizeof *terms);
        terms[0].kind = CLIPSEARCH_TERM_TEXT;
        terms[0].value = text;
        terms[0].weight = 1.0f;
        n_terms++;
    }
    if (classifier && n_terms > 0) {
        fprintf(stderr, "clipsearch: --classifier ranks by the classifier alone: give no "
                        "query words, --image, --add or --subtract with it\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (!classifier && ((n_terms == 0 && !tag) || (text && !text[strspn(text, " \t")]))) {
        fprintf(stderr, "clipsearch: no query: give words, --image PATH or --add Q\n"
                        "Run 'clipsearch --help' for the options.\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    sp.one_shot = 1; /* one search, then exit: the quickest text tower to start */
    if ((st = clipsearch_searcher_open(&sp, &s, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = cli_open_exit_code(st, &err);
        goto out;
    }
    t_open = now();
    if (tag) {
        if ((st = clipsearch_library_tagged(clipsearch_searcher_library(s),
                                            clipsearch_searcher_model(s), tag, &tagged,
                                            &n_tagged, &err)) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        if (n_terms == 0 && !classifier) {
            rc = print_tagged(s, tag, tagged, n_tagged, qp.limit, mode);
            goto out;
        }
    }
    {
        int limit = qp.limit;
        /* With a tag: rank the whole library (by the query or the
         * classifier), keep the tagged photos. */
        if (tag)
            qp.limit = (int)(clipsearch_searcher_model(s)->n_embeddings < 1000000
                                 ? clipsearch_searcher_model(s)->n_embeddings + 1
                                 : 1000000);
        st = classifier ? clipsearch_searcher_rank(s, classifier, &qp, &res, &err)
                        : clipsearch_searcher_search(s, terms, n_terms, &qp, &res, &err);
        if (st == CLIPSEARCH_OK && tag) {
            int k = 0;
            for (int i = 0; i < res->n; i++)
                if (bsearch(&res->items[i].file_id, tagged, (size_t)n_tagged, sizeof *tagged,
                            cmp_id) && k < limit)
                    res->items[k++] = res->items[i];
            res->n = k;
        }
    }
    if (st != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = exit_code_for(st);
        goto out;
    }
    t_search = now();
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    {
        int w = snprintf(NULL, 0, "%d", res->n);
        if (w < 4)
            w = 4;
        if (mode == 0 && res->n > 0)
            printf("%*s  %7s  %s\n", w, "rank", "score", "path");
        for (int i = 0; i < res->n; i++) {
            const clipsearch_search_result *it = &res->items[i];
            size_t cl = strlen(cwd);
            const char *shown = it->path;
            switch (mode) {
            case 0:
                if (cl > 1 && !strncmp(it->path, cwd, cl) && it->path[cl] == '/')
                    shown = it->path + cl + 1;
                else if (cl == 1 && it->path[0] == '/')
                    shown = it->path + 1;
                printf("%*d  %7.4f  %s\n", w, i + 1, (double)it->score, shown);
                break;
            case 1:
                printf("%s\n", it->path);
                break;
            case 2:
                fputs(it->path, stdout);
                fputc('\0', stdout);
                break;
            default:
                printf("{\"rank\":%d,\"score\":%.6f,\"path\":", i + 1, (double)it->score);
                cli_print_json_string(stdout, it->path);
                printf(",\"width\":%d,\"height\":%d,\"taken\":", it->width, it->height);
                if (it->taken[0])
                    cli_print_json_string(stdout, it->taken);
                else
                    fputs("null", stdout);
                print_json_tags(s, it->file_id);
                fputs("}\n", stdout);
            }
        }
        if (mode == 0 && res->n == 0)
            fprintf(stderr, "clipsearch: no photo matched\n");
    }
    if (clipsearch_library_note(clipsearch_searcher_library(s))[0])
        fprintf(stderr, "clipsearch: note: %s\n",
                clipsearch_library_note(clipsearch_searcher_library(s)));
    if (fflush(stdout) != 0) {
        fprintf(stderr, "clipsearch: writing the results: %s\n", strerror(errno));
        rc = CLI_EXIT_FAILURE;
    }
    if (timing) {
        clipsearch_searcher_times t;
        clipsearch_searcher_get_times(s, &t);
        fprintf(stderr,
                "timing: open %.1f ms, load model+tokenizer %.1f ms, embed %.1f ms (incl. "
                "load), search %.1f ms, total %.1f ms\n",
                (t_open - t_start) * 1e3, t.load_seconds * 1e3, t.embed_seconds * 1e3,
                t.search_seconds * 1e3, (t_search - t_start) * 1e3);
    }
out:
    clipsearch_search_results_free(res);
    clipsearch_searcher_close(s);
    free(terms);
    free(text);
    clipsearch_free(tagged);
    return rc;
}
