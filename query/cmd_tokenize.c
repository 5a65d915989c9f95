/* cmd_tokenize.c — placeholder until its issue lands. */
#include <stdio.h>

#include "cli.h"

int cmd_tokenize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "clipsearch: 'tokenize' is not implemented yet\n");
    return CLI_EXIT_FAILURE;
}
