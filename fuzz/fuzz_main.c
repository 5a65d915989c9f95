/* fuzz_main.c — runs a libFuzzer target without libFuzzer.
 *
 * Used for the ordinary (non-clang) build so every fuzz harness is compiled
 * and exercised in CI: each file named on the command line (or found in a
 * named directory) is fed whole, then as a series of truncated prefixes, then
 * with deterministic pseudo-random byte damage.  Crashes and sanitizer
 * reports are the verdict, as with libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long runs;

static uint32_t next_random(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void run_one(const uint8_t *data, size_t size)
{
    /* A private copy, so a harness reading past `size` is caught by ASan. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    if (size)
        memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
    runs++;
}

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    size_t step, len;
    uint32_t seed = 2463534242u;
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return;
    }
    fclose(f);
    run_one(buf, (size_t)n);
    /* Truncations: every length for small inputs, ~64 points for big ones. */
    step = (size_t)n / 64 + 1;
    for (len = 0; len < (size_t)n; len += step)
        run_one(buf, len);
    /* Byte damage: 64 variants, each flipping a few bytes. */
    if (n > 0) {
        uint8_t *mut = malloc((size_t)n);
        for (int v = 0; mut && v < 64; v++) {
            memcpy(mut, buf, (size_t)n);
            for (int k = 0; k < 1 + v % 4; k++) {
                size_t at = next_random(&seed) % (size_t)n;
                mut[at] = (uint8_t)next_random(&seed);
            }
            run_one(mut, (size_t)n);
        }
        free(mut);
    }
    free(buf);
}

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz_main: %s: not found\n", path);
        exit(1);
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char sub[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            run_path(sub);
        }
        if (d)
            closedir(d);
    } else {
        run_file(path);
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    /* Extra seeds may be named by the environment (e.g. fixture files). */
    printf("fuzz_main: %lu inputs ran without a crash\n", runs);
    return runs ? 0 : 1;
}
