/* cmd_embed.c — `clipsearch embed`: CLIP embeddings of photos and texts as
 * JSON lines, in the order the inputs were given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch embed [--model DIR] [--image PATH]... [--text STRING]...\n"
            "                        [--no-normalize] [--fast] [--vocab PATH] [--threads N]\n"
            "\n"
            "Prints one JSON object a line for each input, in the order given:\n"
            "  {\"image\": \"PATH\", \"embedding\": [...]}  or  {\"text\": \"STRING\", \"embedding\": "
            "[...]}\n"
            "A photo that cannot be read gives {\"image\": \"PATH\", \"error\": \"...\"} and exit "
            "code 1.\n"
            "\n"
            "options:\n"
            "  --model DIR     model directory, Hugging Face layout (config.json +\n"
            "                  model.safetensors) or OpenAI/OpenCLIP layout\n"
            "                  (open_clip_*.safetensors); default $CLIPSEARCH_MODEL\n"
            "  --image PATH    a photo (JPEG, PNG, WebP, HEIC); repeatable\n"
            "  --text STRING   a text; repeatable\n"
            "  --no-normalize  print the projected embeddings as the model gives them,\n"
            "                  not scaled to unit length (default: unit length)\n"
            "  --fast          let the JPEG decoder shrink big photos while decoding\n"
            "                  (default: the exact preprocessing CLIP was trained with)\n"
            "  --vocab PATH    tokenizer table (a directory, vocab.json, merges.txt or\n"
            "                  bpe_simple_vocab_16e6.txt.gz) when the model has none\n"
            "  --threads N     threads (default: all cores)\n"
            "  --precision P   bf16, fp32 or auto (default: bf16 where the CPU has native\n"
            "                  bf16 dot products, else fp32): the towers' number format\n"
            "  -h, --help      this help\n"
            "\n"
            "Exit codes: 0 success, 1 failure (bad model, unreadable photo...), 2 bad command "
            "line.\n");
}

typedef struct input {
    int is_image;
    const char *value;
} input;

static void print_embedding(const input *in, const float *e, int dim)
{
    fputs(in->is_image ? "{\"image\": " : "{\"text\": ", stdout);
    cli_print_json_string(stdout, in->value);
    fputs(", \"embedding\": [", stdout);
    for (int i = 0; i < dim; i++)
        printf(i ? ", %.9g" : "%.9g", e[i]);
    fputs("]}\n", stdout);
}

int cmd_embed(int argc, char **argv)
{
    const char *model_dir = NULL, *vocab = NULL, *threads_arg = NULL;
    int normalize = 1, fast = 0, bad = 0, n_inputs = 0, rc = CLI_EXIT_OK, n_images = 0, n_texts = 0;
    input *inputs = NULL;
    clipsearch_model *model = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_tokenizer *tok = NULL;
    clipsearch_error err = {0};
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_context_params cp = clipsearch_context_default_params();
    const clipsearch_model_info *info;
    float *pixels = NULL, *embeds = NULL;
    int32_t *ids = NULL;
    char **errors = NULL;

    inputs = calloc((size_t)argc, sizeof *inputs);
    if (!inputs) {
        fprintf(stderr, "clipsearch embed: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(inputs);
            return CLI_EXIT_OK;
        }
        if (!strcmp(argv[i], "--no-normalize"))
            normalize = 0;
        else if (!strcmp(argv[i], "--fast"))
            fast = 1;
        else if ((v = cli_option_value(argc, argv, &i, "--model", "embed", &bad)))
            model_dir = v;
        else if ((v = cli_option_value(argc, argv, &i, "--vocab", "embed", &bad)))
            vocab = v;
        else if ((v = cli_option_value(argc, argv, &i, "--threads", "embed", &bad)))
            threads_arg = v;
        else if ((v = cli_option_value(argc, argv, &i, "--image", "embed", &bad))) {
            inputs[n_inputs++] = (input){1, v};
            n_images++;
        } else if ((v = cli_option_value(argc, argv, &i, "--text", "embed", &bad))) {
            inputs[n_inputs++] = (input){0, v};
            n_texts++;
        } else {
            if (!bad)
                fprintf(stderr, "clipsearch embed: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            free(inputs);
            return CLI_EXIT_USAGE;
        }
        if (bad) {
            free(inputs);
            return CLI_EXIT_USAGE;
        }
    }
    if (n_inputs == 0) {
        fprintf(stderr, "clipsearch embed: nothing to embed: give --image PATH or --text STRING\n");
        usage(stderr);
        free(inputs);
        return CLI_EXIT_USAGE;
    }
    if (threads_arg) {
        char *end;
        long t = strtol(threads_arg, &end, 10);
        if (!*threads_arg || *end || t < 1 || t > 256) {
            fprintf(stderr, "clipsearch embed: --threads must be 1..256, not '%s'\n", threads_arg);
            free(inputs);
            return CLI_EXIT_USAGE;
        }
        cp.n_threads = (int)t;
    }
    if (!model_dir || !*model_dir)
        model_dir = getenv("CLIPSEARCH_MODEL");
    if (!model_dir || !*model_dir) {
        fprintf(stderr, "clipsearch embed: no model: pass --model DIR or set CLIPSEARCH_MODEL "
                        "(get one with 'clipsearch model download')\n");
        free(inputs);
        return CLI_EXIT_USAGE;
    }

    /* Load only the towers the inputs need. */
    mp.towers = (n_images ? CLIPSEARCH_TOWER_VISION : 0) | (n_texts ? CLIPSEARCH_TOWER_TEXT : 0);
    if (clipsearch_model_load(model_dir, &mp, &model, &err) != CLIPSEARCH_OK ||
        clipsearch_context_new(model, &cp, &ctx, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    info = clipsearch_model_get_info(model);
    if (n_texts && clipsearch_tokenizer_load(vocab ? vocab : model_dir, &tok, &err) !=
                       CLIPSEARCH_OK) {
        cli_print_error(&err);
        if (!vocab)
            fprintf(stderr, "clipsearch embed: the model directory needs vocab.json + merges.txt "
                            "(or pass --vocab PATH)\n");
        rc = CLI_EXIT_FAILURE;
        goto out;
    }

    embeds = calloc((size_t)n_inputs * info->projection_dim, sizeof *embeds);
    errors = calloc((size_t)n_inputs, sizeof *errors);
    if (!embeds || !errors) {
        fprintf(stderr, "clipsearch embed: out of memory\n");
        rc = CLI_EXIT_FAILURE;
        goto out;
    }

    if (n_images) {
        clipsearch_preprocess_params pp = clipsearch_preprocess_default_params();
        size_t img = (size_t)3 * info->image_size * info->image_size;
        float *out_rows;
        int ok = 0;
        pp.size = info->image_size;
        memcpy(pp.mean, info->image_mean, sizeof pp.mean);
        memcpy(pp.std, info->image_std, sizeof pp.std);
        pp.mode = fast ? CLIPSEARCH_PREPROCESS_FAST : CLIPSEARCH_PREPROCESS_EXACT;
        pixels = malloc((size_t)n_images * img * sizeof *pixels);
        out_rows = malloc((size_t)n_images * info->projection_dim * sizeof *out_rows);
        if (!pixels || !out_rows) {
            free(out_rows);
            fprintf(stderr, "clipsearch embed: out of memory\n");
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        /* Decode every photo; the readable ones are encoded as one batch. */
        int *slot = malloc((size_t)n_images * sizeof *slot);
        for (int i = 0; slot && i < n_inputs; i++) {
            if (!inputs[i].is_image)
                continue;
            if (clipsearch_preprocess_file(inputs[i].value, &pp, pixels + (size_t)ok * img, NULL,
                                           &err) == CLIPSEARCH_OK) {
                slot[ok++] = i;
            } else {
                errors[i] = strdup(err.message);
            }
        }
        if (!slot) {
            free(out_rows);
            fprintf(stderr, "clipsearch embed: out of memory\n");
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        if (ok && clipsearch_encode_images(ctx, pixels, ok, out_rows, &err) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            free(slot);
            free(out_rows);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        for (int j = 0; j < ok; j++)
            memcpy(embeds + (size_t)slot[j] * info->projection_dim,
                   out_rows + (size_t)j * info->projection_dim,
                   (size_t)info->projection_dim * sizeof *embeds);
        free(slot);
        free(out_rows);
    }

    if (n_texts) {
        int ctxlen = info->context_length;
        ids = calloc((size_t)ctxlen, sizeof *ids);
        if (!ids) {
            fprintf(stderr, "clipsearch embed: out of memory\n");
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
        for (int i = 0; i < n_inputs; i++) {
            int n_ids = 0;
            if (inputs[i].is_image)
                continue;
            if (clipsearch_tokenize(tok, inputs[i].value, strlen(inputs[i].value), ids, ctxlen,
                                    &n_ids, &err) != CLIPSEARCH_OK ||
                clipsearch_encode_text(ctx, ids, 1, ctxlen,
                                       embeds + (size_t)i * info->projection_dim,
                                       &err) != CLIPSEARCH_OK)
                errors[i] = strdup(err.message);
        }
    }

    for (int i = 0; i < n_inputs; i++) {
        float *e = embeds + (size_t)i * info->projection_dim;
        if (errors[i]) {
            fputs(inputs[i].is_image ? "{\"image\": " : "{\"text\": ", stdout);
            cli_print_json_string(stdout, inputs[i].value);
            fputs(", \"error\": ", stdout);
            cli_print_json_string(stdout, errors[i]);
            fputs("}\n", stdout);
            fprintf(stderr, "clipsearch embed: %s\n", errors[i]);
            rc = CLI_EXIT_FAILURE;
            continue;
        }
        if (normalize)
            clipsearch_normalize(e, 1, info->projection_dim);
        print_embedding(&inputs[i], e, info->projection_dim);
    }
    if (fflush(stdout) != 0) {
        perror("clipsearch embed: stdout");
        rc = CLI_EXIT_FAILURE;
    }
out:
    if (errors)
        for (int i = 0; i < n_inputs; i++)
            free(errors[i]);
    free(errors);
    free(ids);
    free(pixels);
    free(embeds);
    clipsearch_tokenizer_free(tok);
    clipsearch_context_free(ctx);
    clipsearch_model_free(model);
    free(inputs);
    return rc;
}
