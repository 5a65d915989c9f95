/* tokenizer.c — CLIP's byte-level BPE: loading the table (Hugging Face
 * vocab.json + merges.txt, or OpenAI's bpe_simple_vocab_16e6.txt.gz),
 * pre-tokenisation with CLIP's pattern, BPE by merge rank with a cache, and
 * the <|startoftext|> ... <|endoftext|> wrapping of tokenize(truncate=True).
 * Text cleaning lives in tokenizer_clean.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>
#include <zlib.h>

#include "error.h"
#include "tokenizer_internal.h"

#define SOT_TEXT "<|startoftext|>"
#define EOT_TEXT "<|endoftext|>"
#define END_OF_WORD "</w>"
/* simple_tokenizer.py: merges = lines[1:49152-256-2+1] */
#define OPENAI_MERGES (49152 - 256 - 2)
#define MAX_TABLE_FILE (256u << 20)  /* bytes read from any table file */
#define MAX_INFLATED (64u << 20)     /* bytes after gunzip */
#define MAX_SYMBOL_BYTES 4096        /* longest token string accepted */
#define MAX_TEXT_BYTES (1u << 28)    /* one string to tokenize */
#define CACHE_MAX_WORD 128           /* longer words are not cached */
#define CACHE_MAX_ENTRIES 32768      /* then the cache starts over */
#define CACHE_MAX_IDS (1u << 20)

/* ---- hashing ------------------------------------------------------------ */

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

/* String -> id map, used while loading.  Keys point into caller memory. */
typedef struct strmap {
    const char **key;
    uint32_t *klen;
    int32_t *val;
    size_t mask, count;
} strmap;

static int strmap_init(strmap *m, size_t expected)
{
    size_t cap = pow2_at_least(expected * 2 + 1);
    m->key = calloc(cap, sizeof *m->key);
    m->klen = calloc(cap, sizeof *m->klen);
    m->val = calloc(cap, sizeof *m->val);
    m->mask = cap - 1;
    m->count = 0;
    return m->key && m->klen && m->val;
}

static void strmap_free(strmap *m)
{
    free(m->key);
    free(m->klen);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* Finds the slot of a key (or the empty slot where it would go). */
static size_t strmap_slot(const strmap *m, const char *k, size_t n)
{
    size_t i = (size_t)hash_bytes(k, n) & m->mask;
    while (m->key[i] && !(m->klen[i] == n && memcmp(m->key[i], k, n) == 0))
        i = (i + 1) & m->mask;
    return i;
}

static int32_t strmap_get(const strmap *m, const char *k, size_t n)
{
    size_t i = strmap_slot(m, k, n);
    return m->key[i] ? m->val[i] : -1;
}

/* Inserts or overwrites (later entries win, like Python's dict(zip(...))).
 * Returns 1 when the key was new, 0 when overwritten.  The map never fills:
 * it is sized for all keys up front. */
static int strmap_put(strmap *m, const char *k, size_t n, int32_t v)
{
    size_t i = strmap_slot(m, k, n);
    int fresh = m->key[i] == NULL;
    m->key[i] = k;
    m->klen[i] = (uint32_t)n;
    m->val[i] = v;
    m->count += (size_t)fresh;
    return fresh;
}

/* ---- the tokenizer ------------------------------------------------------ */

typedef struct cache_entry {
    uint64_t hash;
    uint32_t key_off, ids_off;
    uint16_t key_len, n_ids; /* key_len 0: empty slot */
} cache_entry;

struct clipsearch_tokenizer {
    int n_vocab;            /* ids are 0..n_vocab-1 */
    int32_t sot, eot;
    int32_t byte_id[256];   /* id of each byte's symbol */
    int32_t byte_end_id[256]; /* the same symbol + "</w>" */
    /* merges: (left id << 32 | right id) -> rank, merged id; open addressing */
    uint64_t *pair_key;     /* UINT64_MAX: empty */
    int32_t *pair_rank;
    int32_t *pair_merged;
    size_t pair_mask;
    /* BPE cache: word bytes -> ids (simple_tokenizer's self.cache) */
    cache_entry *cache;
    size_t cache_mask, cache_count;
    char *cache_keys;
    size_t cache_keys_len, cache_keys_cap;
    int32_t *cache_ids;
    size_t cache_ids_len, cache_ids_cap;
    /* BPE scratch, grown as needed */
    int32_t *sym;           /* symbol id at each position */
    int32_t *prev, *next;   /* linked list over positions, -1 ends */
    uint64_t *heap;         /* (rank << 32 | position), min-heap; each merge
                               pushes at most 2 entries, so 3 n suffice */
    uint64_t *deferred;     /* same bound */
    size_t scratch_cap;
};

void clipsearch_tokenizer_free(clipsearch_tokenizer *tok)
{
    if (!tok)
        return;
    free(tok->pair_key);
    free(tok->pair_rank);
    free(tok->pair_merged);
    free(tok->cache);
    free(tok->cache_keys);
    free(tok->cache_ids);
    free(tok->sym);
    free(tok->prev);
    free(tok->next);
    free(tok->heap);
    free(tok->deferred);
    free(tok);
}

int cs_tokenizer_vocab_size(const clipsearch_tokenizer *tok)
{
    return tok ? tok->n_vocab : 0;
}

static size_t pair_slot(const clipsearch_tokenizer *t, uint64_t key)
{
    size_t i = (size_t)hash_u64(key) & t->pair_mask;
    while (t->pair_key[i] != UINT64_MAX && t->pair_key[i] != key)
        i = (i + 1) & t->pair_mask;
    return i;
}

/* Rank of the pair (a, b), or -1 when it is not a merge. */
static int32_t pair_rank(const clipsearch_tokenizer *t, int32_t a, int32_t b,
                         int32_t *merged)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = pair_slot(t, key);
    if (t->pair_key[i] == UINT64_MAX)
        return -1;
    *merged = t->pair_merged[i];
    return t->pair_rank[i];
}

