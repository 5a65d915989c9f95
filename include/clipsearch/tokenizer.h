/*
 * clipsearch/tokenizer.h — CLIP's byte-level BPE tokenizer, identical to the
 * one CLIP was trained with (openai/CLIP simple_tokenizer.py).
 */
#ifndef CLIPSEARCH_TOKENIZER_H
#define CLIPSEARCH_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLIPSEARCH_TOKEN_SOT 49406 /* <|startoftext|> */
#define CLIPSEARCH_TOKEN_EOT 49407 /* <|endoftext|> */

typedef struct clipsearch_tokenizer clipsearch_tokenizer;

/*
 * Loads a BPE table.  `path` is either a directory holding `vocab.json` +
 * `merges.txt` (Hugging Face layout) or `bpe_simple_vocab_16e6.txt.gz`
 * (OpenAI / OpenCLIP layout), or one of those files itself (for the Hugging
 * Face layout, naming `vocab.json` or `merges.txt` finds its sibling).
 * On success *out owns a new tokenizer; free it with clipsearch_tokenizer_free.
 * A tokenizer is not thread-safe (it caches merges): use one per thread.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_tokenizer_load(const char *path,
                                            clipsearch_tokenizer **out,
                                            clipsearch_error *err);

/* Frees a tokenizer; NULL is allowed. */
CLIPSEARCH_API
void clipsearch_tokenizer_free(clipsearch_tokenizer *tok);

/*
 * Tokenises `len` bytes of UTF-8 `text` (invalid UTF-8 is read as U+FFFD) the
 * way CLIP's tokenize(truncate=True) does: cleaning, BPE, ids wrapped in
 * <|startoftext|> and <|endoftext|>; if longer than context_length, truncated
 * to context_length with the last id set to <|endoftext|>.
 * Writes context_length ids to ids[] (positions after the last real id are
 * 0, as CLIP pads) and the number of real ids (SOT..EOT inclusive) to
 * *n_ids.  context_length must be >= 2.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_tokenize(clipsearch_tokenizer *tok,
                                      const char *text, size_t len,
                                      int32_t *ids, int context_length,
                                      int *n_ids, clipsearch_error *err);

/*
 * The text context length a model directory declares: config.json's
 * text_config.max_position_embeddings (Hugging Face layout), else
 * open_clip_config.json's model_cfg.text_cfg.context_length (OpenCLIP).  A
 * directory with neither file, or a config without the field, gives 77
 * (CLIP's, and Hugging Face's default).  A config that is not valid JSON or
 * holds a value below 2 is an error.  Thread-safe.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_tokenizer_context_length(const char *model_dir,
                                                      int *context_length,
                                                      clipsearch_error *err);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_TOKENIZER_H */
