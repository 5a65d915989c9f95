/* bench_image.c — decode + CLIP preprocessing of a 12-megapixel JPEG, fast
 * mode (DCT scaling) vs exact mode, single thread; djpeg as an anchor.
 *
 * The test photo is made here: a fixture upscaled to 4000x3000 (Pillow
 * bicubic), with a little deterministic grain so it compresses like a camera
 * photo rather than a smooth upscale, encoded by libjpeg-turbo at quality 90
 * (4:2:0).
 *
 * usage: bench_image [-n ITERS] [-f FIXTURE.jpg] [-o KEEP.jpg]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

#include "bench_common.h"
#include "clipsearch.h"
#include "preprocess.h"

#define OUT_W 4000
#define OUT_H 3000

typedef struct stats {
    double median, min;
} stats;

static stats summarise(double *t, int n)
{
    stats s;
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    s.median = t[n / 2];
    s.min = t[0];
    return s;
}

/* Times `cmd` (a shell command) n times; returns 0 if it ran. */
static int time_command(const char *cmd, int n, stats *out)
{
    double *t = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) {
        double t0 = bench_now();
        if (system(cmd) != 0) {
            free(t);
            return -1;
        }
        t[i] = bench_now() - t0;
    }
    *out = summarise(t, n);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *fixture = NULL, *keep = NULL;
    char fixture_buf[1024], path[1100], cmd[1400];
    int iters = 10;
    clipsearch_image src = {0, 0, NULL};
    clipsearch_error err = {0, ""};
    uint8_t *big = NULL;
    unsigned char *jpg = NULL;
    unsigned long jpg_size = 0;
    float *out = NULL;
    double *t = NULL;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-f") && i + 1 < argc)
            fixture = argv[++i];
        else if (!strcmp(argv[i], "-o") && i + 1 < argc)
            keep = argv[++i];
        else {
            fprintf(stderr, "usage: bench_image [-n ITERS] [-f FIXTURE.jpg] [-o KEEP.jpg]\n");
            return 2;
        }
    }
    if (iters < 1)
        iters = 1;
    if (!fixture) {
        const char *root = getenv("CLIPSEARCH_FIXTURES_DIR");
        snprintf(fixture_buf, sizeof fixture_buf, "%s/images/motorcycle.jpg",
                 root && *root ? root : "../shared/fixtures");
        fixture = fixture_buf;
    }

    /* 1. the 12-megapixel test photo */
    if (clipsearch_image_load(fixture, 0, &src, NULL, &err) != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_image: %s\n", err.message);
        return 1;
    }
    big = malloc((size_t)OUT_W * OUT_H * 3);
    out = malloc(sizeof(float) * 3 * 224 * 224);
    t = malloc(sizeof(double) * (size_t)iters);
    if (!big || !out || !t ||
        cs_resize_bicubic_window(src.rgb, src.width, src.height, OUT_W, OUT_H, 0, 0, OUT_W, OUT_H,
                                 big, &err) != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_image: upscale failed: %s\n", err.message);
        goto out;
    }
    {
        uint32_t seed = 1;
        for (size_t i = 0; i < (size_t)OUT_W * OUT_H * 3; i++) {
            int v;
            seed = seed * 1664525u + 1013904223u;
            v = big[i] + (int)(seed >> 28) - 8; /* grain in [-8, 7] */
            big[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    jpg = bench_encode_jpeg(big, OUT_W, OUT_H, 90, &jpg_size);
    if (keep)
        snprintf(path, sizeof path, "%s", keep);
    else
        snprintf(path, sizeof path, "/tmp/bench_image_%d.jpg", (int)getpid());
    {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(jpg, 1, jpg_size, f) != jpg_size || fclose(f) != 0) {
            fprintf(stderr, "bench_image: cannot write %s\n", path);
            goto out;
        }
    }
    printf("test photo: %dx%d JPEG q90 4:2:0, %.2f MB (from %s upscaled + grain), %d runs each\n",
           OUT_W, OUT_H, (double)jpg_size / 1e6, fixture, iters);
    printf("%-44s %10s %10s\n", "single thread, from memory", "median ms", "min ms");

    /* 2. our paths */
    {
        static const char *names[] = {"decode only (full, ISLOW)", "exact: decode + preprocess 224",
                                      "fast:  decode 1/4 + preprocess 224"};
        for (int which = 0; which < 3; which++) {
            clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
            p.mode = which == 2 ? CLIPSEARCH_PREPROCESS_FAST : CLIPSEARCH_PREPROCESS_EXACT;
            for (int i = 0; i < iters; i++) {
                double t0 = bench_now();
                clipsearch_status st;
                if (which == 0) {
                    clipsearch_image img = {0, 0, NULL};
                    st = clipsearch_image_load_memory(jpg, jpg_size, 0, &img, NULL, &err);
                    clipsearch_image_release(&img);
                } else {
                    st = clipsearch_preprocess_memory(jpg, jpg_size, &p, out, NULL, &err);
                }
                t[i] = bench_now() - t0;
                if (st != CLIPSEARCH_OK) {
                    fprintf(stderr, "bench_image: %s\n", err.message);
                    goto out;
                }
            }
            stats s = summarise(t, iters);
            printf("%-44s %10.1f %10.1f\n", names[which], s.median * 1e3, s.min * 1e3);
        }
    }

    /* 3. djpeg anchor (libjpeg-turbo-progs), from the file, if installed */
    if (system("command -v djpeg >/dev/null 2>&1") == 0) {
        static const char *scales[] = {"", "-scale 1/4 ", "-scale 1/8 "};
        static const char *labels[] = {"djpeg full decode (process, file)",
                                       "djpeg -scale 1/4 (process, file)",
                                       "djpeg -scale 1/8 (process, file)"};
        for (int k = 0; k < 3; k++) {
            stats s;
            snprintf(cmd, sizeof cmd, "djpeg %s-outfile /dev/null '%s'", scales[k], path);
            if (time_command(cmd, iters, &s) == 0)
                printf("%-44s %10.1f %10.1f\n", labels[k], s.median * 1e3, s.min * 1e3);
        }
    } else {
        printf("djpeg not installed (apt-get install libjpeg-turbo-progs): no anchor\n");
    }
    rc = 0;
out:
    if (!keep)
        unlink(path);
    clipsearch_image_release(&src);
    free(big);
    free(jpg);
    free(out);
    free(t);
    return rc;
}
