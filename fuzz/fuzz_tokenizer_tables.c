/* fuzz_tokenizer_tables.c — malformed tokenizer tables.
 *
 * The first byte picks what the rest of the input is:
 *   0: merges.txt, with a small built-in vocab.json (the 512 byte symbols,
 *      every string over {a,b,c} of length 2..4 with and without "</w>",
 *      and the two special tokens), so random merges often load;
 *   1: vocab.json, with a few built-in merges;
 *   2: the text of OpenAI's bpe_simple_vocab_16e6.txt.
 * A table that loads is then used on a fixed text, which runs the BPE over
 * arbitrary merge orders.  Needs no fixture. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "tokenizer_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *vocab_json;
static size_t vocab_len;

static void add(char **p, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *p = realloc(*p, *cap);
        if (!*p)
            abort();
    }
    memcpy(*p + *len, s, n + 1);
    *len += n;
}

/* Builds the small vocab.json described above. */
static void build_vocab(void)
{
    size_t cap = 0;
    int id = 0, n = 0;
    char item[64];
    uint32_t cp_of[256];
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        cp_of[b] = printable ? (uint32_t)b : 256u + (uint32_t)n++;
    }
    add(&vocab_json, &vocab_len, &cap, "{");
    for (int end = 0; end < 2; end++)
        for (int b = 0; b < 256; b++) {
            char u[8] = {0};
            size_t k = cs_utf8_encode(cp_of[b], u);
            u[k] = '\0';
            if (cp_of[b] == '"' || cp_of[b] == '\\')
                snprintf(item, sizeof item, "%s\"\\%s%s\": %d", id ? ", " : "", u,
                         end ? "</w>" : "", id);
            else
                snprintf(item, sizeof item, "%s\"%s%s\": %d", id ? ", " : "", u,
                         end ? "</w>" : "", id);
            id++;
            add(&vocab_json, &vocab_len, &cap, item);
        }
    for (int len = 2; len <= 4; len++) {
        int total = 1;
        for (int k = 0; k < len; k++)
            total *= 3;
        for (int v = 0; v < total; v++)
            for (int end = 0; end < 2; end++) {
                char w[8];
                int x = v;
                for (int k = 0; k < len; k++, x /= 3)
                    w[k] = (char)('a' + x % 3);
                w[len] = '\0';
                snprintf(item, sizeof item, ", \"%s%s\": %d", w, end ? "</w>" : "", id++);
                add(&vocab_json, &vocab_len, &cap, item);
            }
    }
    snprintf(item, sizeof item, ", \"<|startoftext|>\": %d", id++);
    add(&vocab_json, &vocab_len, &cap, item);
    snprintf(item, sizeof item, ", \"<|endoftext|>\": %d}", id++);
    add(&vocab_json, &vocab_len, &cap, item);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char text[] = "abcabc aabbcc cab abba <|endoftext|> ccc b a hello";
    static const char merges[] = "#version: 0.2\na b\nab c\nc a\n";
    clipsearch_tokenizer *tok = NULL;
    const char *body = (const char *)data + 1;
    size_t n = size ? size - 1 : 0;
    int32_t ids[77];
    int count = 0;
    if (size == 0)
        return 0;
    if (!vocab_json)
        build_vocab();
    switch (data[0] % 3) {
    case 0:
        cs_tokenizer_load_hf_mem(vocab_json, vocab_len, body, n, "fuzz", &tok, NULL);
        break;
    case 1:
        cs_tokenizer_load_hf_mem(body, n, merges, sizeof merges - 1, "fuzz", &tok, NULL);
        break;
    default:
        cs_tokenizer_load_bpe_mem(body, n, "fuzz", &tok, NULL);
        break;
    }
    if (tok) {
        if (clipsearch_tokenize(tok, text, sizeof text - 1, ids, 77, &count, NULL) !=
                CLIPSEARCH_OK ||
            count < 2)
            abort();
        for (int i = 0; i < count; i++)
            if (ids[i] < 0 || ids[i] >= cs_tokenizer_vocab_size(tok))
                abort();
    }
    clipsearch_tokenizer_free(tok);
    return 0;
}