/* bytes_to_unicode() from simple_tokenizer.py: printable Latin-1 bytes map
 * to themselves, the others to U+0100 + n in byte order.  Also gives the
 * order OpenAI's vocabulary lists them in. */
static void bytes_to_unicode(uint32_t cp_of_byte[256], int order[256])
{
    int n = 0, k = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                        (b >= 0xAE && b <= 0xFF);
        if (printable) {
            cp_of_byte[b] = (uint32_t)b;
            order[k++] = b;
        }
    }
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                        (b >= 0xAE && b <= 0xFF);
        if (!printable) {
            cp_of_byte[b] = 256u + (uint32_t)n++;
            order[k++] = b;
        }
    }
}

/* The 512 byte symbols as UTF-8: "x" and "x</w>" for each byte, in
 * OpenAI's vocabulary order.  Storage for map keys during loading. */
typedef struct byte_symbols {
    char text[512][8];
    size_t len[512];
    int byte_of[256]; /* order[i] */
} byte_symbols;

static void make_byte_symbols(byte_symbols *bs)
{
    uint32_t cp[256];
    bytes_to_unicode(cp, bs->byte_of);
    for (int i = 0; i < 256; i++) {
        size_t n = cs_utf8_encode(cp[bs->byte_of[i]], bs->text[i]);
        bs->len[i] = n;
        memcpy(bs->text[256 + i], bs->text[i], n);
        memcpy(bs->text[256 + i] + n, END_OF_WORD, 4);
        bs->len[256 + i] = n + 4;
    }
}

/* One merge line's two symbols, as byte ranges of the table text. */
typedef struct merge_line {
    const char *a, *b;
    uint32_t alen, blen;
    int line;
} merge_line;

static int is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Splits one line into exactly two whitespace-separated symbols (Python's
 * merge.split()); returns 0 if the line has another number of fields. */
/* The next space-separated field of s[*i..n): 0 if there is none. */
static int next_field(const char *s, size_t n, size_t *i, const char **field, uint32_t *len)
{
    size_t st;
    while (*i < n && is_ascii_space(s[*i]))
        (*i)++;
    st = *i;
    while (*i < n && !is_ascii_space(s[*i]))
        (*i)++;
    *field = s + st;
    *len = (uint32_t)(*i - st);
    return *i > st;
}

static int split_merge(const char *s, size_t n, merge_line *m)
{
    size_t i = 0;
    if (!next_field(s, n, &i, &m->a, &m->alen) || !next_field(s, n, &i, &m->b, &m->blen))
        return 0;
    while (i < n && is_ascii_space(s[i]))
        i++;
    return i == n;
}

static const char *fmt_symbol(const char *s, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != 0x7F)
            buf[k++] = (char)c;
        else
            k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", c);
    }
    buf[k] = '\0';
    return buf;
}

/* Builds the tokenizer from a string->id vocabulary and the merge lines.
 * The vocabulary must give ids below n_vocab.  Checks that every symbol the
 * BPE can produce has an id, so tokenising can never fail a look-up. */
