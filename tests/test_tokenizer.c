/* test_tokenizer.c — the CLIP tokenizer against CLIP's own.
 *
 * - golden.json's 48 strings give exactly tokens.openai from both table
 *   formats (Hugging Face vocab.json + merges.txt, OpenAI's .txt.gz);
 * - text cleaning corners (html.unescape, whitespace, str.lower) and token
 *   corner cases whose expected values come from CPython and from
 *   scripts/tokenizer_reference.py (simple_tokenizer.py with the `regex`
 *   module) — see the tables below;
 * - truncation, empty and invalid UTF-8 input, special tokens in text, the
 *   BPE's pass-by-pass merge order, the cache;
 * - malformed, truncated and missing tables give clear errors;
 * - the context length read from model configs. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "clipsearch.h"
#include "testutil.h"
#include "tokenizer_internal.h"

#define SOT CLIPSEARCH_TOKEN_SOT
#define EOT CLIPSEARCH_TOKEN_EOT

/* ---- expected values -------------------------------------------------------
 * Generated with CPython 3.11 (html.unescape twice, strip, regex \s+ -> ' ',
 * strip, lower) and scripts/tokenizer_reference.py; lengths are in bytes
 * because some strings hold NUL. */
static const struct { const char *in; size_t in_len; const char *out; size_t out_len; } clean_cases[] = {
    {"&amp;amp;", 9, "&", 1},
    {"&amp", 4, "&", 1},
    {"&ampx", 5, "&x", 2},
    {"a&notin;b", 9, "a\342\210\211b", 5},
    {"&notit;", 7, "\302\254it;", 5},
    {"&#39;", 5, "'", 1},
    {"&#x27;", 6, "'", 1},
    {"&#X41;", 6, "a", 1},
    {"&#65", 4, "a", 1},
    {"&#0;", 4, "\357\277\275", 3},
    {"&#128;", 6, "\342\202\254", 3},
    {"&#x9F;", 6, "\303\277", 2},
    {"&#x110000;", 10, "\357\277\275", 3},
    {"&#xD800;", 8, "\357\277\275", 3},
    {"&#1;x", 5, "x", 1},
    {"&#xFDD0;y", 9, "y", 1},
    {"&#99999999999999999999;", 23, "\357\277\275", 3},
    {"&#;", 3, "&#;", 3},
    {"&#x;", 4, "&#x;", 4},
    {"&#xg", 4, "&#xg", 4},
    {"&bogus;", 7, "&bogus;", 7},
    {"&", 1, "&", 1},
    {"AT&T", 4, "at&t", 4},
    {"&lt;&gt;", 8, "<>", 2},
    {"&NotEqualTilde;", 15, "\342\211\202\314\270", 5},
    {"&amp;lt;", 8, "<", 1},
    {"&amp;amp;lt;", 12, "&lt;", 4},
    {"&copy\000x", 7, "\302\251\000x", 4},
    {"&amp\303\250re", 8, "&\303\250re", 5},
    {"&aacute", 7, "\303\241", 2},
    {"&AMP;", 5, "&", 1},
    {"&Amp;", 5, "&amp;", 5},
    {"&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;", 42, "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;", 42},
    {"&notindot;", 10, "\342\213\265\314\270", 5},
    {"&ThickSpace;x", 13, "x", 1},
    {"&Tab;a&NewLine;b&nbsp;c", 23, "a b c", 5},
    {"\034 a \034", 5, "a", 1},
    {"a\034b", 3, "a\034b", 3},
    {"a\342\200\203\343\200\200 b", 9, "a b", 3},
    {"a\342\200\213b", 5, "a\342\200\213b", 5},
    {"\302\205x\302\240", 5, "x", 1},
    {"  multiple   spaces\011and\011tabs\012new lines  ", 40, "multiple spaces and tabs new lines", 34},
    {"\342\200\250\342\200\251", 6, "", 0},
    {"\304\260", 2, "i\314\207", 3},
    {"\316\237\316\224\316\237\316\243", 8, "\316\277\316\264\316\277\317\202", 8},
    {"\316\243\316\221", 4, "\317\203\316\261", 4},
    {"\316\243", 2, "\317\203", 2},
    {"\316\221\316\243'\316\221", 7, "\316\261\317\203'\316\261", 7},
    {"\316\221\316\243.", 5, "\316\261\317\202.", 5},
    {"\316\221\316\243\314\201", 6, "\316\261\317\202\314\201", 6},
    {"\341\265\232\316\243", 5, "\341\265\232\317\203", 5},
    {"\316\221\316\243\316\243", 6, "\316\261\317\203\317\202", 6},
    {"Stra\303\237e", 7, "stra\303\237e", 7},
    {"\307\205", 2, "\307\206", 2},
    {"\342\205\247\342\205\240", 6, "\342\205\267\342\205\260", 6},
    {"\357\274\241", 3, "\357\275\201", 3},
    {"K\303\205", 3, "k\303\245", 3},
};
static const struct { const char *in; size_t in_len; int n; int32_t ids[77]; } token_cases[] = {
    {"<|\305\277tartoftext|>", 16, 11, {49406, 27, 91, 129, 123, 2002, 6659, 18169, 91, 285, 49407}},
    {"<|STARTOFTEXT|>", 15, 3, {49406, 49406, 49407}},
    {"x<|endoftext|>y", 15, 5, {49406, 343, 49407, 344, 49407}},
    {"!<|endoftext|>", 14, 9, {49406, 0, 27, 347, 40786, 4160, 91, 285, 49407}},
    {"a\315\205b", 4, 4, {49406, 320, 321, 49407}},
    {"it'\305\277", 5, 6, {49406, 585, 6, 129, 379, 49407}},
    {"don'T", 5, 4, {49406, 847, 713, 49407}},
    {"\316\237\316\224\316\237\316\243 \316\237\316\224\316\237\316\243", 17, 18, {49406, 138, 123, 138, 112, 138, 123, 139, 480, 138, 123, 138, 112, 138, 123, 139, 480, 49407}},
    {"\304\260stanbul", 9, 5, {49406, 328, 16384, 11231, 49407}},
    {"&lt;cat&gt; &amp;amp; dog", 25, 7, {49406, 283, 2368, 285, 261, 1929, 49407}},
    {"a &nbsp; b", 10, 4, {49406, 320, 321, 49407}},
    {"5\302\275\342\205\247", 6, 7, {49406, 276, 33613, 158, 227, 371, 49407}},
    {"\331\241\331\242", 4, 6, {49406, 149, 350, 149, 351, 49407}},
    {"\000", 1, 3, {49406, 444, 49407}},
    {"\357\273\277hi", 5, 6, {49406, 171, 119, 379, 1883, 49407}},
    {"na\303\257ve\314\201", 8, 7, {49406, 1097, 35689, 563, 136, 479, 49407}},
    {"e\314\201", 3, 5, {49406, 324, 136, 479, 49407}},
    {"\360\237\207\272\360\237\207\270 flag", 13, 4, {49406, 5688, 4859, 49407}},
    {"''s", 3, 4, {49406, 8445, 338, 49407}},
    {"x's'", 4, 5, {49406, 343, 568, 262, 49407}},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 300, 40, {49406, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 23126, 19336, 49407}},
    {"supercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocious", 680, 77, {49406, 1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 698, 1987, 1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 698, 1987, 1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 698, 1987, 1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 698, 1987, 1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 698, 1987, 1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 698, 1987, 1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 698, 1987, 1642, 2857, 13093, 2076, 5868, 49407}},
};

