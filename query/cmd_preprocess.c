/* cmd_preprocess.c — placeholder until its issue lands. */
#include <stdio.h>

#include "cli.h"

int cmd_preprocess(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "clipsearch: 'preprocess' is not implemented yet\n");
    return CLI_EXIT_FAILURE;
}