static clipsearch_status build(const strmap *vocab, int n_vocab,
                               const merge_line *merges, size_t n_merges,
                               const byte_symbols *bs, const char *name,
                               const char *merges_name,
                               clipsearch_tokenizer **out, clipsearch_error *err)
{
    clipsearch_tokenizer *t = NULL;
    clipsearch_status st = CLIPSEARCH_OK;
    char *joined = NULL, sym1[64], sym2[64];
    size_t cap, i;

    t = calloc(1, sizeof *t);
    if (!t)
        goto oom;
    t->n_vocab = n_vocab;
    for (i = 0; i < 512; i++) {
        int32_t id = strmap_get(vocab, bs->text[i], bs->len[i]);
        int b = bs->byte_of[i % 256];
        if (id < 0) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s: the vocabulary lacks the byte symbol '%s' (byte 0x%02x)",
                              name, fmt_symbol(bs->text[i], bs->len[i], sym1, sizeof sym1), b);
            goto out;
        }
        if (i < 256)
            t->byte_id[b] = id;
        else
            t->byte_end_id[b] = id;
    }
    t->sot = strmap_get(vocab, SOT_TEXT, strlen(SOT_TEXT));
    t->eot = strmap_get(vocab, EOT_TEXT, strlen(EOT_TEXT));
    if (t->sot < 0 || t->eot < 0) {
        st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: the vocabulary lacks %s", name,
                          t->sot < 0 ? SOT_TEXT : EOT_TEXT);
        goto out;
    }

    cap = pow2_at_least(n_merges * 2 + 1);
    t->pair_key = malloc(cap * sizeof *t->pair_key);
    t->pair_rank = malloc(cap * sizeof *t->pair_rank);
    t->pair_merged = malloc(cap * sizeof *t->pair_merged);
    if (!t->pair_key || !t->pair_rank || !t->pair_merged)
        goto oom;
    for (i = 0; i < cap; i++)
        t->pair_key[i] = UINT64_MAX;
    t->pair_mask = cap - 1;
    joined = malloc(2 * MAX_SYMBOL_BYTES);
    if (!joined)
        goto oom;
    for (i = 0; i < n_merges; i++) {
        const merge_line *m = &merges[i];
        int32_t a = strmap_get(vocab, m->a, m->alen);
        int32_t b = strmap_get(vocab, m->b, m->blen);
        int32_t ab;
        size_t slot;
        uint64_t key;
        if (a < 0 || b < 0) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s line %d: merge symbol '%s' is not in the vocabulary",
                              merges_name, m->line,
                              a < 0 ? fmt_symbol(m->a, m->alen, sym1, sizeof sym1)
                                    : fmt_symbol(m->b, m->blen, sym1, sizeof sym1));
            goto out;
        }
        memcpy(joined, m->a, m->alen);
        memcpy(joined + m->alen, m->b, m->blen);
        ab = strmap_get(vocab, joined, (size_t)m->alen + m->blen);
        if (ab < 0) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s line %d: merging '%s' and '%s' gives a token that is "
                              "not in the vocabulary",
                              merges_name, m->line, fmt_symbol(m->a, m->alen, sym1, sizeof sym1),
                              fmt_symbol(m->b, m->blen, sym2, sizeof sym2));
            goto out;
        }
        key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
        slot = pair_slot(t, key);
        /* A repeated pair takes the later rank (Python's dict). */
        t->pair_key[slot] = key;
        t->pair_rank[slot] = (int32_t)i;
        t->pair_merged[slot] = ab;
    }
    *out = t;
    t = NULL;
    goto out;
oom:
    st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory loading the tokenizer",
                      name);
out:
    free(joined);
    clipsearch_tokenizer_free(t);
    return st;
}

/* Checks a symbol read from a table: non-empty, not too long, valid UTF-8
 * (Python decodes the files strictly). */
static int valid_utf8(const char *s, size_t n)
{
    const unsigned char *b = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = b[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else
            return 0;
        if (n - i - 1 < need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            unsigned d = b[i + k];
            if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF))
                return 0;
        }
        i += need + 1;
    }
    return 1;
}

/* Splits merges text into lines and parses "a b" lines.  first_line: the
 * 1-based number of the first line given; the caller skips headers. */
static clipsearch_status parse_merge_lines(const char *text, size_t len, size_t max_merges,
                                           int first_line, const char *name,
                                           int skip_blank, merge_line **out, size_t *n_out,
                                           clipsearch_error *err)
{
    merge_line *m = NULL;
    size_t n = 0, cap = 0, pos = 0;
    int line = first_line;
    char sym[64];
    *out = NULL;
    *n_out = 0;
    while (pos < len && n < max_merges) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, ll = end - pos;
        merge_line ml;
        if (skip_blank) {
            size_t k = 0;
            while (k < ll && is_ascii_space(text[pos + k]))
                k++;
            if (k == ll) {
                pos = end + 1;
                line++;
                continue;
            }
        }
        if (!split_merge(text + pos, ll, &ml)) {
            free(m);
            return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                                "%s line %d: expected two symbols separated by a space, "
                                "got '%s'",
                                name, line, fmt_symbol(text + pos, ll < 40 ? ll : 40, sym, sizeof sym));
        }
        if (ml.alen > MAX_SYMBOL_BYTES || ml.blen > MAX_SYMBOL_BYTES ||
            !valid_utf8(ml.a, ml.alen) || !valid_utf8(ml.b, ml.blen)) {
            free(m);
            return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                                "%s line %d: a symbol is not valid UTF-8 or is too long", name,
                                line);
        }
        ml.line = line;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            merge_line *g = realloc(m, nc * sizeof *g);
            if (!g) {
                free(m);
                return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY,
                                    "%s: out of memory reading merges", name);
            }
            m = g;
            cap = nc;
        }
        m[n++] = ml;
        pos = end + 1;
        line++;
    }
    *out = m;
    *n_out = n;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_tokenizer_load_hf_mem(const char *vocab_json, size_t vocab_len,
                                           const char *merges, size_t merges_len,
                                           const char *name, clipsearch_tokenizer **out,
                                           clipsearch_error *err)
{
    cJSON *root = NULL;
    strmap vocab = {0};
    byte_symbols *bs = NULL;
    merge_line *ml = NULL;
    unsigned char *seen = NULL;
    size_t n_merges = 0, count = 0, pos = 0;
    int first_line = 1;
    clipsearch_status st = CLIPSEARCH_OK;
    const cJSON *item;
    char sym[64];

    if (!out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "tokenizer: out is NULL");
    *out = NULL;
    if (!vocab_json || !merges)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "%s: no table data", name);
    root = cJSON_ParseWithLength(vocab_json, vocab_len);
    if (!root || !cJSON_IsObject(root)) {
        st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                          "%s/vocab.json: not a JSON object of token -> id", name);
        goto out;
    }
    cJSON_ArrayForEach(item, root) count++;
    if (count == 0 || count > (1u << 24)) {
        st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s/vocab.json: %zu entries", name,
                          count);
        goto out;
    }
    seen = calloc(count, 1);
    bs = malloc(sizeof *bs);
    if (!seen || !bs || !strmap_init(&vocab, count)) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
        goto out;
    }
    cJSON_ArrayForEach(item, root)
    {
        const char *k = item->string;
        double v = item->valuedouble;
        size_t kl;
        int32_t id;
        if (!k || !cJSON_IsNumber(item) || !(v >= 0) || v >= (double)count ||
            v != (double)(int32_t)v) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s/vocab.json: token '%s' has no id in 0..%zu",
                              name, k ? fmt_symbol(k, strlen(k), sym, sizeof sym) : "?",
                              count - 1);
            goto out;
        }
        id = (int32_t)v;
        kl = strlen(k);
        if (kl == 0 || kl > MAX_SYMBOL_BYTES || !valid_utf8(k, kl)) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s/vocab.json: token with id %d is empty, too long or not UTF-8",
                              name, (int)id);
            goto out;
        }
        if (seen[id]) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s/vocab.json: id %d is used twice",
                              name, (int)id);
            goto out;
        }
        seen[id] = 1;
        if (!strmap_put(&vocab, k, kl, id)) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s/vocab.json: token '%s' appears twice", name,
                              fmt_symbol(k, kl, sym, sizeof sym));
            goto out;
        }
    }
    /* merges.txt: an optional "#version" header, then "a b" lines. */
    if (merges_len >= 8 && memcmp(merges, "#version", 8) == 0) {
        const char *nl = memchr(merges, '\n', merges_len);
        pos = nl ? (size_t)(nl - merges) + 1 : merges_len;
        first_line = 2;
    }
    {
        char mname[512];
        snprintf(mname, sizeof mname, "%s/merges.txt", name);
        st = parse_merge_lines(merges + pos, merges_len - pos, SIZE_MAX, first_line, mname, 1,
                               &ml, &n_merges, err);
        if (st != CLIPSEARCH_OK)
            goto out;
        make_byte_symbols(bs);
        st = build(&vocab, (int)count, ml, n_merges, bs, name, mname, out, err);
    }
