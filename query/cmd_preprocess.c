/* cmd_preprocess.c — `clipsearch preprocess`: write the float32 CHW tensor
 * the model would see for one photo (raw little-endian, 3 x S x S). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch preprocess IMAGE -o OUT.f32 [--exact|--fast] [--size S]\n"
            "       clipsearch preprocess IMAGE -o OUT.ppm --rgb\n"
            "\n"
            "Decodes IMAGE (JPEG, PNG, WebP, HEIC, AVIF, TIFF, GIF, BMP, JPEG XL or camera\n"
            "RAW, recognised by content), applies its\n"
            "EXIF orientation and CLIP's preprocessing (bicubic resize of the short side\n"
            "to S, centre crop S x S, /255, OpenAI CLIP mean/std), and writes the result\n"
            "as raw little-endian float32 in CHW order: 3 * S * S values.\n"
            "\n"
            "options:\n"
            "  -o, --output FILE  where to write the tensor (required; '-' for stdout)\n"
            "  --exact            full decode, then Pillow-exact resize (default)\n"
            "  --fast             let libjpeg-turbo shrink big JPEGs while decoding\n"
            "                     (short side kept >= 2*S), then the same resize\n"
            "  --size S           output size S (default 224; 1..8192)\n"
            "  --rgb              write the decoded, upright 8-bit RGB photo instead, as a\n"
            "                     binary PPM (what the preprocessing starts from)\n"
            "  -h, --help         show this help\n"
            "\n"
            "Prints the decoded size, orientation, date and camera to stderr.\n"
            "Exit codes: 0 success, 1 failure, 2 bad command line.\n");
}

static int write_f32_le(FILE *f, const float *v, size_t n)
{
    unsigned char buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        buf[k++] = (unsigned char)u;
        buf[k++] = (unsigned char)(u >> 8);
        buf[k++] = (unsigned char)(u >> 16);
        buf[k++] = (unsigned char)(u >> 24);
        if (k == sizeof buf || i + 1 == n) {
            if (fwrite(buf, 1, k, f) != k)
                return -1;
            k = 0;
        }
    }
    return 0;
}

int cmd_preprocess(int argc, char **argv)
{
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    clipsearch_image_info info;
    clipsearch_error err = {0, ""};
    const char *image = NULL, *output = NULL;
    float *out = NULL;
    size_t n;
    FILE *f;
    int rc = CLI_EXIT_FAILURE, rgb = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc) {
                fprintf(stderr, "clipsearch preprocess: %s needs a file name\n", a);
                return CLI_EXIT_USAGE;
            }
            output = argv[i];
        } else if (!strcmp(a, "--rgb")) {
            rgb = 1;
        } else if (!strcmp(a, "--exact")) {
            p.mode = CLIPSEARCH_PREPROCESS_EXACT;
        } else if (!strcmp(a, "--fast")) {
            p.mode = CLIPSEARCH_PREPROCESS_FAST;
        } else if (!strcmp(a, "--size")) {
            char *end = NULL;
            long s;
            if (++i >= argc) {
                fprintf(stderr, "clipsearch preprocess: --size needs a number\n");
                return CLI_EXIT_USAGE;
            }
            s = strtol(argv[i], &end, 10);
            if (!*argv[i] || *end || s < 1 || s > 8192) {
                fprintf(stderr, "clipsearch preprocess: bad --size '%s' (1..8192)\n", argv[i]);
                return CLI_EXIT_USAGE;
            }
            p.size = (int)s;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "clipsearch preprocess: unknown option '%s'\n", a);
            usage(stderr);
            return CLI_EXIT_USAGE;
        } else if (!image) {
            image = a;
        } else {
            fprintf(stderr, "clipsearch preprocess: only one IMAGE, got '%s' too\n", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (!image || !output) {
        fprintf(stderr, "clipsearch preprocess: %s\n", !image ? "IMAGE is required"
                                                                : "-o OUT.f32 is required");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }

    if (rgb) {
        clipsearch_image img = {0, 0, NULL};
        if (clipsearch_image_load(image, 0, &img, &info, &err) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            return CLI_EXIT_FAILURE;
        }
        f = strcmp(output, "-") ? fopen(output, "wb") : stdout;
        if (!f) {
            perror(output);
            clipsearch_image_release(&img);
            return CLI_EXIT_FAILURE;
        }
        fprintf(f, "P6\n%d %d\n255\n", img.width, img.height);
        n = fwrite(img.rgb, 3, (size_t)img.width * (size_t)img.height, f);
        if ((f != stdout ? fclose(f) : fflush(f)) != 0 ||
            n != (size_t)img.width * (size_t)img.height) {
            fprintf(stderr, "clipsearch: %s: write failed\n", output);
            if (f != stdout)
                remove(output);
            clipsearch_image_release(&img);
            return CLI_EXIT_FAILURE;
        }
        fprintf(stderr, "%s: %s %dx%d (stored %dx%d, orientation %d) -> %s\n", image,
                info.format, info.width, info.height, info.stored_width, info.stored_height,
                info.orientation, output);
        clipsearch_image_release(&img);
        return CLI_EXIT_OK;
    }
    n = (size_t)3 * (size_t)p.size * (size_t)p.size;
    out = malloc(n * sizeof *out);
    if (!out) {
        fprintf(stderr, "clipsearch: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    if (clipsearch_preprocess_file(image, &p, out, &info, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        goto out;
    }
    f = strcmp(output, "-") ? fopen(output, "wb") : stdout;
    if (!f) {
        perror(output);
        goto out;
    }
    if (write_f32_le(f, out, n) != 0 || (f != stdout ? fclose(f) : fflush(f)) != 0) {
        fprintf(stderr, "clipsearch: %s: write failed\n", output);
        if (f != stdout)
            remove(output);
        goto out;
    }
    fprintf(stderr, "%s: %s %dx%d (stored %dx%d, orientation %d)%s%s%s%s -> %s [3,%d,%d] %s\n",
            image, info.format, info.width, info.height, info.stored_width, info.stored_height,
            info.orientation, info.taken[0] ? ", taken " : "", info.taken,
            info.camera[0] ? ", camera " : "", info.camera, output, p.size, p.size,
            p.mode == CLIPSEARCH_PREPROCESS_FAST ? "fast" : "exact");
    rc = CLI_EXIT_OK;
out:
    free(out);
    return rc;
}