/* ---- helpers ------------------------------------------------------------- */

static int tokenize(clipsearch_tokenizer *tok, const char *s, size_t len, int ctx, int32_t *ids,
                    int *n)
{
    clipsearch_error err = {0};
    clipsearch_status st = clipsearch_tokenize(tok, s, len, ids, ctx, n, &err);
    CHECK(st == CLIPSEARCH_OK, "tokenize failed: %s", err.message);
    return st == CLIPSEARCH_OK;
}

static int same_ids(clipsearch_tokenizer *tok, const char *a, size_t alen, const char *b,
                    size_t blen)
{
    int32_t x[77], y[77];
    int nx = 0, ny = 0;
    if (!tokenize(tok, a, alen, 77, x, &nx) || !tokenize(tok, b, blen, 77, y, &ny))
        return 0;
    return nx == ny && memcmp(x, y, sizeof x) == 0;
}

static const char *subdir(const char *name)
{
    static char bufs[4][1024];
    static int next = 0;
    char *b = bufs[next++ & 3];
    snprintf(b, 1024, "%s/%s", tu_tmpdir(), name);
    mkdir(b, 0700);
    return b;
}

static const char *in_dir(const char *dir, const char *file)
{
    static char bufs[4][1200];
    static int next = 0;
    char *b = bufs[next++ & 3];
    snprintf(b, 1200, "%s/%s", dir, file);
    return b;
}