out:
    cJSON_Delete(root);
    strmap_free(&vocab);
    free(bs);
    free(ml);
    free(seen);
    return st;
}

clipsearch_status cs_tokenizer_load_bpe_mem(const char *text, size_t len, const char *name,
                                            clipsearch_tokenizer **out, clipsearch_error *err)
{
    strmap vocab = {0};
    byte_symbols *bs = NULL;
    merge_line *ml = NULL;
    char *joined = NULL;
    size_t n_merges = 0, pos, i, jpos = 0;
    clipsearch_status st = CLIPSEARCH_OK;
    const char *nl;
    int32_t id = 0;

    if (!out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "tokenizer: out is NULL");
    *out = NULL;
    if (!text)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "%s: no table data", name);
    /* lines[0] is a header; merges are lines[1 : 1 + 48894]. */
    nl = memchr(text, '\n', len);
    if (!nl) {
        st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: no merge lines after the header",
                          name);
        goto out;
    }
    pos = (size_t)(nl - text) + 1;
    st = parse_merge_lines(text + pos, len - pos, OPENAI_MERGES, 2, name, 0, &ml, &n_merges,
                           err);
    if (st != CLIPSEARCH_OK)
        goto out;
    if (n_merges < OPENAI_MERGES) {
        st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                          "%s: %zu merge lines, CLIP's table needs %d (truncated file?)", name,
                          n_merges, OPENAI_MERGES);
        goto out;
    }
    for (i = 0; i < n_merges; i++)
        jpos += (size_t)ml[i].alen + ml[i].blen;
    bs = malloc(sizeof *bs);
    joined = malloc(jpos + 1);
    jpos = 0;
    if (!bs || !joined || !strmap_init(&vocab, 512 + n_merges + 2)) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
        goto out;
    }
    make_byte_symbols(bs);
    /* vocab = bytes, bytes + '</w>', merges joined, the two specials;
     * encoder = dict(zip(vocab, range(len(vocab)))): later entries win. */
    for (i = 0; i < 512; i++)
        strmap_put(&vocab, bs->text[i], bs->len[i], id++);
    for (i = 0; i < n_merges; i++) {
        size_t n = (size_t)ml[i].alen + ml[i].blen;
        memcpy(joined + jpos, ml[i].a, ml[i].alen);
        memcpy(joined + jpos + ml[i].alen, ml[i].b, ml[i].blen);
        strmap_put(&vocab, joined + jpos, n, id++);
        jpos += n;
    }
    strmap_put(&vocab, SOT_TEXT, strlen(SOT_TEXT), id++);
    strmap_put(&vocab, EOT_TEXT, strlen(EOT_TEXT), id++);
    st = build(&vocab, id, ml, n_merges, bs, name, name, out, err);
out:
    strmap_free(&vocab);
    free(bs);
    free(ml);
    free(joined);
    return st;
}

/* ---- files -------------------------------------------------------------- */

