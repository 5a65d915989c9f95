/* cmd_serve.c — `clipsearch serve`: the desktop search page on a local web
 * server (clipsearch/server.h).  Prints the page's URL as the first line of
 * standard output, optionally opens it, and runs until SIGINT or SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch serve [--db DIR] [--model DIR|REPO] [--port N] [--listen ADDR]\n"
            "                        [--open] [options]\n"
            "\n"
            "Serves the photo search page on this machine: open the printed URL in a\n"
            "browser, type words, see the matching photos.  The model and the vector\n"
            "index stay loaded, so each search takes milliseconds.  Re-indexing while it\n"
            "runs is fine: new photos show up without a restart.  Ctrl-C stops it.\n"
            "\n"
            "  --db PATH          library folder (default: $CLIPSEARCH_DB, else\n"
            "                     $XDG_DATA_HOME/clipsearch, else ~/.local/share/clipsearch)\n"
            "  --model DIR|REPO   model folder or installed model (default: $CLIPSEARCH_MODEL,\n"
            "                     else the installed model the library was built with)\n"
            "  --vocab PATH       tokenizer files, if the model folder lacks them\n"
            "  --port N           TCP port (default 8765; 0 takes a free one)\n"
            "  --listen ADDR      address to listen on (default 127.0.0.1, this machine\n"
            "                     only).  Another address (e.g. 0.0.0.0 for the whole\n"
            "                     network) prints a warning and requires the access token\n"
            "                     that the printed URL carries (?token=...).\n"
            "  --token TOKEN      use this access token instead of a random one\n"
            "  --require-token    require the token even on 127.0.0.1 (other local users)\n"
            "  --open             open the page in the desktop's browser (xdg-open)\n"
            "  --threads N        request threads (default: up to 4)\n"
            "  --precision P      bf16, fp32 or auto (default): the towers' number format\n"
            "  --timeout S        close connections silent for S seconds (default 30)\n"
            "  --cache DIR        thumbnail cache (default $XDG_CACHE_HOME/clipsearch/thumbs,\n"
            "                     else ~/.cache/clipsearch/thumbs); '' turns it off\n"
            "  -h, --help\n"
            "\n"
            "The first line on standard output is the page's URL.\n"
            "Exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 failure (e.g. port in use),\n"
            "2 bad command line, 3 no library or an empty one, 4 model missing or not\n"
            "the library's.\n");
}

enum { OPT_DB = 256, OPT_MODEL, OPT_VOCAB, OPT_PORT, OPT_LISTEN, OPT_OPEN, OPT_THREADS,
       OPT_CACHE, OPT_TOKEN, OPT_REQUIRE_TOKEN, OPT_TIMEOUT };

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || !*s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"model", required_argument, NULL, OPT_MODEL},
        {"vocab", required_argument, NULL, OPT_VOCAB},
        {"port", required_argument, NULL, OPT_PORT},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"open", no_argument, NULL, OPT_OPEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"cache", required_argument, NULL, OPT_CACHE},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"require-token", no_argument, NULL, OPT_REQUIRE_TOKEN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    clipsearch_server_params sp = clipsearch_server_default_params();
    clipsearch_server *srv = NULL;
    clipsearch_error err = {0};
    clipsearch_status st;
    sigset_t stop_signals;
    int open_page = 0, c, sig = 0;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            sp.library = optarg;
            break;
        case OPT_MODEL:
            sp.model = optarg;
            break;
        case OPT_VOCAB:
            sp.vocab = optarg;
            break;
        case OPT_PORT:
            if (parse_int(optarg, 0, 65535, &sp.port) != 0) {
                fprintf(stderr, "clipsearch serve: --port: '%s' is not a port (0 to 65535)\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_LISTEN:
            sp.listen = optarg;
            break;
        case OPT_OPEN:
            open_page = 1;
            break;
        case OPT_THREADS:
            if (parse_int(optarg, 1, 256, &sp.n_threads) != 0) {
                fprintf(stderr, "clipsearch serve: --threads: '%s' is not 1 to 256\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_TIMEOUT:
            if (parse_int(optarg, 1, 3600, &sp.connection_timeout) != 0) {
                fprintf(stderr, "clipsearch serve: --timeout: '%s' is not 1 to 3600 seconds\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_CACHE:
            sp.cache_dir = optarg;
            break;
        case OPT_TOKEN:
            sp.token = optarg;
            break;
        case OPT_REQUIRE_TOKEN:
            sp.require_token = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch serve: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clipsearch serve: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }

    /* The server's threads inherit this mask, so SIGINT/SIGTERM reach only
     * sigwait below and the server stops cleanly. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    st = clipsearch_server_start(&sp, &srv, &err);
    if (st != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return st == CLIPSEARCH_ERR_NOT_FOUND ? CLI_EXIT_NO_LIBRARY
               : st == CLIPSEARCH_ERR_MODEL   ? CLI_EXIT_MODEL
               : st == CLIPSEARCH_ERR_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                                       : CLI_EXIT_FAILURE;
    }
    printf("%s\n", clipsearch_server_url(srv));
    fflush(stdout);
    if (clipsearch_server_token(srv) && sp.listen) {
        fprintf(stderr,
                "clipsearch serve: WARNING: listening on %s, not only this machine: anyone who\n"
                "  can reach it and has the URL above (with its token) sees your photos.\n",
                sp.listen);
    }
    fprintf(stderr, "clipsearch serve: serving the library; Ctrl-C stops\n");
    if (open_page) {
        const char *url = clipsearch_server_url(srv);
        char *args[] = {(char *)"xdg-open", (char *)url, NULL};
        pid_t pid;
        if (posix_spawnp(&pid, "xdg-open", NULL, NULL, args, environ) != 0)
            fprintf(stderr, "clipsearch serve: cannot run xdg-open: open %s yourself\n", url);
    }
    while (sigwait(&stop_signals, &sig) != 0)
        ;
    fprintf(stderr, "clipsearch serve: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    clipsearch_server_stop(srv);
    return CLI_EXIT_OK;
}
