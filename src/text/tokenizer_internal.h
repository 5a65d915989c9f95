/* tokenizer_internal.h — private parts of the CLIP tokenizer, shared by
 * tokenizer.c (tables, BPE), tokenizer_clean.c (text cleaning),
 * tokenizer_tables.c (generated spec data), the tests and the fuzz targets. */
#ifndef CS_TOKENIZER_INTERNAL_H
#define CS_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/tokenizer.h"

/* ---- generated tables (tokenizer_tables.c) ------------------------------ */

/* A named HTML5 character reference: name without '&' (with the ';' when
 * the entry has one), value as UTF-8.  Sorted by name (strcmp order). */
typedef struct cs_html_entity {
    const char *name;
    const char *value;
} cs_html_entity;

/* Numeric references that html.unescape maps to another code point. */
typedef struct cs_charref_fix {
    uint32_t from, to;
} cs_charref_fix;

typedef struct cs_cp_range {
    uint32_t first, last; /* inclusive */
} cs_cp_range;

extern const cs_html_entity cs_html5_entities[];
extern const size_t cs_html5_entity_count;
extern const cs_charref_fix cs_invalid_charrefs[]; /* sorted by from */
extern const size_t cs_invalid_charref_count;
extern const uint32_t cs_invalid_codepoints[]; /* sorted; dropped by unescape */
extern const size_t cs_invalid_codepoint_count;
/* str.lower()'s Final_Sigma context, as CPython applies it: code points that
 * are cased (and not case-ignorable), and those that are case-ignorable. */
extern const cs_cp_range cs_cased_ranges[];
extern const size_t cs_cased_range_count;
extern const cs_cp_range cs_case_ignorable_ranges[];
extern const size_t cs_case_ignorable_range_count;

/* ---- text cleaning (tokenizer_clean.c) --------------------------------- */

/* Decodes UTF-8 into code points; each maximal invalid subpart becomes one
 * U+FFFD (as Python's decode(errors="replace") does).  out must hold len
 * code points; returns the count. */
size_t cs_utf8_decode(const char *s, size_t len, uint32_t *out);

/* Encodes one code point (<= 0x10FFFF, not a surrogate) as UTF-8 into buf
 * (4 bytes); returns the byte count. */
size_t cs_utf8_encode(uint32_t cp, char *buf);

/* Python's html.unescape on n code points, in place; returns the new count
 * (never more than n). */
size_t cs_html_unescape(uint32_t *cp, size_t n);

/* Whitespace as the `regex` module's \s and as Python's str.isspace(). */
int cs_is_regex_space(uint32_t cp);
int cs_is_py_space(uint32_t cp);

/* CLIP's whole cleaning: html.unescape twice, strip, runs of \s to one space,
 * strip, str.lower().  in has n code points; out must hold 2 * n (lower()
 * can grow: U+0130 becomes two).  Returns the count written to out. */
size_t cs_clip_clean(uint32_t *in, size_t n, uint32_t *out);

/* Convenience for tests: UTF-8 in, cleaned UTF-8 out (malloc'd,
 * NUL-terminated; *out_len without the NUL).  Returns OK or OUT_OF_MEMORY. */
clipsearch_status cs_clip_clean_utf8(const char *text, size_t len, char **out,
                                     size_t *out_len, clipsearch_error *err);

/* ---- loading tables from memory (tokenizer.c) --------------------------- */

/* Hugging Face layout: the contents of vocab.json and merges.txt.  `name`
 * (e.g. the directory) prefixes error messages. */
clipsearch_status cs_tokenizer_load_hf_mem(const char *vocab_json,
                                           size_t vocab_len,
                                           const char *merges, size_t merges_len,
                                           const char *name,
                                           clipsearch_tokenizer **out,
                                           clipsearch_error *err);

/* OpenAI layout: the decompressed text of bpe_simple_vocab_16e6.txt.gz. */
clipsearch_status cs_tokenizer_load_bpe_mem(const char *text, size_t len,
                                            const char *name,
                                            clipsearch_tokenizer **out,
                                            clipsearch_error *err);

/* Number of ids in the table (49408 for CLIP). */
int cs_tokenizer_vocab_size(const clipsearch_tokenizer *tok);

#endif
