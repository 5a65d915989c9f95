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

/* Prints a summary line and returns the exit code (0 when all passed). */
int tu_finish(const char *test_name);

#endif
