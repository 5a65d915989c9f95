/* bench_tokenizer.c — time CLIP's tokenizer on 10,000-character strings.
 *
 * usage: bench_tokenizer [TABLE_PATH]   (default: $CLIPSEARCH_FIXTURES_DIR/
 * tokenizer, else ../shared/fixtures/tokenizer)
 *
 * Three inputs of 10,000 characters: English prose with punctuation and
 * entities, mixed-script text, and a single 10,000-letter word (the BPE's
 * worst case: no spaces to split on).  Each is timed with a cold cache
 * (a fresh tokenizer per run) and warm, with the context of 77 (what
 * search uses) and with a context large enough to keep every token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "clipsearch.h"

/* Fills buf with n code points cycling through the pieces; returns bytes. */
static size_t make_text(char *buf, size_t n_chars, const char *const *pieces, size_t n_pieces)
{
    size_t len = 0, chars = 0, p = 0;
    while (chars < n_chars) {
        const unsigned char *s = (const unsigned char *)pieces[p++ % n_pieces];
        for (; *s && chars < n_chars; s++) {
            buf[len++] = (char)*s;
            if ((*s & 0xC0) != 0x80)
                chars++;
        }
    }
    /* finish a cut multi-byte sequence */
    while (len && ((unsigned char)buf[len - 1] & 0xC0) == 0xC0)
        len--;
    buf[len] = '\0';
    return len;
}

static int bench(const char *table, const char *name, const char *text, size_t len, int ctx,
                 int cold)
{
    enum { RUNS = 20 };
    clipsearch_error err = {0};
    clipsearch_tokenizer *tok = NULL;
    int32_t *ids = malloc((size_t)ctx * sizeof *ids);
    double best = 1e30, total = 0;
    int n = 0;
    if (!ids)
        return 1;
    for (int r = 0; r < RUNS; r++) {
        double t0, t1;
        if (!tok || cold) {
            clipsearch_tokenizer_free(tok);
            tok = NULL;
            if (clipsearch_tokenizer_load(table, &tok, &err) != CLIPSEARCH_OK) {
                fprintf(stderr, "bench_tokenizer: %s\n", err.message);
                free(ids);
                return 1;
            }
            if (!cold) /* warm: one untimed run fills the cache */
                clipsearch_tokenize(tok, text, len, ids, ctx, &n, NULL);
        }
        t0 = (bench_now() * 1e3);
        if (clipsearch_tokenize(tok, text, len, ids, ctx, &n, &err) != CLIPSEARCH_OK) {
            fprintf(stderr, "bench_tokenizer: %s\n", err.message);
            break;
        }
        t1 = (bench_now() * 1e3);
        total += t1 - t0;
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    printf("%-12s %6zu bytes  context %6d  %-5s cache: %4d ids  mean %7.3f ms  best %7.3f ms\n",
           name, len, ctx, cold ? "cold" : "warm", n, total / RUNS, best);
    clipsearch_tokenizer_free(tok);
    free(ids);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const prose[] = {
        "A golden retriever runs along the shore while waves crash; ",
        "seagulls circle overhead under a bright summer sky &amp; scattered clouds. ",
        "Photo #1234 (taken 2019-07-14, 35mm f/1.8) — it's the dog's favourite beach! ",
    };
    static const char *const mixed[] = {
        "Café naïve résumé ", "日本語のテキスト ", "Привет мир ", "ΟΔΟΣ ", "한국어 이미지 ",
        "emoji 🐶🏖️👍🏽 ", "مرحبا بالعالم ", "C++ node.js ",
    };
    static const char *const word[] = {"supercalifragilisticexpialidocious"};
    char fallback[4096];
    const char *table = argc > 1 ? argv[1] : NULL;
    char *buf = malloc(64 * 1024);
    int rc = 0;
    if (!buf)
        return 1;
    if (!table) {
        const char *root = getenv("CLIPSEARCH_FIXTURES_DIR");
        snprintf(fallback, sizeof fallback, "%s/tokenizer",
                 root && *root ? root : "../shared/fixtures");
        table = fallback;
    }
    struct {
        const char *name;
        const char *const *pieces;
        size_t n;
    } inputs[] = {{"prose", prose, 3}, {"mixed", mixed, 8}, {"one-word", word, 1}};
    for (size_t i = 0; i < 3; i++) {
        size_t len = make_text(buf, 10000, inputs[i].pieces, inputs[i].n);
        rc |= bench(table, inputs[i].name, buf, len, 77, 1);
        rc |= bench(table, inputs[i].name, buf, len, 77, 0);
        rc |= bench(table, inputs[i].name, buf, len, 20000, 1);
        rc |= bench(table, inputs[i].name, buf, len, 20000, 0);
    }
    free(buf);
    return rc;
}
