/* cli_util.c — small helpers shared by the clipsearch subcommands. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *cli_option_value(int argc, char **argv, int *i, const char *name, const char *command,
                             int *bad)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "clipsearch %s: %s needs a value\n", command, name);
        *bad = 1;
        return NULL;
    }
    return argv[++*i];
}

void cli_print_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

int cli_open_exit_code(clipsearch_status st, const clipsearch_error *err)
{
    if (st == CLIPSEARCH_ERR_NOT_FOUND &&
        (strstr(err->message, "no library") || strstr(err->message, "is empty")))
        return CLI_EXIT_NO_LIBRARY;
    if (st == CLIPSEARCH_ERR_NOT_FOUND || st == CLIPSEARCH_ERR_MODEL)
        return CLI_EXIT_MODEL;
    return st == CLIPSEARCH_ERR_INTERRUPTED ? CLI_EXIT_INTERRUPTED : CLI_EXIT_FAILURE;
}

int cli_db_options(int argc, char **argv, const char *command, const char *help,
                   const char **db, int *json)
{
    static const struct option with_json[] = {{"json", no_argument, NULL, 'j'},
                                              {"db", required_argument, NULL, 'd'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    const struct option *longopts = json ? with_json : with_json + 1; /* without --json */
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            *db = optarg;
            break;
        case 'j':
            *json = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch %s: bad option '%s'\n", command, argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

int cli_take_precision(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        clipsearch_precision p;
        if (!strcmp(argv[i], "--")) { /* the rest are operands (query words) */
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strncmp(argv[i], "--precision=", 12))
            v = argv[i] + 12;
        else if (!strcmp(argv[i], "--precision")) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "clipsearch: --precision needs a value: bf16, fp32 or auto\n");
                return CLI_EXIT_USAGE;
            }
            v = argv[++i];
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (clipsearch_precision_parse(v, &p) != 0) {
            fprintf(stderr, "clipsearch: --precision '%s': use bf16, fp32 or auto\n", v);
            return CLI_EXIT_USAGE;
        }
        clipsearch_engine_set_precision(p);
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}