static clipsearch_status read_file(const char *path, char **data, size_t *size,
                                   clipsearch_error *err)
{
    FILE *f = NULL;
    char *buf = NULL;
    struct stat sb;
    clipsearch_status st = CLIPSEARCH_OK;
    *data = NULL;
    *size = 0;
    f = fopen(path, "rb");
    if (!f)
        return cs_error_set(err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                            "%s: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    if ((unsigned long long)sb.st_size > MAX_TABLE_FILE) {
        st = cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE, "%s: %lld bytes is too large for a "
                          "tokenizer table", path, (long long)sb.st_size);
        goto out;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        goto out;
    }
    if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        st = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: read failed", path);
        goto out;
    }
    buf[sb.st_size] = '\0';
    *data = buf;
    *size = (size_t)sb.st_size;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return st;
}

/* gunzip in memory; plain text passes through unchanged. */
static clipsearch_status maybe_gunzip(const char *path, char *in, size_t in_len, char **out,
                                      size_t *out_len, clipsearch_error *err)
{
    z_stream zs;
    char *buf = NULL;
    size_t cap = 4u << 20;
    int zr;
    clipsearch_status st = CLIPSEARCH_OK;
    if (in_len < 2 || (unsigned char)in[0] != 0x1f || (unsigned char)in[1] != 0x8b) {
        *out = in;
        *out_len = in_len;
        return CLIPSEARCH_OK;
    }
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: zlib init failed", path);
    buf = malloc(cap + 1);
    if (!buf) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        goto out;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)in_len; /* in_len <= MAX_TABLE_FILE < 4 GiB */
    for (;;) {
        if (zs.total_out == cap) {
            char *g;
            if (cap >= MAX_INFLATED) {
                st = cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE,
                                  "%s: decompresses to more than %u MiB", path,
                                  MAX_INFLATED >> 20);
                goto out;
            }
            cap *= 2;
            g = realloc(buf, cap + 1);
            if (!g) {
                st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
                goto out;
            }
            buf = g;
        }
        zs.next_out = (Bytef *)buf + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        zr = inflate(&zs, Z_NO_FLUSH);
        if (zr == Z_STREAM_END)
            break;
        if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: truncated gzip data", path);
            goto out;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: corrupt gzip data (%s)", path,
                              zs.msg ? zs.msg : "inflate failed");
            goto out;
        }
        if (zr == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: truncated gzip data", path);
            goto out;
        }
    }
    buf[zs.total_out] = '\0';
    *out = buf;
    *out_len = zs.total_out;
    buf = NULL;
out:
    inflateEnd(&zs);
    free(buf);
    return st;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static clipsearch_status load_hf_files(const char *dir, const char *vocab_path,
                                       const char *merges_path, clipsearch_tokenizer **out,
                                       clipsearch_error *err)
{
    char *v = NULL, *m = NULL;
    size_t vn = 0, mn = 0;
    clipsearch_status st = read_file(vocab_path, &v, &vn, err);
    if (st == CLIPSEARCH_OK)
        st = read_file(merges_path, &m, &mn, err);
    if (st == CLIPSEARCH_OK)
        st = cs_tokenizer_load_hf_mem(v, vn, m, mn, dir, out, err);
    free(v);
    free(m);
    return st;
}

static clipsearch_status load_bpe_file(const char *path, clipsearch_tokenizer **out,
                                       clipsearch_error *err)
{
    char *raw = NULL, *text = NULL;
    size_t rn = 0, tn = 0;
    clipsearch_status st = read_file(path, &raw, &rn, err);
    if (st == CLIPSEARCH_OK)
        st = maybe_gunzip(path, raw, rn, &text, &tn, err);
    if (st == CLIPSEARCH_OK)
        st = cs_tokenizer_load_bpe_mem(text, tn, path, out, err);
    if (text != raw)
        free(text);
    free(raw);
    return st;
}

/* dir + "/" + name into buf; 0 when it does not fit. */
static int join_path(char *buf, size_t cap, const char *dir, const char *name)
{
    int r = snprintf(buf, cap, "%s/%s", dir, name);
    return r >= 0 && (size_t)r < cap;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

clipsearch_status clipsearch_tokenizer_load(const char *path, clipsearch_tokenizer **out,
                                            clipsearch_error *err)
{
    struct stat sb;
    char a[4096], b[4096];
    size_t n;
    if (!out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "tokenizer: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "tokenizer: no path given");
    n = strlen(path);
    if (n > sizeof a - 64)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "tokenizer: path too long");
    if (stat(path, &sb) != 0)
        return cs_error_set(err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                            "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        join_path(a, sizeof a, path, "vocab.json");
        join_path(b, sizeof b, path, "merges.txt");
        if (file_exists(a) || file_exists(b))
            return load_hf_files(path, a, b, out, err);
        join_path(a, sizeof a, path, "bpe_simple_vocab_16e6.txt.gz");
        if (file_exists(a))
            return load_bpe_file(a, out, err);
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                            "%s: no tokenizer here (looked for vocab.json + merges.txt and "
                            "bpe_simple_vocab_16e6.txt.gz)",
                            path);
    }
    /* A file: vocab.json or merges.txt finds its sibling; anything else is
     * read as OpenAI's table (gzipped or plain). */
    if (ends_with(path, ".json") || ends_with(path, "merges.txt")) {
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) : 0;
        char dir[4096];
        if (slash)
            memcpy(dir, path, dl);
        else
            dir[dl++] = '.';
        dir[dl] = '\0';
        if (ends_with(path, ".json")) {
            join_path(b, sizeof b, dir, "merges.txt");
            return load_hf_files(dir, path, b, out, err);
        }
        join_path(a, sizeof a, dir, "vocab.json");
        return load_hf_files(dir, a, path, out, err);
    }
    return load_bpe_file(path, out, err);
}

