/* test_alloc_failure.c — allocation failure injection (SQLite's and curl's
 * torture tests, in small): every malloc/calloc/realloc that libclipsearch
 * itself makes is failed in turn, and each operation must then return
 * CLIPSEARCH_ERR_OUT_OF_MEMORY (or another error) with everything freed —
 * never crash, never leak (LeakSanitizer checks in CI).
 *
 * The allocator is wrapped at link time (-Wl,--wrap=malloc,... for this test
 * only, see CMakeLists.txt), so only the calls linked into this program
 * fail: libclipsearch's, not those inside shared libraries (libjpeg, cJSON,
 * SQLite), whose own failure handling is theirs to test. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "testutil.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static long alloc_count; /* allocations seen since the counter was reset */
static long fail_at;     /* the allocation to fail (1-based), 0: none */
static int armed;        /* only count inside the operation under test */

static int should_fail(void)
{
    if (!armed)
        return 0;
    return ++alloc_count == fail_at;
}

void *__wrap_malloc(size_t size) { return should_fail() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}

/* One operation: returns its status and frees whatever it made. */
typedef clipsearch_status (*operation)(void);

static char model_dir[1024], vocab_dir[1024], photo[1024], png[1024];

static clipsearch_status op_model_and_encode(void)
{
    clipsearch_model *m = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_context_params cp = clipsearch_context_default_params();
    clipsearch_status r;
    static float pixels[2 * 3 * 224 * 224];
    float out[2 * 64];
    int32_t ids[6] = {49406, 1929, 525, 320, 2117, 49407};
    cp.n_threads = 2;
    r = clipsearch_model_load(model_dir, NULL, &m, NULL);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_context_new(m, &cp, &ctx, NULL);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_encode_images(ctx, pixels, 2, out, NULL);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_encode_text(ctx, ids, 1, 6, out, NULL);
    clipsearch_context_free(ctx);
    clipsearch_model_free(m);
    return r;
}

static clipsearch_status op_tokenize(void)
{
    clipsearch_tokenizer *tok = NULL;
    int32_t ids[77];
    int n = 0;
    const char *text = "a dog on a beach &amp; the Café at sunset!! 日本語";
    clipsearch_status r = clipsearch_tokenizer_load(vocab_dir, &tok, NULL);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_tokenize(tok, text, strlen(text), ids, 77, &n, NULL);
    clipsearch_tokenizer_free(tok);
    return r;
}

static clipsearch_status op_preprocess(void)
{
    static float out[3 * 224 * 224];
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    clipsearch_status r = clipsearch_preprocess_file(photo, &p, out, NULL, NULL);
    if (r == CLIPSEARCH_OK) {
        p.mode = CLIPSEARCH_PREPROCESS_FAST;
        r = clipsearch_preprocess_file(png, &p, out, NULL, NULL);
    }
    return r;
}

static char photos_dir[1024], lib_dir[1100];

static clipsearch_status op_index_and_search(void)
{
    clipsearch_library *lib = NULL;
    clipsearch_index_params ip = clipsearch_index_default_params();
    clipsearch_index_summary sum;
    clipsearch_library_model lm;
    clipsearch_search_results *res = NULL;
    const char *roots[1] = {photos_dir};
    float q[64] = {1};
    clipsearch_status r;
    char cmd[1200];
    /* A fresh library each time: an indexing run that failed half-way is
     * fine to leave, but the next attempt should start the same way. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", lib_dir);
    if (system(cmd) != 0)
        return CLIPSEARCH_ERR_IO;
    ip.n_threads = 2;
    ip.batch_size = 2;
    r = clipsearch_library_open(lib_dir, NULL, &lib, NULL);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_library_index(lib, model_dir, roots, 1, &ip, &sum, NULL);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_library_find_model(lib, model_dir, &lm, NULL);
    if (r == CLIPSEARCH_OK)
        r = clipsearch_library_search(lib, &lm, q, NULL, &res, NULL);
    if (r == CLIPSEARCH_OK && (!res || res->n < 1))
        r = CLIPSEARCH_ERR_INTERNAL;
    clipsearch_search_results_free(res);
    clipsearch_library_close(lib);
    return r;
}

/* Runs op once to count its allocations, then fails each of them in turn
 * (all of the first 400, then up to 200 spread over the rest). */
static void torture(const char *name, operation op)
{
    long total, step, tried = 0, refused = 0;
    clipsearch_status r;
    alloc_count = 0;
    fail_at = 0;
    armed = 1;
    r = op();
    armed = 0;
    total = alloc_count;
    CHECK(r == CLIPSEARCH_OK, "%s: fails without injected failures (%d)", name, (int)r);
    if (r != CLIPSEARCH_OK)
        return;
    step = total > 400 ? (total - 400) / 200 + 1 : 1;
    for (long k = 1; k <= total; k += k < 400 ? 1 : step) {
        alloc_count = 0;
        fail_at = k;
        armed = 1;
        r = op();
        armed = 0;
        tried++;
        /* A failure the code can work around (an optional buffer) may still
         * succeed; anything else must be reported as an error. */
        if (r != CLIPSEARCH_OK)
            refused++;
        CHECK(r == CLIPSEARCH_OK || r == CLIPSEARCH_ERR_OUT_OF_MEMORY || r == CLIPSEARCH_ERR_IO ||
                  r == CLIPSEARCH_ERR_MODEL || r == CLIPSEARCH_ERR_FORMAT,
              "%s: allocation %ld failed gives status %d", name, k, (int)r);
    }
    printf("%s: %ld allocations, %ld failure points tried, %ld refused cleanly\n", name, total,
           tried, refused);
    CHECK(refused > 0, "%s: no injected failure was noticed", name);
}

int main(void)
{
    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    tu_require_fixture("tokenizer/vocab.json");
    snprintf(model_dir, sizeof model_dir, "%s", tu_fixture("golden/clip-tiny-b32"));
    snprintf(vocab_dir, sizeof vocab_dir, "%s", tu_fixture("tokenizer"));
    snprintf(photo, sizeof photo, "%s", tu_fixture("images/rocket_exif5.jpg"));
    snprintf(png, sizeof png, "%s", tu_fixture("images/chelsea_palette.png"));
    torture("model load + encode", op_model_and_encode);
    torture("tokenizer load + tokenize", op_tokenize);
    torture("decode + preprocess", op_preprocess);
    {
        char cmd[3000];
        snprintf(photos_dir, sizeof photos_dir, "%s/photos", tu_tmpdir());
        snprintf(lib_dir, sizeof lib_dir, "%s/lib", tu_tmpdir());
        snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s' '%s' '%s'", photos_dir,
                 tu_fixture("images/astronaut.jpg"), tu_fixture("images/coffee.webp"),
                 tu_fixture("images/chelsea_palette.png"), photos_dir);
        CHECK(system(cmd) == 0, "copy photos");
        torture("index + search", op_index_and_search);
    }
    return tu_finish("test_alloc_failure");
}