/* Loads path and expects failure with `status` and a message holding
 * `needle`. */
static void expect_load_error(const char *path, clipsearch_status status, const char *needle)
{
    clipsearch_tokenizer *tok = NULL;
    clipsearch_error err = {0};
    clipsearch_status st = clipsearch_tokenizer_load(path, &tok, &err);
    CHECK(st == status, "loading %s: status %d (%s), expected %d", path, (int)st, err.message,
          (int)status);
    CHECK(tok == NULL, "loading %s: a tokenizer despite the error", path);
    CHECK(st == CLIPSEARCH_OK || strstr(err.message, needle) != NULL,
          "loading %s: message '%s' does not mention '%s'", path, err.message, needle);
    clipsearch_tokenizer_free(tok);
}

/* ---- golden ------------------------------------------------------------ */

static void test_golden(clipsearch_tokenizer *tok, const char *table)
{
    size_t size = 0;
    char *text = tu_read_file(tu_fixture("golden/golden.json"), &size);
    cJSON *root = text ? cJSON_ParseWithLength(text, size) : NULL;
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    const cJSON *strings = cJSON_GetObjectItemCaseSensitive(tokens, "strings");
    const cJSON *openai = cJSON_GetObjectItemCaseSensitive(tokens, "openai");
    int count = cJSON_GetArraySize(strings), mismatches = 0;
    CHECK(root && count == 48 && cJSON_GetArraySize(openai) == count,
          "golden.json: expected 48 strings with tokens.openai");
    for (int i = 0; i < count; i++) {
        const cJSON *s = cJSON_GetArrayItem(strings, i), *want = cJSON_GetArrayItem(openai, i);
        int32_t ids[77];
        int n = 0, wn = cJSON_GetArraySize(want), bad = -1;
        if (!cJSON_IsString(s) || !tokenize(tok, s->valuestring, strlen(s->valuestring), 77, ids, &n))
            continue;
        for (int k = 0; k < 77 && bad < 0; k++) {
            int expect = k < wn ? cJSON_GetArrayItem(want, k)->valueint : 0;
            if (ids[k] != expect)
                bad = k;
        }
        if (n != wn && bad < 0)
            bad = n < wn ? n : wn;
        if (bad >= 0) {
            if (mismatches == 0)
                fprintf(stderr,
                        "%s: golden string %d \"%s\": first difference at id %d: got %d, "
                        "expected %d (%d ids, expected %d)\n",
                        table, i, s->valuestring, bad, (int)ids[bad],
                        bad < wn ? cJSON_GetArrayItem(want, bad)->valueint : 0, n, wn);
            mismatches++;
        }
    }
    CHECK(mismatches == 0, "%s: %d of %d golden strings differ from CLIP's tokens", table,
          mismatches, count);
    printf("%s: %d golden strings, %d differ\n", table, count, mismatches);
    cJSON_Delete(root);
    free(text);
}

/* ---- cleaning, corner cases -------------------------------------------- */

static void test_clean(void)
{
    for (size_t i = 0; i < sizeof clean_cases / sizeof *clean_cases; i++) {
        char *out = NULL;
        size_t n = 0;
        clipsearch_error err = {0};
        CHECK(cs_clip_clean_utf8(clean_cases[i].in, clean_cases[i].in_len, &out, &n, &err) ==
                  CLIPSEARCH_OK,
              "clean %zu: %s", i, err.message);
        CHECK(out && n == clean_cases[i].out_len && memcmp(out, clean_cases[i].out, n) == 0,
              "clean case %zu (\"%s\"): got \"%s\" (%zu bytes), expected \"%s\" (%zu bytes)", i,
              clean_cases[i].in, out ? out : "", n, clean_cases[i].out, clean_cases[i].out_len);
        free(out);
    }
}

