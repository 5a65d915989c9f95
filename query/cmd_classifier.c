/* cmd_classifier.c — personal classifiers: `clipsearch learn`, `clipsearch
 * classifiers` and `clipsearch forget` (ranking by one is `clipsearch
 * --classifier NAME`, in cmd_search.c).  The work is clipsearch/probe.h. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clipsearch/probe.h"

static void learn_usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch learn NAME --positive PATH... [--negative PATH...]\n"
            "                        [--like TEXT] [--force] [options]\n"
            "\n"
            "Trains a personal classifier NAME from example photos: a logistic regression on\n"
            "the library's image embeddings (a CLIP linear probe; its regularisation C chosen\n"
            "by 5-fold cross-validation over 10^-2..10^4), stored in the library with its\n"
            "training set.  Prints the cross-validated accuracy.  Then rank the library with\n"
            "'clipsearch --classifier NAME'.\n"
            "  clipsearch learn warm --positive ~/Pictures/sunsets ~/Pictures/fire.jpg\n"
            "  clipsearch learn my-dog --positive dog/ --negative cats/ --like 'a dog'\n"
            "\n"
            "  --positive PATH... photos or folders showing the concept (a folder means the\n"
            "                     library's photos under it; a photo not in the library is\n"
            "                     decoded and embedded)\n"
            "  --negative PATH... photos or folders that do not (default: random library\n"
            "                     photos, 10 per positive, at least 100, at most 1000)\n"
            "  --negatives N      how many random negatives instead\n"
            "  --like TEXT        start from what TEXT says (its zero-shot class vector, times\n"
            "                     exp(logit_scale)), the centre of the regulariser: a few\n"
            "                     examples then refine the words instead of starting from zero\n"
            "  --C VALUE          fix the regularisation constant (no cross-validation)\n"
            "  --force            replace a classifier of the same name\n"
            "  --json             print the result as one JSON object\n"
            "  --db PATH, --model DIR|REPO, --vocab PATH, --threads N   as for searching\n"
            "Exit codes: 0 stored, 1 failure (bad example, duplicate name...: nothing is\n"
            "stored), 2 bad command line, 3 no library or an empty one, 4 model missing or\n"
            "not the library's.\n");
}

static void print_json_number(double v)
{
    if (isfinite(v))
        printf("%.6g", v);
    else
        fputs("null", stdout);
}

static void print_info_json(const clipsearch_classifier_info *in)
{
    printf("{\"name\":");
    cli_print_json_string(stdout, in->name);
    printf(",\"model\":");
    cli_print_json_string(stdout, in->model_name);
    printf(",\"fingerprint\":");
    cli_print_json_string(stdout, in->model_fingerprint);
    printf(",\"dim\":%d,\"positives\":%d,\"negatives\":%d,\"random_negatives\":%s,\"C\":",
           in->dim, in->n_positive, in->n_negative, in->random_negatives ? "true" : "false");
    print_json_number(in->C);
    printf(",\"cv_folds\":%d,\"cv_accuracy\":", in->cv_folds);
    print_json_number(in->cv_folds ? in->cv_accuracy : NAN);
    printf(",\"cv_log_loss\":");
    print_json_number(in->cv_folds ? in->cv_log_loss : NAN);
    printf(",\"like\":");
    if (in->prior_text[0])
        cli_print_json_string(stdout, in->prior_text);
    else
        fputs("null", stdout);
    printf(",\"created\":%lld}\n", (long long)in->created_at);
}

static int parse_count(const char *v, const char *opt, int *out)
{
    char *end = NULL;
    long x;
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || end == v || *end || x <= 0 || x > 1000000) {
        fprintf(stderr, "clipsearch learn: %s: '%s' is not a number from 1 to 1000000\n", opt,
                v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int cmd_learn(int argc, char **argv)
{
    clipsearch_searcher_params sp = clipsearch_searcher_default_params();
    clipsearch_learn_params lp = clipsearch_learn_default_params();
    clipsearch_library_params wp = clipsearch_library_default_params();
    clipsearch_searcher *s = NULL;
    clipsearch_library *lib = NULL;
    clipsearch_classifier_info info;
    clipsearch_error err = {0};
    clipsearch_status st;
    const char **pos = NULL, **neg = NULL, *name = NULL, *v;
    int n_pos = 0, n_neg = 0, mode = 0 /* 1 positives, 2 negatives */, json = 0, bad = 0;
    int rc = CLI_EXIT_OK;

    pos = calloc((size_t)argc, sizeof *pos);
    neg = calloc((size_t)argc, sizeof *neg);
    if (!pos || !neg) {
        fprintf(stderr, "clipsearch: out of memory\n");
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            learn_usage(stdout);
            goto out;
        } else if (!strcmp(a, "--positive")) {
            mode = 1;
        } else if (!strcmp(a, "--negative")) {
            mode = 2;
        } else if (!strncmp(a, "--positive=", 11)) {
            pos[n_pos++] = a + 11;
            mode = 1;
        } else if (!strncmp(a, "--negative=", 11)) {
            neg[n_neg++] = a + 11;
            mode = 2;
        } else if (!strcmp(a, "--force")) {
            lp.replace = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if ((v = cli_option_value(argc, argv, &i, "--like", "learn", &bad))) {
            lp.like = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--negatives", "learn", &bad))) {
            if (parse_count(v, "--negatives", &lp.n_random_negatives) != 0)
                bad = 1;
        } else if ((v = cli_option_value(argc, argv, &i, "--C", "learn", &bad))) {
            char *end = NULL;
            lp.probe.C = strtod(v, &end);
            if (end == v || *end || !(lp.probe.C > 0) || !isfinite(lp.probe.C)) {
                fprintf(stderr, "clipsearch learn: --C: '%s' is not a positive number\n", v);
                bad = 1;
            }
        } else if ((v = cli_option_value(argc, argv, &i, "--db", "learn", &bad))) {
            sp.library = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--model", "learn", &bad))) {
            sp.model = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--vocab", "learn", &bad))) {
            sp.vocab = v;
            lp.vocab = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--threads", "learn", &bad))) {
            char *end = NULL;
            sp.n_threads = (int)strtol(v, &end, 10);
            if (end == v || *end || sp.n_threads < 0) {
                fprintf(stderr, "clipsearch learn: --threads: '%s' is not a count\n", v);
                bad = 1;
            }
        } else if (!bad && a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "clipsearch learn: bad option '%s' (or it needs a value)\n", a);
            bad = 1;
        } else if (!bad && mode == 1) {
            pos[n_pos++] = a;
        } else if (!bad && mode == 2) {
            neg[n_neg++] = a;
        } else if (!bad && !name) {
            name = a;
        } else if (!bad) {
            fprintf(stderr, "clipsearch learn: unexpected argument '%s' (photos go after "
                            "--positive or --negative)\n", a);
            bad = 1;
        }
    }
    if (!bad && !name) {
        fprintf(stderr, "clipsearch learn: no classifier NAME given\n");
        bad = 1;
    }
    if (!bad && n_pos == 0) {
        fprintf(stderr, "clipsearch learn: no positive examples: give photos or folders with "
                        "--positive\n");
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "Run 'clipsearch learn --help' for the options.\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    /* Open an existing library for writing first: that applies a schema
     * upgrade the read-only searcher would refuse.  Learning never creates
     * a library (the searcher then says there is none). */
    {
        char def[4096];
        const char *path = sp.library;
        clipsearch_library_params ro = clipsearch_library_default_params();
        ro.read_only = 1;
        if (!path && clipsearch_library_default_path(def, sizeof def, NULL) == CLIPSEARCH_OK)
            path = def;
        st = path ? clipsearch_library_open(path, &ro, &lib, &err) : CLIPSEARCH_ERR_NOT_FOUND;
        clipsearch_library_close(lib);
        lib = NULL;
        if (st != CLIPSEARCH_ERR_NOT_FOUND) {
            if ((st = clipsearch_library_open(path, &wp, &lib, &err)) != CLIPSEARCH_OK) {
                cli_print_error(&err);
                rc = CLI_EXIT_FAILURE;
                goto out;
            }
            clipsearch_library_close(lib);
            lib = NULL;
        }
    }
    if ((st = clipsearch_searcher_open(&sp, &s, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = cli_open_exit_code(st, &err);
        goto out;
    }
    if ((st = clipsearch_searcher_learn(s, name, pos, n_pos, neg, n_neg, &lp, &info, &err)) !=
        CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = st == CLIPSEARCH_ERR_MODEL ? CLI_EXIT_MODEL
             : st == CLIPSEARCH_ERR_INTERRUPTED ? CLI_EXIT_INTERRUPTED
                                                : CLI_EXIT_FAILURE;
        goto out;
    }
    if (json) {
        print_info_json(&info);
    } else {
        printf("learned '%s': %d positive and %d negative examples%s, model %s\n", info.name,
               info.n_positive, info.n_negative,
               info.random_negatives ? " (random library photos)" : "", info.model_name);
        if (info.prior_text[0])
            printf("prior        '%s' (class vector x %.4g)\n", info.prior_text,
                   info.prior_scale);
        if (lp.probe.C > 0)
            printf("C            %.4g (given)\n", info.C);
        else if (info.cv_folds > 0)
            printf("C            %.4g (by %d-fold cross-validation over 10^-2..10^4)\n",
                   info.C, info.cv_folds);
        else
            printf("C            %.4g (too few examples to cross-validate: it needs 5 of "
                   "each class)\n",
                   info.C);
        if (info.cv_folds > 0)
            printf("accuracy     %.3f (cross-validated; log-loss %.3f)\n", info.cv_accuracy,
                   info.cv_log_loss);
        else
            printf("accuracy     not measured (no cross-validation)\n");
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "clipsearch learn: writing the result: %s\n", strerror(errno));
        rc = CLI_EXIT_FAILURE;
    }
out:
    clipsearch_searcher_close(s);
    free(pos);
    free(neg);
    return rc;
}

/* ---- classifiers, forget -------------------------------------------------------- */

static int open_library(const char *db, int read_only, clipsearch_library **lib,
                        const char *command)
{
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_error err = {0};
    clipsearch_status st;
    (void)command;
    if (!read_only) {
        /* Never create a library just to find it has nothing to forget. */
        lp.read_only = 1;
        st = clipsearch_library_open(db, &lp, lib, &err);
        clipsearch_library_close(*lib);
        *lib = NULL;
        if (st == CLIPSEARCH_ERR_NOT_FOUND) {
            cli_print_error(&err);
            return CLI_EXIT_NO_LIBRARY;
        }
    }
    lp.read_only = read_only;
    if ((st = clipsearch_library_open(db, &lp, lib, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return st == CLIPSEARCH_ERR_NOT_FOUND ? CLI_EXIT_NO_LIBRARY : CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cmd_classifiers(int argc, char **argv)
{
    clipsearch_library *lib = NULL;
    clipsearch_classifier_info *infos = NULL;
    clipsearch_error err = {0};
    const char *db = NULL;
    int json = 0, n = 0, rc;
    if ((rc = cli_db_options(
             argc, argv, "classifiers",
             "usage: clipsearch classifiers [--db PATH] [--json]\n"
             "\n"
             "Lists the personal classifiers of the library (see 'clipsearch learn'):\n"
             "name, model, training examples, C and cross-validated accuracy.\n"
             "  --json   one JSON object a line\n",
             &db, &json)) >= 0)
        return rc;
    if (optind < argc) {
        fprintf(stderr, "clipsearch classifiers: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if ((rc = open_library(db, 1, &lib, "classifiers")) != CLI_EXIT_OK)
        return rc;
    if (clipsearch_classifier_list(lib, &infos, &n, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (json) {
        for (int i = 0; i < n; i++)
            print_info_json(&infos[i]);
    } else if (n == 0) {
        fprintf(stderr, "no classifiers (make one with clipsearch learn NAME --positive "
                        "PHOTO...)\n");
    } else {
        int w = 4;
        for (int i = 0; i < n; i++)
            if ((int)strlen(infos[i].name) > w)
                w = (int)strlen(infos[i].name);
        printf("%-*s  %-24s  %5s  %5s  %8s  %8s  %s\n", w, "name", "model", "pos", "neg", "C",
               "accuracy", "like");
        for (int i = 0; i < n; i++) {
            char acc[32];
            if (infos[i].cv_folds > 0)
                snprintf(acc, sizeof acc, "%.3f", infos[i].cv_accuracy);
            else
                snprintf(acc, sizeof acc, "-");
            printf("%-*s  %-24.24s  %5d  %5d  %8.3g  %8s  %s\n", w, infos[i].name,
                   infos[i].model_name, infos[i].n_positive, infos[i].n_negative, infos[i].C,
                   acc, infos[i].prior_text);
        }
    }
out:
    clipsearch_free(infos);
    clipsearch_library_close(lib);
    return rc;
}

int cmd_forget(int argc, char **argv)
{
    clipsearch_library *lib = NULL;
    clipsearch_error err = {0};
    const char *db = NULL;
    int rc;
    if ((rc = cli_db_options(
             argc, argv, "forget",
             "usage: clipsearch forget NAME [--db PATH]\n"
             "\n"
             "Deletes the personal classifier NAME and its training set (the photos\n"
             "stay).  Exit codes: 0 done, 1 no such classifier, 2 bad command line,\n"
             "3 no library.\n",
             &db, NULL)) >= 0)
        return rc;
    if (optind + 1 != argc) {
        fprintf(stderr, "clipsearch forget: give one classifier NAME (see 'clipsearch "
                        "classifiers')\n");
        return CLI_EXIT_USAGE;
    }
    if ((rc = open_library(db, 0, &lib, "forget")) != CLI_EXIT_OK)
        return rc;
    if (clipsearch_classifier_delete(lib, argv[optind], &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
    } else {
        printf("forgot classifier '%s'\n", argv[optind]);
    }
    clipsearch_library_close(lib);
    return rc;
}
