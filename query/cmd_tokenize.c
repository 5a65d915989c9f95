/* cmd_tokenize.c — `clipsearch tokenize`: prints CLIP token ids of strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch tokenize [--model DIR] [--vocab PATH] [--context N] STRING...\n"
            "       clipsearch tokenize [options] --stdin\n"
            "\n"
            "Prints the CLIP token ids of each STRING (or of each line of standard input\n"
            "with --stdin) as one JSON array a line, from <|startoftext|> (49406) to\n"
            "<|endoftext|> (49407), without the zero padding:\n"
            "  clipsearch tokenize 'dog on a beach'  ->  [49406, 1929, 525, 320, 2117, 49407]\n"
            "\n"
            "options:\n"
            "  --model DIR    model directory: its tokenizer files (vocab.json + merges.txt,\n"
            "                 or bpe_simple_vocab_16e6.txt.gz) and its context length\n"
            "                 (config.json text_config.max_position_embeddings)\n"
            "  --vocab PATH   tokenizer table: a directory, vocab.json, merges.txt or\n"
            "                 bpe_simple_vocab_16e6.txt.gz (overrides the model's)\n"
            "  --context N    context length, >= 2 (default: the model's, else 77); longer\n"
            "                 token lists are cut to N ending with <|endoftext|>\n"
            "  --stdin        read the strings from standard input, one a line\n"
            "  -h, --help     this help\n"
            "\n"
            "Without --model and --vocab the model directory is $CLIPSEARCH_MODEL.\n"
            "Exit codes: 0 success, 1 failure, 2 bad command line.\n");
}

static int print_ids(clipsearch_tokenizer *tok, const char *text, size_t len, int32_t *ids,
                     int context)
{
    clipsearch_error err = {0};
    int n = 0;
    if (clipsearch_tokenize(tok, text, len, ids, context, &n, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return 0;
    }
    putchar('[');
    for (int k = 0; k < n; k++)
        printf(k ? ", %d" : "%d", (int)ids[k]);
    fputs("]\n", stdout);
    return 1;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *vocab = NULL, *context_arg = NULL;
    int first_string = argc, use_stdin = 0, bad = 0, context = 77, rc = CLI_EXIT_OK;
    clipsearch_tokenizer *tok = NULL;
    clipsearch_error err = {0};
    int32_t *ids = NULL;
    char *line = NULL;
    size_t line_cap = 0;

    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (!strcmp(argv[i], "--")) {
            first_string = i + 1;
            break;
        }
        if (!strcmp(argv[i], "--stdin")) {
            use_stdin = 1;
        } else if ((v = cli_option_value(argc, argv, &i, "--model", "tokenize", &bad))) {
            model = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--vocab", "tokenize", &bad))) {
            vocab = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--context", "tokenize", &bad))) {
            context_arg = v;
        } else if (bad) {
            return CLI_EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "clipsearch tokenize: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        } else {
            first_string = i;
            break;
        }
    }
    if (use_stdin == (first_string < argc)) {
        fprintf(stderr, use_stdin ? "clipsearch tokenize: give strings or --stdin, not both\n"
                                  : "clipsearch tokenize: no string to tokenize\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (context_arg) {
        char *end;
        long c = strtol(context_arg, &end, 10);
        if (*context_arg == '\0' || *end != '\0' || c < 2 || c > 1000000) {
            fprintf(stderr, "clipsearch tokenize: --context must be an integer from 2 to "
                            "1000000, not '%s'\n",
                    context_arg);
            return CLI_EXIT_USAGE;
        }
        context = (int)c;
    }
    if (!model && !vocab) {
        model = getenv("CLIPSEARCH_MODEL");
        if (model && !*model)
            model = NULL;
    }
    if (!model && !vocab) {
        fprintf(stderr, "clipsearch tokenize: no tokenizer: pass --model DIR or --vocab PATH, "
                        "or set CLIPSEARCH_MODEL to a model directory\n");
        return CLI_EXIT_USAGE;
    }
    if (model && !context_arg &&
        clipsearch_tokenizer_context_length(model, &context, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return CLI_EXIT_FAILURE;
    }
    if (clipsearch_tokenizer_load(vocab ? vocab : model, &tok, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return CLI_EXIT_FAILURE;
    }
    ids = malloc((size_t)context * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "clipsearch tokenize: out of memory\n");
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (use_stdin) {
        ssize_t n;
        while ((n = getline(&line, &line_cap, stdin)) >= 0) {
            if (n > 0 && line[n - 1] == '\n')
                n--;
            if (!print_ids(tok, line, (size_t)n, ids, context)) {
                rc = CLI_EXIT_FAILURE;
                break;
            }
        }
    } else {
        for (int i = first_string; i < argc; i++)
            if (!print_ids(tok, argv[i], strlen(argv[i]), ids, context)) {
                rc = CLI_EXIT_FAILURE;
                break;
            }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "clipsearch tokenize: writing the output failed\n");
        rc = CLI_EXIT_FAILURE;
    }
out:
    free(line);
    free(ids);
    clipsearch_tokenizer_free(tok);
    return rc;
}
