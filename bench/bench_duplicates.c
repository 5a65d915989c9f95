/* bench_duplicates — speed of duplicate grouping (clipsearch_group_similar:
 * FAISS range search over an in-memory IndexFlatIP + union-find) and of
 * camera RAW decoding by its two paths.
 *
 *   bench_duplicates [--n N] [--dim D] [--threshold S] [--raw FILE.dng...]
 *
 * Embeddings are synthetic: N random unit vectors (Gaussian), of which 10%
 * get a near copy (the vector plus noise of relative size 0.1, normalised:
 * cosine about 0.995).  Prints the time, the pairs and groups found and how
 * many planted copies were grouped; nothing is asserted (not a test).
 * --raw: decodes each file through the preview path and the half-size path
 * (forced by asking for a preview larger than any) and prints ms per photo;
 * with --raw nothing else is measured. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "clipsearch.h"
#include "image_decode.h"

static double gauss(unsigned *s)
{
    double u1 = (rand_r(s) + 1.0) / ((double)RAND_MAX + 2.0);
    double u2 = (rand_r(s) + 1.0) / ((double)RAND_MAX + 2.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void normalise(float *v, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++)
        s += (double)v[j] * v[j];
    s = 1.0 / sqrt(s);
    for (int j = 0; j < d; j++)
        v[j] = (float)(v[j] * s);
}

static int bench_raw(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    clipsearch_error err;
    const int reps = 5;
    if (cs_read_file(path, &data, &size, &err) != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_duplicates: %s: %s\n", path, err.message);
        return 1;
    }
    for (int pass = 0; pass < 2; pass++) {
        cs_decode_opts o = {0, 0, pass == 0 ? 448 : 1 << 30};
        clipsearch_image img = {0, 0, NULL};
        clipsearch_image_info info;
        double t0 = bench_now(), t;
        for (int r = 0; r < reps; r++) {
            memset(&info, 0, sizeof info);
            if (cs_image_decode(data, size, &o, &img, &info, &err) != CLIPSEARCH_OK) {
                fprintf(stderr, "bench_duplicates: %s: %s\n", path, err.message);
                free(data);
                return 1;
            }
            if (r < reps - 1)
                clipsearch_image_release(&img);
        }
        t = (bench_now() - t0) / reps;
        printf("%s: %-11s %dx%d  %.1f ms per photo\n", path, info.format, img.width, img.height,
               t * 1e3);
        clipsearch_image_release(&img);
    }
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int64_t n = 100000, pairs = 0, planted_found = 0;
    int dim = 512, rc = 0, raw_only = 0;
    float threshold = CLIPSEARCH_DUPLICATES_DEFAULT_THRESHOLD;
    float *v;
    int64_t *labels;
    unsigned seed = 42;
    clipsearch_error err;
    double t0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--dim") && i + 1 < argc)
            dim = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threshold") && i + 1 < argc)
            threshold = strtof(argv[++i], NULL);
        else if (!strcmp(argv[i], "--raw")) {
            raw_only = 1;
            while (i + 1 < argc && argv[i + 1][0] != '-')
                rc |= bench_raw(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_duplicates [--n N] [--dim D] [--threshold S] "
                            "[--raw FILE...]\n");
            return 2;
        }
    }
    if (rc || raw_only)
        return rc;
    v = malloc(sizeof *v * (size_t)n * dim);
    labels = malloc(sizeof *labels * (size_t)n);
    if (!v || !labels)
        return 1;
    for (int64_t i = 0; i < n; i++) {
        float *x = v + (size_t)i * dim;
        if (i % 10 == 1) { /* a near copy of the previous vector */
            for (int j = 0; j < dim; j++)
                x[j] = x[j - dim] + (float)(0.1 * gauss(&seed) / sqrt(dim));
        } else {
            for (int j = 0; j < dim; j++)
                x[j] = (float)gauss(&seed);
        }
        normalise(x, dim);
    }
    t0 = bench_now();
    if (clipsearch_group_similar(v, n, dim, threshold, labels, &pairs, &err) != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_duplicates: %s\n", err.message);
        return 1;
    }
    {
        double t = bench_now() - t0;
        for (int64_t i = 0; i < n; i++)
            planted_found += i % 10 == 1 && labels[i] == labels[i - 1];
        printf("%lld vectors of %d: %.2f s (%.1f us a photo), %lld similar pairs >= %.3f, "
               "%lld of %lld planted copies grouped\n",
               (long long)n, dim, t, t * 1e6 / (double)n, (long long)pairs, (double)threshold,
               (long long)planted_found, (long long)(n / 10));
    }
    free(v);
    free(labels);
    return 0;
}
