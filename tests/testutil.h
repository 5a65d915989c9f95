/* testutil.h — tiny test harness shared by tests/test_*.c.
 *
 * CHECK(cond, fmt, ...) records a failure and goes on; a test's main()
 * returns tu_finish().  tu_fixture("golden/x") builds a path under
 * ../shared/fixtures; tu_require_fixture() exits 77 (CTest "skipped") when
 * the fixtures are absent, so a missing fixture never passes silently. */
#ifndef CS_TESTUTIL_H
#define CS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int tu_failures;
extern int tu_checks;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        tu_checks++;                                                       \
        if (!(cond)) {                                                     \
            tu_failures++;                                                 \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, \
                    #cond);                                                \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

/* Returns a static path "<fixtures>/<rel>" (a rotating set of 8 buffers). */
const char *tu_fixture(const char *rel);

/* Exits 77 with a message when <fixtures>/<rel> does not exist. */
void tu_require_fixture(const char *rel);

/* Reads a whole file; returns a malloc'd buffer (NUL-terminated) or NULL. */
char *tu_read_file(const char *path, size_t *size);

/* Writes a buffer to a file; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t size);

/* Writes a w x h JPEG (quality 90) of a pattern that differs for every
 * seed, so each seed is a distinct photo; returns 0 on success. */
int tu_write_pattern_jpeg(const char *path, int w, int h, unsigned seed);

/* A fresh temporary directory (mkdtemp under $TMPDIR); removed by tu_finish. */
const char *tu_tmpdir(void);

/* Max |a-b| and max |b| over n values. */
double tu_max_abs_diff(const float *a, const double *b, size_t n);
double tu_max_abs(const double *b, size_t n);

/* Runs argv[0] (a path) with argv, no shell; captures its standard output
 * into a malloc'd NUL-terminated *out (may be NULL) and returns its exit
 * status, or -1 if it could not run or died from a signal. */
int tu_run(char *const argv[], char **out);

/* Path of a program in the build directory ($CLIPSEARCH_BIN_DIR or the
 * compile-time build dir). */
const char *tu_program(const char *name);

/* ---- golden data (../shared/fixtures/golden) ---------------------------- */

struct cs_safetensors;
struct cs_tensor;

/* Per-layer hidden states of the first input, recorded by tu_trace_capture
 * (a cs_hidden_fn): out[l] is [tokens[l]][width[l]]; layers = highest l + 1. */
typedef struct tu_trace {
    float *out[16];
    int tokens[16], width[16];
    int layers;
} tu_trace;

void tu_trace_capture(void *trace, int layer, const float *hidden, int tokens, int width);
void tu_trace_free(tu_trace *t);

/* Golden tensor `name` as malloc'd doubles (a failed CHECK and NULL when
 * absent); *out (may be NULL) receives the tensor. */
double *tu_golden(const struct cs_safetensors *st, const char *name,
                  const struct cs_tensor **out);

/* CHECKs max|got - want| <= tol * max|want| over n values, prints the
 * figures, returns the relative difference. */
double tu_compare(const char *what, const float *got, const double *want, size_t n, double tol);

/* golden.json's provenance.images (the golden image order); free with
 * tu_free_strings. */
char **tu_golden_image_names(int *count);
void tu_free_strings(char **strings, int count);

/* The golden pixel tensors (golden/pixels.safetensors) of the `n` images
 * named, as one malloc'd batch [n][3][S][S]; a failed CHECK for any missing
 * or misshapen tensor (its slot is then zero). */
float *tu_golden_pixels(char *const *names, int n, int S);

/* Prints a summary line and returns the exit code (0 when all passed). */
int tu_finish(const char *test_name);

#endif