static void test_token_cases(clipsearch_tokenizer *tok, const char *table)
{
    for (size_t i = 0; i < sizeof token_cases / sizeof *token_cases; i++) {
        int32_t ids[77];
        int n = 0, k = 0;
        if (!tokenize(tok, token_cases[i].in, token_cases[i].in_len, 77, ids, &n))
            continue;
        if (n == token_cases[i].n)
            for (k = 0; k < n && ids[k] == token_cases[i].ids[k]; k++)
                ;
        CHECK(n == token_cases[i].n && k == n,
              "%s: token case %zu (\"%.40s\"): %d ids, expected %d; first difference at %d", table,
              i, token_cases[i].in, n, token_cases[i].n, k);
    }
}

static void test_api(clipsearch_tokenizer *tok)
{
    static const int32_t cat[] = {SOT, 320, 1125, 539, 320, 2368, EOT};
    const char *s = "a photo of a cat";
    int32_t ids[80];
    int n = -1;
    clipsearch_error err = {0};

    /* Truncation as tokenize(truncate=True): cut, last id forced to EOT. */
    for (int ctx = 2; ctx <= 9; ctx++) {
        int want = ctx < 7 ? ctx : 7, ok;
        for (int k = 0; k < 80; k++)
            ids[k] = -7;
        if (!tokenize(tok, s, strlen(s), ctx, ids, &n))
            continue;
        ok = n == want && ids[0] == SOT && ids[want - 1] == EOT;
        for (int k = 1; k < want - 1; k++)
            ok = ok && ids[k] == cat[k];
        for (int k = want; k < ctx; k++)
            ok = ok && ids[k] == 0;
        ok = ok && ids[ctx] == -7; /* nothing written past context_length */
        CHECK(ok, "context %d: wrong truncation or padding (n = %d)", ctx, n);
    }
    /* Empty input, NULL with length 0, only spaces. */
    CHECK(tokenize(tok, "", 0, 77, ids, &n) && n == 2 && ids[0] == SOT && ids[1] == EOT &&
              ids[2] == 0 && ids[76] == 0,
          "empty string");
    CHECK(tokenize(tok, NULL, 0, 77, ids, &n) && n == 2, "NULL text of length 0");
    CHECK(tokenize(tok, " \t\n\xc2\xa0 ", 6, 77, ids, &n) && n == 2, "only whitespace");
    /* Bad arguments. */
    CHECK(clipsearch_tokenize(tok, s, strlen(s), ids, 1, &n, &err) ==
                  CLIPSEARCH_ERR_INVALID_ARGUMENT &&
              err.message[0],
          "context 1 must be refused");
    CHECK(clipsearch_tokenize(NULL, s, strlen(s), ids, 77, &n, &err) ==
              CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "NULL tokenizer must be refused");
    CHECK(clipsearch_tokenize(tok, NULL, 3, ids, 77, &n, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "NULL text with a length must be refused");
    /* The length is honoured: bytes after len are not read. */
    CHECK(same_ids(tok, "dog on a beach!!!", 14, "dog on a beach", 14), "len is honoured");
    /* The same text twice (the second from the cache). */
    CHECK(same_ids(tok, "photographers photographing", 27, "photographers photographing", 27),
          "cached result differs");
}

static void test_invalid_utf8(clipsearch_tokenizer *tok)
{
    static const struct {
        const char *in;
        size_t n_replacements;
    } bad[] = {
        {"\xff", 1},         {"\x80\x80", 2},         {"\xc3", 1},
        {"\xe0\x80\x80", 3}, {"\xed\xa0\x80", 3},      {"\xf4\x90\x80\x80", 4},
        {"\xf0\x9f\x98", 1}, {"\xc0\xaf", 2},          {"\xfe\xfe\xff", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint32_t cp[16];
        size_t n = cs_utf8_decode(bad[i].in, strlen(bad[i].in), cp), k;
        char fffd[64] = "";
        int ok = n == bad[i].n_replacements;
        for (k = 0; k < n; k++) {
            ok = ok && cp[k] == 0xFFFD;
            strcat(fffd, "\xef\xbf\xbd");
        }
        CHECK(ok, "invalid UTF-8 case %zu: %zu code points", i, n);
        CHECK(same_ids(tok, bad[i].in, strlen(bad[i].in), fffd, strlen(fffd)),
              "invalid UTF-8 case %zu does not read as U+FFFD", i);
    }
    CHECK(same_ids(tok, "caf\xc3 au lait", 12, "caf\xef\xbf\xbd au lait", 14),
          "a cut sequence inside text");
}

/* Python only looks for the next pair after merging every occurrence of
 * the current one; a pair that a merge creates with a lower rank must wait.
 * Table: the real vocabulary, merges "ab a" (rank 0) then "a b" (rank 1). */
static void test_bpe_order(const char *vocab, size_t vocab_len)
{
    static const char merges[] = "#version: 0.2\nab a\na b\n";
    clipsearch_tokenizer *tok = NULL;
    clipsearch_error err = {0};
    cJSON *v = cJSON_ParseWithLength(vocab, vocab_len);
    int id_ab = cJSON_GetObjectItemCaseSensitive(v, "ab")->valueint;
    int id_aba = cJSON_GetObjectItemCaseSensitive(v, "aba")->valueint;
    int id_c = cJSON_GetObjectItemCaseSensitive(v, "c</w>")->valueint;
    int id_b = cJSON_GetObjectItemCaseSensitive(v, "b</w>")->valueint;
    int32_t ids[77];
    int n = 0;
    CHECK(cs_tokenizer_load_hf_mem(vocab, vocab_len, merges, strlen(merges), "order", &tok,
                                   &err) == CLIPSEARCH_OK,
          "custom merges: %s", err.message);
    if (tok) {
        /* a b a b c: both (a b) first, then (ab a) never applies. */
        CHECK(tokenize(tok, "ababc", 5, 77, ids, &n) && n == 5 && ids[1] == id_ab &&
                  ids[2] == id_ab && ids[3] == id_c,
              "ababc: got %d ids [%d %d %d]", n, (int)ids[1], (int)ids[2], (int)ids[3]);
        /* a b a b</w>: (a b) once, then (ab a). */
        CHECK(tokenize(tok, "abab", 4, 77, ids, &n) && n == 4 && ids[1] == id_aba &&
                  ids[2] == id_b,
              "abab: got %d ids [%d %d]", n, (int)ids[1], (int)ids[2]);
    }
    clipsearch_tokenizer_free(tok);
    cJSON_Delete(v);
}

/* More distinct words than the cache holds: results stay the same. */
static void test_cache_overflow(clipsearch_tokenizer *tok)
{
    int32_t first[77], again[77];
    int n1 = 0, n2 = 0;
    char w[8];
    tokenize(tok, "lighthouse keeper", 17, 77, first, &n1);
    for (int i = 0; i < 40000; i++) {
        int32_t ids[8];
        int n;
        w[0] = (char)('a' + i % 26);
        w[1] = (char)('a' + i / 26 % 26);
        w[2] = (char)('a' + i / 676 % 26);
        w[3] = (char)('a' + i / 17576 % 26);
        if (clipsearch_tokenize(tok, w, 4, ids, 8, &n, NULL) != CLIPSEARCH_OK) {
            CHECK(0, "tokenize failed in the cache loop");
            break;
        }
    }
    tokenize(tok, "lighthouse keeper", 17, 77, again, &n2);
    CHECK(n1 == n2 && memcmp(first, again, sizeof first) == 0, "results changed with the cache");
}

/* ---- malformed tables -------------------------------------------------- */

static void expect_hf_error(const char *vocab, const char *merges, const char *needle,
                            const char *what)
{
    clipsearch_tokenizer *tok = NULL;
    clipsearch_error err = {0};
    clipsearch_status st = cs_tokenizer_load_hf_mem(vocab, strlen(vocab), merges, strlen(merges),
                                                    "mem", &tok, &err);
    CHECK(st == CLIPSEARCH_ERR_FORMAT && tok == NULL && strstr(err.message, needle),
          "%s: status %d, message '%s' (wanted '%s')", what, (int)st, err.message, needle);
    clipsearch_tokenizer_free(tok);
}

/* The real vocab.json with one change. */
static char *vocab_with(const char *vocab, size_t len, const char *key, cJSON *value,
                        int remove)
{
    cJSON *v = cJSON_ParseWithLength(vocab, len);
    char *out;
    if (remove)
        cJSON_DeleteItemFromObjectCaseSensitive(v, key);
    else if (cJSON_GetObjectItemCaseSensitive(v, key))
        cJSON_ReplaceItemInObjectCaseSensitive(v, key, value);
    else
        cJSON_AddItemToObject(v, key, value);
    if (remove && value)
        cJSON_Delete(value);
    out = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    return out;
}

static void test_malformed_hf(const char *vocab, size_t vlen, const char *merges, size_t mlen)
{
    char *m = malloc(mlen + 64), *v;
    const char *dir;

    expect_hf_error("{\"a\": 1", merges, "vocab.json", "truncated JSON");
    expect_hf_error("[1, 2, 3]", merges, "vocab.json", "JSON array");
    expect_hf_error("{}", merges, "vocab.json", "empty object");
    expect_hf_error("{\"a\": \"x\"}", merges, "no id", "string id");

    v = vocab_with(vocab, vlen, "!", cJSON_CreateNumber(1), 0);
    expect_hf_error(v, merges, "used twice", "duplicate id");
    free(v);
    v = vocab_with(vocab, vlen, "!", cJSON_CreateNumber(2.5), 0);
    expect_hf_error(v, merges, "no id", "fractional id");
    free(v);
    v = vocab_with(vocab, vlen, "<|endoftext|>", cJSON_CreateNumber(0), 1);
    expect_hf_error(v, merges, "<|endoftext|>", "no <|endoftext|>");
    free(v);
    /* Byte symbol 'A' removed; its id given to a new token instead. */
    v = vocab_with(vocab, vlen, "A", NULL, 1);
    {
        cJSON *j = cJSON_Parse(v);
        cJSON_AddNumberToObject(j, "zzzzqqqq", 32);
        free(v);
        v = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
    }
    expect_hf_error(v, "#version: 0.2\n", "byte symbol", "missing byte symbol");
    free(v);

    memcpy(m, merges, mlen);
    strcpy(m + mlen, "a b c\n");
    expect_hf_error(vocab, m, "merges.txt line 48896", "three symbols");
    strcpy(m + mlen, "lonely\n");
    expect_hf_error(vocab, m, "two symbols", "one symbol");
    strcpy(m + mlen, "zzzqq a\n");
    expect_hf_error(vocab, m, "not in the vocabulary", "unknown symbol");
    strcpy(m + mlen, "\xc4\x80 \xc4\x80\n");
    expect_hf_error(vocab, m, "not in the vocabulary", "merge result missing");
    strcpy(m + mlen, "\xff a\n");
    expect_hf_error(vocab, m, "UTF-8", "invalid UTF-8 symbol");

    /* Files: a directory with only vocab.json; a bad vocab.json on disk. */
    dir = subdir("hf_nomerges");
    tu_write_file(in_dir(dir, "vocab.json"), vocab, vlen);
    expect_load_error(dir, CLIPSEARCH_ERR_NOT_FOUND, "merges.txt");
    dir = subdir("hf_badjson");
    tu_write_file(in_dir(dir, "vocab.json"), vocab, vlen / 2);
    tu_write_file(in_dir(dir, "merges.txt"), merges, mlen);
    expect_load_error(dir, CLIPSEARCH_ERR_FORMAT, "vocab.json");
    expect_load_error(in_dir(dir, "merges.txt"), CLIPSEARCH_ERR_FORMAT, "vocab.json");
    free(m);
}

static void test_malformed_gz(void)
{
    size_t n = 0;
    char *gz = tu_read_file(tu_fixture("tokenizer/bpe_simple_vocab_16e6.txt.gz"), &n);
    const char *dir = subdir("gz");
    char *p;
    gzFile g;
    if (!gz) {
        CHECK(0, "cannot read the .gz fixture");
        return;
    }
    p = (char *)in_dir(dir, "truncated.txt.gz");
    tu_write_file(p, gz, n / 2);
    expect_load_error(p, CLIPSEARCH_ERR_FORMAT, "truncated");
    p = (char *)in_dir(dir, "corrupt.txt.gz");
    for (size_t i = n / 3; i < n / 3 + 16; i++)
        gz[i] ^= 0x5A;
    tu_write_file(p, gz, n);
    expect_load_error(p, CLIPSEARCH_ERR_FORMAT, "corrupt");
    p = (char *)in_dir(dir, "empty.txt.gz");
    tu_write_file(p, "", 0);
    expect_load_error(p, CLIPSEARCH_ERR_FORMAT, "merge");
    p = (char *)in_dir(dir, "short.txt.gz");
    g = gzopen(p, "wb");
    gzputs(g, "\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n");
    gzclose(g);
    expect_load_error(p, CLIPSEARCH_ERR_FORMAT, "48894");
    p = (char *)in_dir(dir, "badline.txt.gz");
    g = gzopen(p, "wb");
    gzputs(g, "header\ni n\nt h e\n");
    gzclose(g);
    expect_load_error(p, CLIPSEARCH_ERR_FORMAT, "line 3");
    expect_load_error(in_dir(dir, "absent.txt.gz"), CLIPSEARCH_ERR_NOT_FOUND, "absent.txt.gz");
    expect_load_error(subdir("empty_dir"), CLIPSEARCH_ERR_NOT_FOUND, "no tokenizer");
    expect_load_error("", CLIPSEARCH_ERR_INVALID_ARGUMENT, "path");
    {
        clipsearch_error err = {0};
        CHECK(clipsearch_tokenizer_load(NULL, NULL, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
              "NULL out must be refused");
    }
    free(gz);
}

/* ---- the ways to name a table ------------------------------------------- */

static void test_paths(clipsearch_tokenizer *reference)
{
    const char *paths[] = {
        tu_fixture("tokenizer/vocab.json"),
        tu_fixture("tokenizer/merges.txt"),
    };
    size_t n = 0;
    char *gz = tu_read_file(tu_fixture("tokenizer/bpe_simple_vocab_16e6.txt.gz"), &n);
    const char *dir = subdir("gz_only");
    const char *all[3];
    const char *s = "the Eiffel tower at night, 1889";
    int32_t want[77];
    int wn = 0;
    tu_write_file(in_dir(dir, "bpe_simple_vocab_16e6.txt.gz"), gz, n);
    free(gz);
    all[0] = paths[0];
    all[1] = paths[1];
    all[2] = dir; /* a directory holding only the OpenAI table */
    tokenize(reference, s, strlen(s), 77, want, &wn);
    for (int i = 0; i < 3; i++) {
        clipsearch_tokenizer *tok = NULL;
        clipsearch_error err = {0};
        int32_t ids[77];
        int k = 0;
        CHECK(clipsearch_tokenizer_load(all[i], &tok, &err) == CLIPSEARCH_OK, "load %s: %s",
              all[i], err.message);
        if (!tok)
            continue;
        CHECK(cs_tokenizer_vocab_size(tok) == 49408, "%s: %d ids", all[i],
              cs_tokenizer_vocab_size(tok));
        CHECK(tokenize(tok, s, strlen(s), 77, ids, &k) && k == wn &&
                  memcmp(ids, want, sizeof ids) == 0,
              "%s gives other ids", all[i]);
        clipsearch_tokenizer_free(tok);
    }
}

static void test_context_length(void)
{
    const char *d;
    int c = 0;
    clipsearch_error err = {0};
    CHECK(clipsearch_tokenizer_context_length(tu_fixture("golden/clip-tiny-b32"), &c, &err) ==
                  CLIPSEARCH_OK &&
              c == 77,
          "clip-tiny-b32: %d (%s)", c, err.message);
    CHECK(clipsearch_tokenizer_context_length(tu_fixture("golden/openai-tiny-vit"), &c, &err) ==
                  CLIPSEARCH_OK &&
              c == 77,
          "openai-tiny-vit: %d (%s)", c, err.message);
    d = subdir("cfg50");
    tu_write_file(in_dir(d, "config.json"), "{\"text_config\": {\"max_position_embeddings\": 50}}",
                  49);
    CHECK(clipsearch_tokenizer_context_length(d, &c, &err) == CLIPSEARCH_OK && c == 50,
          "config with 50: %d", c);
    d = subdir("cfg_openclip");
    tu_write_file(in_dir(d, "open_clip_config.json"),
                  "{\"model_cfg\": {\"text_cfg\": {\"context_length\": 33}}}", 51);
    CHECK(clipsearch_tokenizer_context_length(d, &c, &err) == CLIPSEARCH_OK && c == 33,
          "open_clip config with 33: %d", c);
    d = subdir("cfg_nofield");
    tu_write_file(in_dir(d, "config.json"), "{\"text_config\": {}}", 19);
    CHECK(clipsearch_tokenizer_context_length(d, &c, &err) == CLIPSEARCH_OK && c == 77,
          "config without the field: %d", c);
    CHECK(clipsearch_tokenizer_context_length(subdir("cfg_none"), &c, &err) == CLIPSEARCH_OK &&
              c == 77,
          "no config: %d", c);
    d = subdir("cfg_bad");
    tu_write_file(in_dir(d, "config.json"), "{\"text_config\": ", 16);
    CHECK(clipsearch_tokenizer_context_length(d, &c, &err) == CLIPSEARCH_ERR_FORMAT &&
              strstr(err.message, "config.json"),
          "broken config: %s", err.message);
    d = subdir("cfg_one");
    tu_write_file(in_dir(d, "config.json"), "{\"text_config\": {\"max_position_embeddings\": 1}}",
                  48);
    CHECK(clipsearch_tokenizer_context_length(d, &c, &err) == CLIPSEARCH_ERR_FORMAT,
          "context length 1 must be refused");
}

int main(void)
{
    clipsearch_tokenizer *hf = NULL, *openai = NULL;
    clipsearch_error err = {0};
    size_t vlen = 0, mlen = 0;
    char *vocab, *merges;

    test_clean(); /* needs no table */
    tu_require_fixture("tokenizer/vocab.json");
    tu_require_fixture("tokenizer/bpe_simple_vocab_16e6.txt.gz");
    tu_require_fixture("golden/golden.json");

    CHECK(clipsearch_tokenizer_load(tu_fixture("tokenizer"), &hf, &err) == CLIPSEARCH_OK,
          "load HF table: %s", err.message);
    CHECK(clipsearch_tokenizer_load(tu_fixture("tokenizer/bpe_simple_vocab_16e6.txt.gz"), &openai,
                                    &err) == CLIPSEARCH_OK,
          "load OpenAI table: %s", err.message);
    if (hf) {
        test_golden(hf, "vocab.json+merges.txt");
        test_token_cases(hf, "vocab.json+merges.txt");
        test_api(hf);
        test_invalid_utf8(hf);
        test_paths(hf);
        test_cache_overflow(hf);
    }
    if (openai) {
        test_golden(openai, "bpe_simple_vocab_16e6.txt.gz");
        test_token_cases(openai, "bpe_simple_vocab_16e6.txt.gz");
        test_api(openai);
    }
    vocab = tu_read_file(tu_fixture("tokenizer/vocab.json"), &vlen);
    merges = tu_read_file(tu_fixture("tokenizer/merges.txt"), &mlen);
    if (vocab && merges) {
        test_bpe_order(vocab, vlen);
        test_malformed_hf(vocab, vlen, merges, mlen);
    }
    free(vocab);
    free(merges);
    test_malformed_gz();
    test_context_length();
    clipsearch_tokenizer_free(hf);
    clipsearch_tokenizer_free(openai);
    return tu_finish("test_tokenizer");
}
