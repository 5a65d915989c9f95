/* cli.h — shared declarations of the `clipsearch` program's subcommands.
 * Each subcommand lives in its own query/cmd_*.c and returns an exit code. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdio.h>

#include "clipsearch.h"

/* Exit codes of the clipsearch program (documented in --help and README). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1, /* the command ran and failed (bad input, model...) */
    CLI_EXIT_USAGE = 2,   /* bad command line */
    CLI_EXIT_NO_LIBRARY = 3, /* no library, or an empty one: run clipsearch-index */
    CLI_EXIT_MODEL = 4,   /* model missing, unloadable or not the library's */
    CLI_EXIT_NETWORK = 5, /* a download failed (network, HTTP error, checksum) */
    CLI_EXIT_INTERRUPTED = 130 /* Ctrl-C */
};

int cmd_embed(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_search(int argc, char **argv); /* argv[0] is "search" or the program name */
int cmd_stats(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_classifiers(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_tags(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_duplicates(int argc, char **argv);

/* Accepts "--name VALUE" and "--name=VALUE" at argv[*i]: returns the value
 * (advancing *i past it) or NULL when argv[*i] is another option; sets *bad
 * and prints a message when the value is missing. */
const char *cli_option_value(int argc, char **argv, int *i, const char *name, const char *command,
                             int *bad);

/* Writes s as a JSON string literal (bytes >= 0x80 are passed through). */
void cli_print_json_string(FILE *f, const char *s);

/* Prints "clipsearch: <message>" to stderr for a failed library call. */
void cli_print_error(const clipsearch_error *err);

/* Exit code for a failed clipsearch_searcher_open: CLI_EXIT_NO_LIBRARY when
 * there is no library or it is empty, CLI_EXIT_MODEL for a missing or bad
 * model, CLI_EXIT_INTERRUPTED when stopped, else CLI_EXIT_FAILURE. */
int cli_open_exit_code(clipsearch_status st, const clipsearch_error *err);

/* getopt_long over the options of a subcommand that takes only --db PATH,
 * -h/--help and, when json is not NULL, --json: sets *db (and *json).
 * Returns -1 to go on (optind is then the first operand), CLI_EXIT_OK after
 * printing help to stdout for --help, CLI_EXIT_USAGE after "clipsearch
 * COMMAND: bad option '...'" on stderr. */
/* Takes every "--precision VALUE" / "--precision=VALUE" out of argv[1..]
 * (shifting the rest down, updating *argc) and makes VALUE (bf16, fp32 or
 * auto) the process's precision for every tower the command runs
 * (clipsearch_engine_set_precision).  Returns 0, or CLI_EXIT_USAGE after a
 * message for a missing or unknown value. */
int cli_take_precision(int *argc, char **argv);

int cli_db_options(int argc, char **argv, const char *command, const char *help,
                   const char **db, int *json);

#endif
