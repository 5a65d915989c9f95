/* bench_index.c — helpers for the indexing benchmark (scripts/bench-index.sh).
 *
 *   bench_index --generate DIR [-n N]
 *       Writes N (default 64) 12-megapixel JPEGs (4000x3000, libjpeg q90,
 *       4:2:0) into DIR: fixture photos upscaled with the Pillow-compatible
 *       bicubic resampler, each file a different fixture / crop window /
 *       mirror / grain seed, so every file has distinct content (no copies
 *       for the indexer to short-cut) and compresses like a camera photo.
 *       Files already present are kept.
 *
 *   bench_index --compare MODEL_DIR [-n K] [--threads T] DIR
 *       Fast (DCT-scaled) vs exact preprocessing of the first K photos of
 *       DIR (sorted): per-photo milliseconds of each, the pixel difference
 *       and the cosine between the two embeddings with the model.
 *
 *   bench_index --index MODEL_DIR --db LIB [--threads T] [--batch B]
 *               [--exact] DIR
 *       One clipsearch_library_index run (as clipsearch-index does) with
 *       the summary's time split and the library's bytes per photo.
 *
 * Numbers are printed, never asserted.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jpeglib.h>

#include "bench_common.h"
#include "clipsearch.h"
#include "preprocess.h"

#define OUT_W 4000
#define OUT_H 3000

static int write_jpeg(const char *path, const uint8_t *rgb, int w, int h, int quality)
{
    unsigned long size = 0;
    unsigned char *jpg = bench_encode_jpeg(rgb, w, h, quality, &size);
    FILE *f = fopen(path, "wb");
    int rc = jpg && f && fwrite(jpg, 1, size, f) == size ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(jpg);
    return rc;
}

static const char *const fixtures[] = {"motorcycle.jpg", "astronaut.jpg",   "chelsea_444.jpg",
                                       "rocket.jpg",     "coffee_progressive.jpg",
                                       "hubble_large.jpg", "panorama.jpg",  "camera_gray.jpg"};
#define N_FIXTURES ((int)(sizeof fixtures / sizeof fixtures[0]))

static int generate(const char *dir, int n)
{
    const char *root = getenv("CLIPSEARCH_FIXTURES_DIR");
    clipsearch_image src[N_FIXTURES];
    clipsearch_error err = {0, ""};
    uint8_t *big = malloc((size_t)OUT_W * OUT_H * 3);
    double t0 = bench_now(), bytes = 0;
    int made = 0, rc = 1;
    memset(src, 0, sizeof src);
    if (!big)
        return 1;
    mkdir(dir, 0755);
    for (int i = 0; i < n; i++) {
        char path[2048];
        struct stat st;
        int fi = i % N_FIXTURES, variant = i / N_FIXTURES;
        clipsearch_image *s = &src[fi];
        snprintf(path, sizeof path, "%s/photo_%04d.jpg", dir, i);
        if (stat(path, &st) == 0 && st.st_size > 0) {
            bytes += (double)st.st_size;
            continue;
        }
        if (!s->rgb) {
            char fx[1024];
            snprintf(fx, sizeof fx, "%s/images/%s", root && *root ? root : "../shared/fixtures",
                     fixtures[fi]);
            if (clipsearch_image_load(fx, 0, s, NULL, &err) != CLIPSEARCH_OK) {
                fprintf(stderr, "bench_index: %s\n", err.message);
                goto out;
            }
        }
        {
            /* Upscale a little more than needed and take a window that moves
             * with the variant: different content per file. */
            int zw = OUT_W + 64 + 64 * (variant % 8), zh = OUT_H + 48 + 48 * (variant % 8);
            int x0 = 8 * (variant % 8), y0 = 6 * ((variant / 8) % 8);
            uint32_t seed = 12345u + 7919u * (uint32_t)i;
            if (cs_resize_bicubic_window(s->rgb, s->width, s->height, zw, zh, x0, y0, OUT_W,
                                         OUT_H, big, &err) != CLIPSEARCH_OK) {
                fprintf(stderr, "bench_index: upscale: %s\n", err.message);
                goto out;
            }
            if (variant & 1) { /* mirror */
                for (int y = 0; y < OUT_H; y++) {
                    uint8_t *row = big + (size_t)y * OUT_W * 3;
                    for (int x = 0; x < OUT_W / 2; x++)
                        for (int c = 0; c < 3; c++) {
                            uint8_t t = row[x * 3 + c];
                            row[x * 3 + c] = row[(OUT_W - 1 - x) * 3 + c];
                            row[(OUT_W - 1 - x) * 3 + c] = t;
                        }
                }
            }
            for (size_t k = 0; k < (size_t)OUT_W * OUT_H * 3; k++) {
                int v;
                seed = seed * 1664525u + 1013904223u;
                v = big[k] + (int)(seed >> 28) - 8; /* grain in [-8, 7] */
                big[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
        if (write_jpeg(path, big, OUT_W, OUT_H, 90) != 0 || stat(path, &st) != 0) {
            fprintf(stderr, "bench_index: cannot write %s\n", path);
            goto out;
        }
        bytes += (double)st.st_size;
        made++;
    }
    printf("photos: %d x %dx%d JPEG q90 in %s (%d written in %.1f s), mean %.2f MB\n", n, OUT_W,
           OUT_H, dir, made, bench_now() - t0, bytes / n / 1e6);
    rc = 0;
out:
    for (int i = 0; i < N_FIXTURES; i++)
        clipsearch_image_release(&src[i]);
    free(big);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.jpg files of dir, sorted: *out[*n], free each and the array. */
static int list_jpegs(const char *dir, char ***out, int *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    int len = 0, cap = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        char *p;
        if (l < 5 || strcmp(e->d_name + l - 4, ".jpg"))
            continue;
        if (len == cap) {
            char **nv = realloc(v, (size_t)(cap = cap ? cap * 2 : 64) * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        p = malloc(strlen(dir) + l + 2);
        if (!p)
            break;
        sprintf(p, "%s/%s", dir, e->d_name);
        v[len++] = p;
    }
    closedir(d);
    if (len > 1)
        qsort(v, (size_t)len, sizeof *v, cmp_str);
    *out = v;
    *n = len;
    return 0;
}

static int compare(const char *model_dir, const char *dir, int k, int threads)
{
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_context_params cp = clipsearch_context_default_params();
    clipsearch_model *model = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_error err = {0, ""};
    const clipsearch_model_info *mi;
    char **files = NULL;
    int n_files = 0, rc = 1, S, dim;
    float *px = NULL, *emb = NULL;
    double t_fast = 0, t_exact = 0, cos_min = 2, cos_sum = 0, d_mean = 0, d_max = 0;

    if (list_jpegs(dir, &files, &n_files) != 0 || n_files == 0) {
        fprintf(stderr, "bench_index: no photos in %s\n", dir);
        return 1;
    }
    if (k > n_files)
        k = n_files;
    mp.towers = CLIPSEARCH_TOWER_VISION;
    cp.n_threads = threads;
    cp.max_batch = 2;
    if (clipsearch_model_load(model_dir, &mp, &model, &err) != CLIPSEARCH_OK ||
        clipsearch_context_new(model, &cp, &ctx, &err) != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_index: %s\n", err.message);
        goto out;
    }
    mi = clipsearch_model_get_info(model);
    S = mi->image_size;
    dim = mi->projection_dim;
    px = malloc(sizeof(float) * 2 * 3 * (size_t)S * (size_t)S);
    emb = malloc(sizeof(float) * 2 * (size_t)dim);
    if (!px || !emb)
        goto out;
    for (int i = 0; i < k; i++) {
        size_t per = (size_t)3 * S * S;
        double dot = 0, dsum = 0;
        for (int m = 0; m < 2; m++) {
            clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
            double t0;
            p.size = S;
            memcpy(p.mean, mi->image_mean, sizeof p.mean);
            memcpy(p.std, mi->image_std, sizeof p.std);
            p.mode = m == 0 ? CLIPSEARCH_PREPROCESS_EXACT : CLIPSEARCH_PREPROCESS_FAST;
            t0 = bench_now();
            if (clipsearch_preprocess_file(files[i], &p, px + m * per, NULL, &err) !=
                CLIPSEARCH_OK) {
                fprintf(stderr, "bench_index: %s\n", err.message);
                goto out;
            }
            *(m == 0 ? &t_exact : &t_fast) += bench_now() - t0;
        }
        /* Pixel difference in [0,1] units (undo the normalisation). */
        for (size_t j = 0; j < per; j++) {
            double d = fabs((double)px[j] - px[per + j]) * mi->image_std[j / ((size_t)S * S)];
            dsum += d;
            if (d > d_max)
                d_max = d;
        }
        d_mean += dsum / (double)per;
        if (clipsearch_encode_images(ctx, px, 2, emb, &err) != CLIPSEARCH_OK) {
            fprintf(stderr, "bench_index: %s\n", err.message);
            goto out;
        }
        clipsearch_normalize(emb, 2, dim);
        for (int j = 0; j < dim; j++)
            dot += (double)emb[j] * emb[dim + j];
        cos_sum += dot;
        if (dot < cos_min)
            cos_min = dot;
    }
    printf("fast vs exact over %d photos of %s with %s:\n"
           "  preprocess ms/photo (1 thread, from file): exact %.1f, fast %.1f\n"
           "  pixel difference (0..1 scale): mean %.4f, max %.4f\n"
           "  embedding cosine: mean %.7f, min %.7f\n",
           k, dir, model_dir, t_exact / k * 1e3, t_fast / k * 1e3, d_mean / k, d_max,
           cos_sum / k, cos_min);
    rc = 0;
out:
    for (int i = 0; i < n_files; i++)
        free(files[i]);
    free(files);
    free(px);
    free(emb);
    clipsearch_context_free(ctx);
    clipsearch_model_free(model);
    return rc;
}

static int64_t dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int64_t total = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (int64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static int run_index(const char *model_dir, const char *db, const char *dir, int threads,
                     int batch, int exact)
{
    clipsearch_index_params ip = clipsearch_index_default_params();
    clipsearch_index_summary s;
    clipsearch_library *lib = NULL;
    clipsearch_error err = {0, ""};
    clipsearch_status st;
    const char *roots[1] = {dir};
    int64_t bytes;
    ip.n_threads = threads;
    ip.batch_size = batch;
    ip.preprocess_mode = exact ? CLIPSEARCH_PREPROCESS_EXACT : CLIPSEARCH_PREPROCESS_FAST;
    if (clipsearch_library_open(db, NULL, &lib, &err) != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_index: %s\n", err.message);
        return 1;
    }
    st = clipsearch_library_index(lib, model_dir, roots, 1, &ip, &s, &err);
    clipsearch_library_close(lib);
    if (st != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_index: %s\n", err.message);
        return 1;
    }
    bytes = dir_bytes(db);
    printf("index (%s, %d threads, batch %d): %lld photos encoded in %.2f s: %.2f img/s "
           "(encode phase), %.2f img/s (whole run)\n"
           "  time split (s): walk %.3f, hash %.3f, read+decode+preprocess %.2f (summed "
           "over workers), encode %.2f, write %.3f, vector index %.3f, encoder waiting "
           "for decoded photos %.2f\n"
           "  library: %lld bytes, %.0f bytes per photo\n",
           exact ? "exact" : "fast", threads, batch, (long long)s.encoded, s.seconds,
           s.images_per_second, s.seconds > 0 ? (double)s.encoded / s.seconds : 0,
           s.walk_seconds, s.hash_seconds, s.read_decode_seconds, s.encode_seconds,
           s.write_seconds, s.index_seconds, s.decode_wait_seconds, (long long)bytes,
           s.encoded ? (double)bytes / (double)s.encoded : 0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *gen = NULL, *cmp = NULL, *idx = NULL, *db = NULL, *dir = NULL;
    int n = -1, threads = 2, batch = 32, exact = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--generate") && i + 1 < argc)
            gen = argv[++i];
        else if (!strcmp(argv[i], "--compare") && i + 1 < argc)
            cmp = argv[++i];
        else if (!strcmp(argv[i], "--index") && i + 1 < argc)
            idx = argv[++i];
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--exact"))
            exact = 1;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            dir = NULL;
            gen = cmp = idx = NULL;
            break;
        }
    }
    if (gen)
        return generate(gen, n > 0 ? n : 64);
    if (cmp && dir)
        return compare(cmp, dir, n > 0 ? n : 8, threads);
    if (idx && db && dir)
        return run_index(idx, db, dir, threads, batch, exact);
    fprintf(stderr, "usage: bench_index --generate DIR [-n N]\n"
                    "       bench_index --compare MODEL_DIR [-n K] [--threads T] DIR\n"
                    "       bench_index --index MODEL_DIR --db LIB [--threads T] [--batch B] "
                    "[--exact] DIR\n");
    return 2;
}
