/* cmd_embed.c — placeholder until its issue lands. */
#include <stdio.h>

#include "cli.h"

int cmd_embed(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "clipsearch: 'embed' is not implemented yet\n");
    return CLI_EXIT_FAILURE;
}