/* ---- BPE ---------------------------------------------------------------- */

static int grow_scratch(clipsearch_tokenizer *t, size_t n)
{
    size_t cap;
    int32_t *s, *p, *q;
    uint64_t *h, *d;
    if (n <= t->scratch_cap)
        return 1;
    cap = pow2_at_least(n);
    s = realloc(t->sym, cap * sizeof *s);
    if (s)
        t->sym = s;
    p = realloc(t->prev, cap * sizeof *p);
    if (p)
        t->prev = p;
    q = realloc(t->next, cap * sizeof *q);
    if (q)
        t->next = q;
    h = realloc(t->heap, cap * 3 * sizeof *h);
    if (h)
        t->heap = h;
    d = realloc(t->deferred, cap * 3 * sizeof *d);
    if (d)
        t->deferred = d;
    if (!s || !p || !q || !h || !d)
        return 0;
    t->scratch_cap = cap;
    return 1;
}

static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h[parent] <= v)
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], last = h[--*n];
    size_t i = 0, size = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= size)
            break;
        if (c + 1 < size && h[c + 1] < h[c])
            c++;
        if (h[c] >= last)
            break;
        h[i] = h[c];
        i = c;
    }
    if (size)
        h[i] = last;
    return top;
}

/*
 * simple_tokenizer's bpe(): repeatedly take the adjacent pair of lowest
 * rank and merge all its occurrences left to right.  Done with a heap of
 * (rank, position) over a linked list, O(n log n), with the same result:
 * the occurrences of one rank are taken in position order, and a pair that
 * a merge creates with a lower rank than the one being applied waits until
 * that rank is done (Python only looks for the next pair after a full
 * pass).  Writes the symbol ids to out (n entries at most); returns the
 * count, or -1 when out of memory.
 */
