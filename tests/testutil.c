/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdio.h>
#include <jpeglib.h> /* after stdio.h: it needs FILE and size_t */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safetensors.h"

int tu_failures = 0;
int tu_checks = 0;
static char tu_tmp[512];

const char *tu_fixture(const char *rel)
{
    static char bufs[8][1024];
    static int next = 0;
    char *b = bufs[next++ & 7];
    const char *root = getenv("CLIPSEARCH_FIXTURES_DIR");
    if (!root || !*root)
        root = CLIPSEARCH_FIXTURES_DIR;
    snprintf(b, 1024, "%s/%s", root, rel);
    return b;
}

void tu_require_fixture(const char *rel)
{
    struct stat st;
    const char *p = tu_fixture(rel);
    if (stat(p, &st) != 0) {
        printf("SKIP: fixture %s is absent\n", p);
        exit(77);
    }
}

char *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)n + 1);
    if (!buf)
        goto out;
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = '\0';
    if (size)
        *size = (size_t)n;
out:
    fclose(f);
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    int rc = 0;
    if (!f)
        return -1;
    if (size && fwrite(data, 1, size, f) != size)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

const char *tu_tmpdir(void)
{
    if (!tu_tmp[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tu_tmp, sizeof tu_tmp, "%s/cstest.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tu_tmp)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return tu_tmp;
}

double tu_max_abs_diff(const float *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) /* also catches NaN */
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

double tu_max_abs(const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(b[i]) > m)
            m = fabs(b[i]);
    return m;
}

int tu_finish(const char *test_name)
{
    if (tu_tmp[0]) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not remove %s\n", tu_tmp);
    }
    printf("%s: %d checks, %d failed\n", test_name, tu_checks, tu_failures);
    if (tu_checks == 0) {
        printf("%s: no check ran\n", test_name);
        return 1;
    }
    return tu_failures ? 1 : 0;
}

int tu_run(char *const argv[], char **out)
{
    int fds[2], status = 0;
    pid_t pid;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (out)
        *out = NULL;
    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n;
        if (len + 4096 + 1 > cap) {
            char *g = realloc(buf, cap = 2 * cap + 8192);
            if (!g)
                break;
            buf = g;
        }
        n = read(fds[0], buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    if (buf)
        buf[len] = '\0';
    if (waitpid(pid, &status, 0) < 0)
        status = -1;
    if (out)
        *out = buf;
    else
        free(buf);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

const char *tu_program(const char *name)
{
    static char bufs[4][1024];
    static int next = 0;
    char *b = bufs[next++ & 3];
    const char *dir = getenv("CLIPSEARCH_BIN_DIR");
    if (!dir || !*dir)
        dir = CLIPSEARCH_BUILD_DIR;
    snprintf(b, 1024, "%s/%s", dir, name);
    return b;
}

void tu_trace_capture(void *trace, int layer, const float *hidden, int tokens, int width)
{
    tu_trace *t = trace;
    if (layer < 0 || layer >= 16)
        return;
    free(t->out[layer]);
    t->out[layer] = malloc((size_t)tokens * width * sizeof(float));
    if (t->out[layer])
        memcpy(t->out[layer], hidden, (size_t)tokens * width * sizeof(float));
    t->tokens[layer] = tokens;
    t->width[layer] = width;
    if (layer + 1 > t->layers)
        t->layers = layer + 1;
}

void tu_trace_free(tu_trace *t)
{
    for (int i = 0; i < 16; i++)
        free(t->out[i]);
    memset(t, 0, sizeof *t);
}

double *tu_golden(const cs_safetensors *st, const char *name, const cs_tensor **out)
{
    const cs_tensor *t = cs_safetensors_find(st, name);
    double *d;
    CHECK(t != NULL, "golden tensor %s missing", name);
    if (!t)
        return NULL;
    d = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *d);
    CHECK(d && cs_tensor_to_f64(t, d, NULL) == CLIPSEARCH_OK, "%s not numeric", name);
    if (out)
        *out = t;
    return d;
}

double tu_compare(const char *what, const float *got, const double *want, size_t n, double tol)
{
    double scale = tu_max_abs(want, n);
    double diff = tu_max_abs_diff(got, want, n);
    double rel = scale > 0 ? diff / scale : diff;
    printf("  %-34s max|diff| %.3g  (%.3g x max|golden| %.3g)\n", what, diff, rel, scale);
    CHECK(diff <= tol * scale, "%s: max|diff| %g > %g x %g", what, diff, tol, scale);
    return rel;
}

char **tu_golden_image_names(int *count)
{
    char *json = tu_read_file(tu_fixture("golden/golden.json"), NULL);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    cJSON *imgs = root ? cJSON_GetObjectItem(cJSON_GetObjectItem(root, "provenance"), "images")
                       : NULL;
    char **names = NULL;
    int n = 0;
    CHECK(cJSON_IsArray(imgs), "golden.json: provenance.images missing");
    if (cJSON_IsArray(imgs)) {
        const cJSON *it;
        names = calloc((size_t)cJSON_GetArraySize(imgs) + 1, sizeof *names);
        cJSON_ArrayForEach(it, imgs) names[n++] = strdup(it->valuestring);
    }
    cJSON_Delete(root);
    free(json);
    *count = n;
    return names;
}

void tu_free_strings(char **strings, int count)
{
    for (int i = 0; strings && i < count; i++)
        free(strings[i]);
    free(strings);
}

float *tu_golden_pixels(char *const *names, int n, int S)
{
    cs_safetensors *pix = NULL;
    size_t img = (size_t)3 * S * S;
    float *batch = calloc((size_t)(n > 0 ? n : 1) * img, sizeof *batch);
    CHECK(cs_safetensors_open(tu_fixture("golden/pixels.safetensors"), &pix, NULL) ==
              CLIPSEARCH_OK,
          "golden/pixels.safetensors unreadable");
    for (int i = 0; pix && batch && i < n; i++) {
        char name[512];
        const cs_tensor *t;
        snprintf(name, sizeof name, "pixel_values/%s", names[i]);
        t = cs_safetensors_find(pix, name);
        CHECK(t && t->numel == (int64_t)img, "%s missing or not [3][%d][%d]", name, S, S);
        if (t && t->numel == (int64_t)img)
            cs_tensor_to_f32(t, batch + (size_t)i * img, NULL);
    }
    cs_safetensors_close(pix);
    return batch;
}

int tu_write_pattern_jpeg(const char *path, int w, int h, unsigned seed)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *row = malloc((size_t)w * 3);
    FILE *f = row ? fopen(path, "wb") : NULL;
    if (!f) {
        free(row);
        return -1;
    }
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW rp = row;
        for (int x = 0; x < w; x++) {
            unsigned v = seed * 2654435761u + (unsigned)x * 40503u + c.next_scanline * 977u;
            row[3 * x] = (unsigned char)(v >> 24);
            row[3 * x + 1] = (unsigned char)(seed * 7 + (unsigned)x * 3);
            row[3 * x + 2] = (unsigned char)(c.next_scanline * 5 + seed);
        }
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return fclose(f);
}
