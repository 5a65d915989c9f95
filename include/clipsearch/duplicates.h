/*
 * clipsearch/duplicates.h — photos that are the same picture: identical
 * files (same content hash) and near-duplicates (resized, recompressed,
 * lightly cropped or edited copies, burst shots) whose embeddings have a
 * cosine similarity at or above a threshold, found with FAISS's range
 * search over an in-memory exact inner-product index of the stored
 * (normalised) embeddings.  Nothing is ever deleted.
 *
 * Groups are the connected components of the "similar" relation (single
 * linkage: A~B and B~C put A, B, C together even when A and C are further
 * apart).  Within a group the best photo comes first: most pixels, then
 * the largest file, then the oldest (capture date, else modification
 * time), then the path.  Groups are ordered by the same key of their best
 * photo after their size (largest group first).
 */
#ifndef CLIPSEARCH_DUPLICATES_H
#define CLIPSEARCH_DUPLICATES_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"
#include "clipsearch/library.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default similarity threshold (see README, "Duplicates": measured on
 * copies made from the clip-shapes photos and fixture photos). */
#define CLIPSEARCH_DUPLICATES_DEFAULT_THRESHOLD 0.95f

typedef struct clipsearch_duplicates_params {
    float threshold;   /* cosine similarity >= this: near-duplicates; in (0, 1];
                          <= 0: the default */
    const char *under; /* only photos under this folder (absolute, as indexed:
                          resolve it first); NULL or "": all */
    int exact_only;    /* 1: identical content only, no embeddings */
} clipsearch_duplicates_params;

CLIPSEARCH_API
clipsearch_duplicates_params clipsearch_duplicates_default_params(void);

typedef struct clipsearch_duplicate_photo {
    clipsearch_library_file file; /* the library's record */
    float similarity;             /* cosine with the group's first photo (1 for it) */
    int identical;                /* 1: same content hash as the group's first photo */
} clipsearch_duplicate_photo;

typedef struct clipsearch_duplicate_group {
    clipsearch_duplicate_photo *photos; /* [n], best first */
    size_t n;                           /* >= 2 */
    int64_t bytes;                      /* sum of the file sizes */
} clipsearch_duplicate_group;

typedef struct clipsearch_duplicates {
    clipsearch_duplicate_group *groups; /* [n_groups], best first */
    size_t n_groups;
    int64_t photos_compared;            /* photos considered */
} clipsearch_duplicates;

/*
 * Finds the duplicate groups among the photos of `model` (from
 * clipsearch_library_find_model or clipsearch_library_models) in the
 * library.  *out is owned by the caller: clipsearch_duplicates_free.
 * Memory: the model's embeddings (n x dim floats) plus FAISS's range
 * results; time: n^2 x dim multiply-adds (exact), in blocks of queries.
 * Same thread rules as the other calls on `lib`.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_library_find_duplicates(clipsearch_library *lib,
                                                     const clipsearch_library_model *model,
                                                     const clipsearch_duplicates_params *params,
                                                     clipsearch_duplicates **out,
                                                     clipsearch_error *err);

/* Frees a result; NULL is allowed. */
CLIPSEARCH_API
void clipsearch_duplicates_free(clipsearch_duplicates *d);

/*
 * The grouping step alone, on vectors in memory: vectors [n][dim] (each
 * L2-normalised by the caller), cosine >= threshold joins two of them.
 * labels[n] (caller's) receives, for each vector, the smallest index of its
 * group (a vector alone is its own label).  *pairs (may be NULL) receives
 * the number of similar pairs found (each counted once).  Thread-safe.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_group_similar(const float *vectors, int64_t n, int dim,
                                           float threshold, int64_t *labels, int64_t *pairs,
                                           clipsearch_error *err);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_DUPLICATES_H */