static long bpe_word(clipsearch_tokenizer *t, const unsigned char *w, size_t n, int32_t *out)
{
    size_t nh = 0, nd = 0, i, count;
    int32_t cur = -1, merged = -1;
    if (n == 1) {
        out[0] = t->byte_end_id[w[0]];
        return 1;
    }
    if (!grow_scratch(t, n))
        return -1;
    for (i = 0; i < n; i++) {
        t->sym[i] = i + 1 < n ? t->byte_id[w[i]] : t->byte_end_id[w[i]];
        t->prev[i] = (int32_t)i - 1;
        t->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (i = 0; i + 1 < n; i++) {
        int32_t r = pair_rank(t, t->sym[i], t->sym[i + 1], &merged);
        if (r >= 0)
            heap_push(t->heap, &nh, (uint64_t)(uint32_t)r << 32 | i);
    }
    for (;;) {
        uint64_t e;
        int32_t r, p, q;
        if (nd && (nh == 0 || (int32_t)(t->heap[0] >> 32) != cur)) {
            for (i = 0; i < nd; i++)
                heap_push(t->heap, &nh, t->deferred[i]);
            nd = 0;
        }
        if (nh == 0)
            break;
        e = heap_pop(t->heap, &nh);
        r = (int32_t)(e >> 32);
        p = (int32_t)(uint32_t)e;
        /* Stale entries: the left symbol was merged away (sym -1) or the
         * pair at p has changed (ranks are unique per pair). */
        if (t->sym[p] < 0 || t->next[p] < 0 ||
            pair_rank(t, t->sym[p], t->sym[t->next[p]], &merged) != r)
            continue;
        cur = r;
        q = t->next[p];
        t->sym[p] = merged;
        t->sym[q] = -1;
        t->next[p] = t->next[q];
        if (t->next[q] >= 0)
            t->prev[t->next[q]] = p;
        /* New pairs around the merged symbol. */
        if (t->prev[p] >= 0) {
            int32_t l = t->prev[p], m2, nr = pair_rank(t, t->sym[l], t->sym[p], &m2);
            if (nr >= 0) {
                uint64_t v = (uint64_t)(uint32_t)nr << 32 | (uint32_t)l;
                if (nr < cur)
                    t->deferred[nd++] = v;
                else
                    heap_push(t->heap, &nh, v);
            }
        }
        if (t->next[p] >= 0) {
            int32_t m2, nr = pair_rank(t, t->sym[p], t->sym[t->next[p]], &m2);
            if (nr >= 0) {
                uint64_t v = (uint64_t)(uint32_t)nr << 32 | (uint32_t)p;
                if (nr < cur)
                    t->deferred[nd++] = v;
                else
                    heap_push(t->heap, &nh, v);
            }
        }
    }
    /* Position 0 always survives: a merge keeps its left position. */
    count = 0;
    for (int32_t p = 0; p >= 0; p = t->next[p])
        out[count++] = t->sym[p];
    return (long)count;
}

/* ---- the cache ---------------------------------------------------------- */

static void cache_clear(clipsearch_tokenizer *t)
{
    if (t->cache)
        memset(t->cache, 0, (t->cache_mask + 1) * sizeof *t->cache);
    t->cache_count = 0;
    t->cache_keys_len = 0;
    t->cache_ids_len = 0;
}

static const cache_entry *cache_find(const clipsearch_tokenizer *t, const char *w, size_t n,
                                     uint64_t h)
{
    size_t i;
    if (!t->cache)
        return NULL;
    for (i = (size_t)h & t->cache_mask; t->cache[i].key_len; i = (i + 1) & t->cache_mask) {
        const cache_entry *c = &t->cache[i];
        if (c->hash == h && c->key_len == n && memcmp(t->cache_keys + c->key_off, w, n) == 0)
            return c;
    }
    return NULL;
}

/* Best effort: a failed allocation only means no caching. */
static void cache_add(clipsearch_tokenizer *t, const char *w, size_t n, uint64_t h,
                      const int32_t *ids, size_t n_ids)
{
    size_t i;
    if (n == 0 || n > CACHE_MAX_WORD)
        return;
    if (!t->cache) {
        t->cache = calloc(2 * CACHE_MAX_ENTRIES, sizeof *t->cache);
        if (!t->cache)
            return;
        t->cache_mask = 2 * CACHE_MAX_ENTRIES - 1;
    }
    if (t->cache_count >= CACHE_MAX_ENTRIES || t->cache_ids_len + n_ids > CACHE_MAX_IDS)
        cache_clear(t);
    if (t->cache_keys_len + n > t->cache_keys_cap) {
        size_t nc = t->cache_keys_cap ? t->cache_keys_cap * 2 : 1u << 16;
        char *g;
        while (nc < t->cache_keys_len + n)
            nc *= 2;
        g = realloc(t->cache_keys, nc);
        if (!g)
            return;
        t->cache_keys = g;
        t->cache_keys_cap = nc;
    }
    if (t->cache_ids_len + n_ids > t->cache_ids_cap) {
        size_t nc = t->cache_ids_cap ? t->cache_ids_cap * 2 : 1u << 14;
        int32_t *g;
        while (nc < t->cache_ids_len + n_ids)
            nc *= 2;
        g = realloc(t->cache_ids, nc * sizeof *g);
        if (!g)
            return;
        t->cache_ids = g;
        t->cache_ids_cap = nc;
    }
    for (i = (size_t)h & t->cache_mask; t->cache[i].key_len; i = (i + 1) & t->cache_mask)
        ;
    t->cache[i].hash = h;
    t->cache[i].key_off = (uint32_t)t->cache_keys_len;
    t->cache[i].key_len = (uint16_t)n;
    t->cache[i].ids_off = (uint32_t)t->cache_ids_len;
    t->cache[i].n_ids = (uint16_t)n_ids;
    memcpy(t->cache_keys + t->cache_keys_len, w, n);
    memcpy(t->cache_ids + t->cache_ids_len, ids, n_ids * sizeof *ids);
    t->cache_keys_len += n;
    t->cache_ids_len += n_ids;
    t->cache_count++;
}

/* ---- pre-tokenisation ----------------------------------------------------- */

enum { CC_SPACE, CC_LETTER, CC_NUMBER, CC_OTHER, CC_NONE };

/* The classes of CLIP's pattern, matched case-insensitively by the `regex`
 * module.  U+0345 (a combining mark whose case partner is a Greek letter)
 * matches neither [\p{L}] nor [^\s\p{L}\p{N}] there, so it is skipped like
 * a space; no other code point behaves differently under IGNORECASE. */
static int char_class(uint32_t c)
{
    if (c < 0x80) {
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            return CC_LETTER;
        if (c >= '0' && c <= '9')
            return CC_NUMBER;
        return cs_is_regex_space(c) ? CC_SPACE : CC_OTHER;
    }
    if (cs_is_regex_space(c))
        return CC_SPACE;
    if (c == 0x0345)
        return CC_NONE;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return CC_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return CC_NUMBER;
    default:
        return CC_OTHER;
    }
}

/* Case-insensitive match of an ASCII literal at cp[i..], as the `regex`
 * module does it: ASCII case, plus U+017F (long s) matching 's'. */
static size_t match_literal(const uint32_t *cp, size_t n, size_t i, const char *lit)
{
    size_t k;
    for (k = 0; lit[k]; k++) {
        uint32_t c;
        if (i + k >= n)
            return 0;
        c = cp[i + k];
        if (c == 0x017F)
            c = 's';
        else if (c < 0x80 && c >= 'A' && c <= 'Z')
            c |= 0x20;
        if (c != (unsigned char)lit[k])
            return 0;
    }
    return k;
}

/* Length in code points of the pattern's match at cp[i], 0 when no
 * alternative matches there (findall then moves on by one). */
static size_t match_token(const uint32_t *cp, size_t n, size_t i)
{
    static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    size_t k;
    int cls;
    if (cp[i] == '<') {
        if ((k = match_literal(cp, n, i, SOT_TEXT)) || (k = match_literal(cp, n, i, EOT_TEXT)))
            return k;
    } else if (cp[i] == '\'') {
        for (size_t c = 0; c < sizeof contractions / sizeof *contractions; c++)
            if ((k = match_literal(cp, n, i, contractions[c])))
                return k;
    }
    cls = char_class(cp[i]);
    if (cls == CC_NUMBER)
        return 1;
    if (cls == CC_LETTER || cls == CC_OTHER) {
        for (k = i + 1; k < n && char_class(cp[k]) == cls; k++)
            ;
        return k - i;
    }
    return 0;
}

/* ---- tokenize ------------------------------------------------------------- */

