/* cli.h — shared declarations of the `clipsearch` program's subcommands.
 * Each subcommand lives in its own query/cmd_*.c and returns an exit code. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include "clipsearch.h"

/* Exit codes of the clipsearch program (documented in --help and README). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1, /* the command ran and failed (bad input, model...) */
    CLI_EXIT_USAGE = 2    /* bad command line */
};

int cmd_embed(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);

/* Prints "clipsearch: <message>" to stderr for a failed library call. */
void cli_print_error(const clipsearch_error *err);

#endif
