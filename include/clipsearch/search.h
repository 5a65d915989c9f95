/*
 * clipsearch/search.h — searching a library by words and by example photos:
 * query terms ("2:beach", a photo path), their combination into one query
 * vector, and a searcher that opens a library, finds the model it was built
 * with and answers queries (what the `clipsearch` program does).
 *
 * Thread-safety: a clipsearch_searcher is used by one thread at a time.
 */
#ifndef CLIPSEARCH_SEARCH_H
#define CLIPSEARCH_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"
#include "clipsearch/library.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum clipsearch_term_kind {
    CLIPSEARCH_TERM_TEXT = 0,  /* words, embedded by the text tower */
    CLIPSEARCH_TERM_IMAGE = 1  /* a photo file, embedded by the image tower */
} clipsearch_term_kind;

/* One part of a query.  The query vector is
 *   normalise( sum_i weight_i * normalise(embedding(term_i)) ). */
/* The most terms one query may combine (more: CLIPSEARCH_ERR_TOO_LARGE). */
#define CLIPSEARCH_MAX_QUERY_TERMS 64

typedef struct clipsearch_query_term {
    clipsearch_term_kind kind;
    const char *value;  /* the text or the photo's path (not copied) */
    float weight;       /* negative subtracts */
} clipsearch_query_term;

/*
 * Parses a command-line term "[WEIGHT:]QUERY" (rclip's syntax: "2:beach",
 * "0.5:photos/dog.jpg") into *out, whose value points into arg.  WEIGHT is a
 * finite decimal number; a prefix that is not one is part of the query
 * ("12:30 meeting" is text).  An argument naming an existing file is a photo
 * as a whole even if it looks weighted.  QUERY naming an existing file is a
 * photo, anything else is text.  The weight is multiplied by `sign` (1 for
 * --add, -1 for --subtract).  ERR_INVALID_ARGUMENT for an empty query.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_query_term_parse(const char *arg, float sign,
                                              clipsearch_query_term *out,
                                              clipsearch_error *err);

/* Size of a normalised date: "YYYY-MM-DD HH:MM:SS" and its NUL. */
#define CLIPSEARCH_DATE_SIZE 20

/* Checks a date given as YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DD HH,
 * YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS (a 'T' may replace the space) and
 * writes it to out with a space, ready for clipsearch_search_params'
 * taken_after/taken_before (string comparison then orders dates).
 * CLIPSEARCH_ERR_INVALID_ARGUMENT otherwise.  Thread-safe. */
CLIPSEARCH_API
clipsearch_status clipsearch_parse_date(const char *in, char out[CLIPSEARCH_DATE_SIZE]);

typedef struct clipsearch_searcher clipsearch_searcher;

typedef struct clipsearch_searcher_params {
    const char *library;   /* library folder; NULL: clipsearch_library_default_path() */
    const char *model;     /* model folder or installed "ORG/NAME"; NULL: $CLIPSEARCH_MODEL,
                              else the installed model (clipsearch/hub.h) whose
                              fingerprint is the library's */
    const char *vocab;     /* tokenizer table (see clipsearch_tokenizer_load);
                              NULL: the model folder's */
    int n_threads;         /* encoder threads; <= 0: 1 for text (the vector index
                              is read meanwhile), all cores for photos */
    int one_shot;          /* 1: one search, then the process ends: the text
                              tower is loaded with quick_start (model.h) */
} clipsearch_searcher_params;

CLIPSEARCH_API
clipsearch_searcher_params clipsearch_searcher_default_params(void);

/*
 * Opens the library read-only and picks the model; loads nothing else yet
 * (the text tower is loaded at the first text term, the image tower at the
 * first photo that is not in the library).  Errors, each with a message
 * saying what to run: CLIPSEARCH_ERR_NOT_FOUND (no library, an empty
 * library, no model given and none installed matches the library),
 * CLIPSEARCH_ERR_MODEL (the model differs from the one the library was built
 * with: different fingerprint).  On success *out owns the searcher.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_searcher_open(const clipsearch_searcher_params *params,
                                           clipsearch_searcher **out,
                                           clipsearch_error *err);

CLIPSEARCH_API
void clipsearch_searcher_close(clipsearch_searcher *s);

/* The library, the library's record of the model, and the model folder in
 * use; valid as long as the searcher. */
CLIPSEARCH_API
clipsearch_library *clipsearch_searcher_library(clipsearch_searcher *s);
CLIPSEARCH_API
const clipsearch_library_model *clipsearch_searcher_model(const clipsearch_searcher *s);
CLIPSEARCH_API
const char *clipsearch_searcher_model_dir(const clipsearch_searcher *s);

/*
 * Embeds terms[0..n-1] and combines them (formula above) into
 * query[model->dim], normalised.  A photo that is in the library (same
 * absolute path, symlinks resolved) uses its stored embedding; others are
 * decoded and encoded.  ERR_INVALID_ARGUMENT if the terms cancel out.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_searcher_embed(clipsearch_searcher *s,
                                            const clipsearch_query_term *terms, int n,
                                            float *query, clipsearch_error *err);

/* Embeds the terms and searches: clipsearch_library_search with params
 * (NULL = defaults).  *out: free with clipsearch_search_results_free. */
CLIPSEARCH_API
clipsearch_status clipsearch_searcher_search(clipsearch_searcher *s,
                                             const clipsearch_query_term *terms, int n,
                                             const clipsearch_search_params *params,
                                             clipsearch_search_results **out,
                                             clipsearch_error *err);

/* Seconds spent so far in loading (model, tokenizer), embedding and
 * searching (FAISS + metadata), for benchmarks. */
typedef struct clipsearch_searcher_times {
    double load_seconds, embed_seconds, search_seconds;
} clipsearch_searcher_times;

CLIPSEARCH_API
void clipsearch_searcher_get_times(const clipsearch_searcher *s,
                                   clipsearch_searcher_times *times);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_SEARCH_H */