clipsearch_status clipsearch_tokenize(clipsearch_tokenizer *tok, const char *text, size_t len,
                                      int32_t *ids, int context_length, int *n_ids,
                                      clipsearch_error *err)
{
    uint32_t *cp = NULL, *clean = NULL;
    char *word = NULL;
    int32_t *wids = NULL, *got = NULL;
    size_t n, m, i, need, have = 0, word_cap = 0;
    clipsearch_status st = CLIPSEARCH_OK;

    if (n_ids)
        *n_ids = 0;
    if (!tok || !ids || !n_ids || (!text && len))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "tokenize: NULL tokenizer, text or output");
    if (context_length < 2)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "tokenize: context length %d is below 2", context_length);
    if (len > MAX_TEXT_BYTES)
        return cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE,
                            "tokenize: %zu bytes of text is over the limit of %u", len,
                            MAX_TEXT_BYTES);
    /* Only the first context_length - 1 tokens can matter: with that many
     * the result is truncated anyway. */
    need = (size_t)context_length - 1;
    cp = malloc((len + 1) * sizeof *cp);
    clean = malloc((2 * len + 1) * sizeof *clean);
    got = malloc(need * sizeof *got);
    if (!cp || !clean || !got)
        goto oom;
    n = cs_utf8_decode(text ? text : "", len, cp);
    m = cs_clip_clean(cp, n, clean);

    for (i = 0; i < m && have < need;) {
        size_t k = match_token(clean, m, i), wl = 0, j;
        long nw;
        const cache_entry *ce;
        uint64_t h;
        if (k == 0) {
            i++;
            continue;
        }
        if (word_cap < 4 * k) {
            char *g;
            int32_t *gi;
            word_cap = 4 * k < 64 ? 64 : 4 * k;
            g = realloc(word, word_cap);
            if (!g)
                goto oom;
            word = g;
            gi = realloc(wids, word_cap * sizeof *wids);
            if (!gi)
                goto oom;
            wids = gi;
        }
        for (j = i; j < i + k; j++)
            wl += cs_utf8_encode(clean[j], word + wl);
        i += k;
        /* simple_tokenizer seeds its cache with the two special tokens:
         * written out in the text they are their own ids. */
        if (wl == strlen(SOT_TEXT) && memcmp(word, SOT_TEXT, wl) == 0) {
            got[have++] = tok->sot;
            continue;
        }
        if (wl == strlen(EOT_TEXT) && memcmp(word, EOT_TEXT, wl) == 0) {
            got[have++] = tok->eot;
            continue;
        }
        h = hash_bytes(word, wl);
        ce = cache_find(tok, word, wl, h);
        if (ce) {
            for (j = 0; j < ce->n_ids && have < need; j++)
                got[have++] = tok->cache_ids[ce->ids_off + j];
            continue;
        }
        nw = bpe_word(tok, (const unsigned char *)word, wl, wids);
        if (nw < 0)
            goto oom;
        cache_add(tok, word, wl, h, wids, (size_t)nw);
        for (j = 0; j < (size_t)nw && have < need; j++)
            got[have++] = wids[j];
    }

    /* [sot] + tokens + [eot], truncated to context_length with the last id
     * forced to eot; zero padding after. */
    ids[0] = tok->sot;
    if (have + 2 > (size_t)context_length) {
        for (i = 0; i < (size_t)context_length - 2; i++)
            ids[1 + i] = got[i];
        ids[context_length - 1] = tok->eot;
        *n_ids = context_length;
    } else {
        for (i = 0; i < have; i++)
            ids[1 + i] = got[i];
        ids[have + 1] = tok->eot;
        *n_ids = (int)have + 2;
    }
    for (i = (size_t)*n_ids; i < (size_t)context_length; i++)
        ids[i] = 0;
    goto out;
oom:
    st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "tokenize: out of memory");
out:
    free(cp);
    free(clean);
    free(word);
    free(wids);
    free(got);
    return st;
}

/* ---- context length from a model's config ------------------------------- */

clipsearch_status clipsearch_tokenizer_context_length(const char *model_dir, int *context_length,
                                                      clipsearch_error *err)
{
    static const char *const files[] = {"config.json", "open_clip_config.json"};
    char path[4096], *data = NULL;
    size_t size = 0;
    cJSON *root = NULL;
    clipsearch_status st = CLIPSEARCH_OK;
    if (!model_dir || !context_length)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "context length: NULL directory or output");
    *context_length = 77;
    for (size_t f = 0; f < 2; f++) {
        const cJSON *v;
        if (!join_path(path, sizeof path, model_dir, files[f]))
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "%s: path too long",
                                model_dir);
        if (!file_exists(path))
            continue;
        st = read_file(path, &data, &size, err);
        if (st != CLIPSEARCH_OK)
            return st;
        root = cJSON_ParseWithLength(data, size);
        if (!root || !cJSON_IsObject(root)) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: not a JSON object", path);
            goto out;
        }
        if (f == 0)
            v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(root, "text_config"), "max_position_embeddings");
        else
            v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(root, "model_cfg"), "text_cfg"),
                "context_length");
        if (v) {
            double d = v->valuedouble;
            if (!cJSON_IsNumber(v) || !(d >= 2) || d > 1e6 || d != (double)(int)d) {
                st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                                  "%s: the text context length is not an integer >= 2", path);
                goto out;
            }
            *context_length = (int)d;
        }
        goto out;
    }
out:
    cJSON_Delete(root);
    free(data);
    return st;
}
