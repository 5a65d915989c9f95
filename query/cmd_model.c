/* cmd_model.c — `clipsearch model download|list|path`: getting models from
 * the Hugging Face hub and finding them on disk (clipsearch/hub.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch model download [options] [REPO]\n"
            "       clipsearch model list [--json]\n"
            "       clipsearch model path NAME\n"
            "\n"
            "download  fetches config.json, model.safetensors, vocab.json and merges.txt\n"
            "          (and preprocessor_config.json if present) of Hugging Face repository\n"
            "          REPO (default " CLIPSEARCH_DEFAULT_MODEL_REPO ")\n"
            "          into $XDG_CACHE_HOME/clipsearch/models/ORG--NAME (~/.cache/...).\n"
            "          An interrupted download resumes; every file is checked against the\n"
            "          checksum the hub states (SHA-256 for the weights, the git blob SHA-1\n"
            "          for small files) before it is put in place.  A complete copy in the\n"
            "          Hugging Face cache ($HF_HOME/hub, ~/.cache/huggingface/hub) is used\n"
            "          as it is.  Server: $HF_ENDPOINT (default " CLIPSEARCH_DEFAULT_HF_ENDPOINT
            ");\n"
            "          a gated repository needs $HF_TOKEN.\n"
            "  --dir DIR        download into DIR instead\n"
            "  --revision REV   branch, tag or commit (default main)\n"
            "  --endpoint URL   hub server (overrides $HF_ENDPOINT)\n"
            "  --no-hf-cache    download even if the Hugging Face cache has the model\n"
            "  --no-verify      accept files for which the server states no checksum\n"
            "  -q, --quiet      no progress\n"
            "list      shows the installed models (clipsearch's and the Hugging Face cache's)\n"
            "path      prints the folder of an installed model (NAME = ORG/NAME)\n"
            "\n"
            "Exit codes: 0 success, 1 failure, 2 bad command line, 5 download failed\n"
            "(network, HTTP error or checksum mismatch), 130 interrupted (run it again to\n"
            "resume).\n");
}

typedef struct ui {
    int quiet, tty;
    double last;
    int last_file;
    int shown;
} ui;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int on_progress(const clipsearch_download_progress *p, void *user)
{
    ui *u = user;
    double t = now();
    if (g_stop)
        return 1;
    if (u->quiet)
        return 0;
    if (u->tty) {
        char bar[31];
        int fill = p->total > 0 ? (int)(30 * p->done / p->total) : 0;
        if (t - u->last < 0.1 && !p->verifying && p->file_index == u->last_file)
            return 0;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K%-18.18s [%s] %7.1f/%.1f MB  %5.1f MB/s%s", p->file, bar,
                (double)p->done / 1e6, (double)p->total / 1e6, p->bytes_per_second / 1e6,
                p->verifying ? "  verifying" : "");
        u->shown = 1;
    } else if (p->verifying || t - u->last >= 10) {
        fprintf(stderr, "%s: %lld/%lld bytes%s\n", p->file, (long long)p->done,
                (long long)p->total, p->verifying ? ", verifying" : "");
    } else {
        return 0;
    }
    u->last = t;
    u->last_file = p->file_index;
    return 0;
}

static int cmd_download(int argc, char **argv)
{
    enum { O_DIR = 256, O_REV, O_ENDPOINT, O_NO_CACHE, O_NO_VERIFY };
    static const struct option longopts[] = {{"dir", required_argument, NULL, O_DIR},
                                             {"revision", required_argument, NULL, O_REV},
                                             {"endpoint", required_argument, NULL, O_ENDPOINT},
                                             {"no-hf-cache", no_argument, NULL, O_NO_CACHE},
                                             {"no-verify", no_argument, NULL, O_NO_VERIFY},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    clipsearch_download_params p = clipsearch_download_default_params();
    clipsearch_download_summary sum;
    clipsearch_error err = {0};
    clipsearch_status st;
    struct sigaction sa;
    const char *repo = CLIPSEARCH_DEFAULT_MODEL_REPO;
    char dir[4096];
    ui u;
    int c;
    memset(&u, 0, sizeof u);
    u.last_file = -1;
    u.last = now();
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case O_DIR:
            p.dest_dir = optarg;
            break;
        case O_REV:
            p.revision = optarg;
            break;
        case O_ENDPOINT:
            p.endpoint = optarg;
            break;
        case O_NO_CACHE:
            p.use_hf_cache = 0;
            break;
        case O_NO_VERIFY:
            p.allow_unverified = 1;
            break;
        case 'q':
            u.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch model download: bad option '%s'\n", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        repo = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "clipsearch model download: one repository at a time\n");
        return CLI_EXIT_USAGE;
    }
    u.tty = isatty(STDERR_FILENO);
    p.progress = on_progress;
    p.user = &u;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    st = clipsearch_model_download(repo, &p, dir, sizeof dir, &sum, &err);
    if (u.shown)
        fputs("\r\033[K", stderr);
    if (st != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return st == CLIPSEARCH_ERR_INTERRUPTED ? CLI_EXIT_INTERRUPTED
               : st == CLIPSEARCH_ERR_NETWORK || st == CLIPSEARCH_ERR_FORMAT ? CLI_EXIT_NETWORK
                                                                            : CLI_EXIT_FAILURE;
    }
    if (!u.quiet) {
        if (sum.from_hf_cache)
            fprintf(stderr, "%s is in the Hugging Face cache; using it in place\n", repo);
        else
            fprintf(stderr,
                    "%s: %d file%s downloaded (%d resumed), %d already present, %.1f MB%s%s\n",
                    repo, sum.files_downloaded, sum.files_downloaded == 1 ? "" : "s",
                    sum.files_resumed, sum.files_present, (double)sum.bytes / 1e6,
                    sum.revision[0] ? ", revision " : "", sum.revision);
        if (sum.files_unverified)
            fprintf(stderr, "warning: %d file%s accepted without a checksum (--no-verify)\n",
                    sum.files_unverified, sum.files_unverified == 1 ? "" : "s");
        fprintf(stderr, "use it with: export CLIPSEARCH_MODEL=%s\n", dir);
    }
    printf("%s\n", dir);
    return CLI_EXIT_OK;
}

static int print_model(const clipsearch_installed_model *m, void *user)
{
    int json = *(int *)user & 1;
    const char *src = m->source == CLIPSEARCH_SOURCE_HF_CACHE ? "hf-cache" : "clipsearch";
    if (json) {
        /* Names and paths come from folder names: escape quotes and backslashes. */
        printf("{\"repo\":\"");
        for (const char *s = m->repo; *s; s++)
            printf(*s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
        printf("\",\"path\":\"");
        for (const char *s = m->path; *s; s++)
            printf(*s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
        printf("\",\"source\":\"%s\",\"weights_bytes\":%lld,\"tokenizer\":%s}\n", src,
               (long long)m->weights_bytes, m->has_tokenizer ? "true" : "false");
    } else {
        printf("%-45s %8.1f MB  %-10s %-12s %s\n", m->repo, (double)m->weights_bytes / 1e6, src,
               m->has_tokenizer ? "" : "no-tokenizer", m->path);
    }
    (*(int *)user) |= 2;
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    clipsearch_error err = {0};
    char dir[4096];
    int json = argc > 1 && !strcmp(argv[1], "--json");
    if (argc > 1 + json) {
        fprintf(stderr, "clipsearch model list: unexpected argument '%s'\n", argv[1 + json]);
        return CLI_EXIT_USAGE;
    }
    if (clipsearch_models_list(print_model, &json, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return CLI_EXIT_FAILURE;
    }
    if (!(json & 2) && !(json & 1)) {
        if (clipsearch_models_dir(dir, sizeof dir, NULL) != CLIPSEARCH_OK)
            dir[0] = '\0';
        fprintf(stderr,
                "no models installed (looked in %s and the Hugging Face cache): "
                "run 'clipsearch model download'\n",
                dir);
    }
    return CLI_EXIT_OK;
}

int cmd_model(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "download"))
        return cmd_download(argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return cmd_list(argc - 1, argv + 1);
    if (!strcmp(argv[1], "path")) {
        clipsearch_error err = {0};
        char dir[4096];
        if (argc != 3) {
            fprintf(stderr, "usage: clipsearch model path NAME\n");
            return CLI_EXIT_USAGE;
        }
        if (clipsearch_model_resolve(argv[2], dir, sizeof dir, &err) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            return CLI_EXIT_MODEL;
        }
        printf("%s\n", dir);
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "clipsearch model: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
