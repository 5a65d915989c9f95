/*
 * clipsearch/classify.h — zero-shot classification (CLIP's recipe) and
 * automatic tags.
 *
 * A class vector is built from words alone: for each label, every template
 * ("a photo of a {}.", {} marks the label) is filled with it and embedded by
 * the text tower; each embedding is L2-normalised, they are averaged and the
 * mean is L2-normalised (CLIP's zero-shot notebook, "prompt ensembling").
 * A photo's score for a label is the cosine of its embedding and the class
 * vector; its probability is the softmax over the labels of scale x score,
 * scale = exp(logit_scale) of the model file (as CLIPModel computes it).
 *
 * Thread-safety: the functions without a library or tokenizer argument are
 * thread-safe.  A tokenizer and a library handle are used by one thread at a
 * time (see tokenizer.h, library.h).
 */
#ifndef CLIPSEARCH_CLASSIFY_H
#define CLIPSEARCH_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"
#include "clipsearch/library.h"
#include "clipsearch/model.h"
#include "clipsearch/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- templates and labels ------------------------------------------------ */

/* Built-in template sets (static, NULL-terminated arrays of strings with
 * one "{}" each):
 *   CLIPSEARCH_TEMPLATES_PHOTOS   a short set for personal photos (the default)
 *   CLIPSEARCH_TEMPLATES_IMAGENET CLIP's 80 ImageNet templates
 *   CLIPSEARCH_TEMPLATES_BARE     "{}" alone (the bare label) */
typedef enum clipsearch_template_set {
    CLIPSEARCH_TEMPLATES_PHOTOS = 0,
    CLIPSEARCH_TEMPLATES_IMAGENET = 1,
    CLIPSEARCH_TEMPLATES_BARE = 2
} clipsearch_template_set;

/* The strings of a built-in set; *n gets their count.  NULL for an unknown
 * set.  Thread-safe. */
CLIPSEARCH_API
const char *const *clipsearch_builtin_templates(clipsearch_template_set set, int *n);

/* A list of strings owned by one allocation (labels, templates, a
 * vocabulary).  Free with clipsearch_string_list_free. */
typedef struct clipsearch_string_list {
    int n;
    char **items; /* [n], NUL-terminated, UTF-8 */
} clipsearch_string_list;

CLIPSEARCH_API
void clipsearch_string_list_free(clipsearch_string_list *list);

/* Parses a comma-separated label list ("cat,dog, birthday cake"): items are
 * trimmed of blanks.  ERR_INVALID_ARGUMENT (naming the culprit) for an
 * empty label, a duplicate label (after trimming, case-sensitive) or no
 * label at all.  *out is filled only on success. */
CLIPSEARCH_API
clipsearch_status clipsearch_labels_parse(const char *text, size_t len,
                                          clipsearch_string_list *out,
                                          clipsearch_error *err);

/* Parses a file body holding one item a line (labels, vocabulary or
 * templates; '\n' or "\r\n"; blank lines and lines starting with '#' are
 * skipped; items are trimmed).  With is_templates != 0 every item must
 * contain "{}".  ERR_INVALID_ARGUMENT for a duplicate, a template without
 * {} (with its line number), invalid UTF-8 or NUL bytes, or no item.
 * `len` bytes of `data` need not be NUL-terminated. */
CLIPSEARCH_API
clipsearch_status clipsearch_list_parse(const char *data, size_t len, int is_templates,
                                        clipsearch_string_list *out,
                                        clipsearch_error *err);

/* Reads and parses a file with clipsearch_list_parse (ERR_IO naming it if
 * unreadable; at most 16 MiB). */
CLIPSEARCH_API
clipsearch_status clipsearch_list_load(const char *path, int is_templates,
                                       clipsearch_string_list *out,
                                       clipsearch_error *err);

/* Writes template with every "{}" replaced by label into a new malloc'd
 * string (*out; release with clipsearch_free). */
CLIPSEARCH_API
clipsearch_status clipsearch_fill_template(const char *tmpl, const char *label,
                                           char **out, clipsearch_error *err);

/* ---- class vectors -------------------------------------------------------- */

typedef struct clipsearch_class_params {
    int n_threads;            /* text encoder threads; <= 0: all cores */
    /* Optional cache of prompt embeddings: the library (writable, or
     * read-only: then it is only read) and the model's fingerprint
     * (clipsearch_model_fingerprint).  Both NULL: no cache. */
    clipsearch_library *cache;
    const char *fingerprint;
} clipsearch_class_params;

CLIPSEARCH_API
clipsearch_class_params clipsearch_class_default_params(void);

/* What clipsearch_class_vectors did (may be NULL). */
typedef struct clipsearch_class_stats {
    int64_t prompts;          /* labels x templates */
    int64_t encoded;          /* of which run through the text tower */
    int64_t cached;           /* of which found in the cache */
    double encode_seconds;    /* text tower wall time */
} clipsearch_class_stats;

/*
 * Class vectors of labels[0..n_labels-1] with templates[0..n_templates-1]:
 * out[n_labels][dim] (dim = the model's projection_dim), each L2-normalised
 * (recipe above).  `model` needs its text tower; `tok` is the model's
 * tokenizer.  All prompts missing from the cache are encoded in one batched
 * call split over n_threads; new ones are stored in the cache when it is
 * writable (a failure to store is not an error).  Every template must
 * contain "{}"; labels must be non-empty and distinct
 * (ERR_INVALID_ARGUMENT otherwise).  params may be NULL (defaults).
 */
CLIPSEARCH_API
clipsearch_status clipsearch_class_vectors(const clipsearch_model *model,
                                           clipsearch_tokenizer *tok,
                                           const char *const *labels, int n_labels,
                                           const char *const *templates, int n_templates,
                                           const clipsearch_class_params *params,
                                           float *out, clipsearch_class_stats *stats,
                                           clipsearch_error *err);

/* exp(logit_scale) of a model: the softmax temperature CLIPModel uses
 * (about 100 for OpenAI's checkpoints); 100 when the file has no
 * logit_scale (clipsearch_model_info.logit_scale holds the raw, logarithmic
 * parameter).  Thread-safe. */
CLIPSEARCH_API
float clipsearch_model_logit_scale(const clipsearch_model *model);

/*
 * Scores and probabilities of n embeddings against n_classes class
 * vectors: scores[n][n_classes] = cosine (embeddings are normalised here
 * on a copy, class vectors are taken as given, normalised), probs (may be
 * NULL) [n][n_classes] = softmax over the classes of scale x score.  One
 * matrix product (sgemm).  Thread-safe.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_classify_embeddings(const float *embeddings, int64_t n, int dim,
                                                 const float *classes, int n_classes,
                                                 float scale, float *scores, float *probs,
                                                 clipsearch_error *err);

/* The k most probable classes of one row (probs[n_classes]) into
 * top[0..k-1] (indices, best first; ties by lower index); returns how many
 * were written (min(k, n_classes)).  Thread-safe. */
CLIPSEARCH_API
int clipsearch_top_k(const float *probs, int n_classes, int k, int *top);

/* Absolute path of a library photo by file id into a new malloc'd string
 * (*path; clipsearch_free).  CLIPSEARCH_ERR_NOT_FOUND if no such file. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_file_path(clipsearch_library *lib, int64_t file_id,
                                               char **path, clipsearch_error *err);

/* ---- tags ------------------------------------------------------------------ */

/* The built-in tag vocabulary (a few hundred everyday photo concepts) and
 * the "background" set that competes with it in the softmax but is never
 * stored as a tag.  Static NULL-terminated arrays; *n gets the count. */
CLIPSEARCH_API
const char *const *clipsearch_builtin_vocabulary(int *n);
CLIPSEARCH_API
const char *const *clipsearch_builtin_background(int *n);

/* Default probability a tag must clear (see README: how it was chosen). */
#define CLIPSEARCH_TAG_DEFAULT_THRESHOLD 0.1f

typedef struct clipsearch_tag_params {
    const char *model_dir;    /* the library's model (text tower loaded here) */
    const char *vocab;        /* tokenizer; NULL: the model folder's */
    const char *vocabulary;   /* vocabulary file; NULL: the library's setting,
                                 else the built-in one */
    float threshold;          /* <= 0: the library's setting, else the default */
    int n_threads;            /* <= 0: all cores */
    int only_untagged;        /* 1: only photos with no tag row for this
                                 model yet (what the indexer does) */
} clipsearch_tag_params;

CLIPSEARCH_API
clipsearch_tag_params clipsearch_tag_default_params(void);

typedef struct clipsearch_tag_summary {
    int64_t photos;           /* photos classified */
    int64_t tags;             /* tags stored */
    int n_vocabulary;         /* labels in the vocabulary (without background) */
    float threshold;          /* the threshold used */
} clipsearch_tag_summary;

/*
 * Tags the library's photos embedded with the model in params->model_dir:
 * class vectors of vocabulary + background (templates: the photo set),
 * softmax over them all, and every vocabulary label whose probability is
 * >= threshold is stored (tags table, per model and photo, with the
 * probability; the photo's previous tags for this model are replaced).  The
 * vocabulary (path or "builtin") and threshold are stored as the library's
 * setting, so clipsearch-index tags new photos the same way.  One
 * transaction: on error nothing is stored.  lib must be writable.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_library_tag(clipsearch_library *lib,
                                         const clipsearch_tag_params *params,
                                         clipsearch_tag_summary *summary,
                                         clipsearch_error *err);

/* Whether the library has a tag vocabulary set (by clipsearch_library_tag):
 * *set = 1 and, when vocabulary is not NULL, its path or "builtin" into
 * vocabulary[size]; *threshold (may be NULL) gets the threshold. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_tag_setting(clipsearch_library *lib, int *set,
                                                 char *vocabulary, size_t size,
                                                 float *threshold, clipsearch_error *err);

/* One tag and how many photos of a model carry it. */
typedef struct clipsearch_tag_count {
    const char *tag;          /* owned by the list */
    int64_t count;
} clipsearch_tag_count;

/* Tags of `model` with their photo counts, most frequent first (then by
 * name).  *out [*n]: free with clipsearch_free (one allocation). */
CLIPSEARCH_API
clipsearch_status clipsearch_library_tag_counts(clipsearch_library *lib,
                                                const clipsearch_library_model *model,
                                                clipsearch_tag_count **out, int *n,
                                                clipsearch_error *err);

/* Calls fn(tag, probability, user) for each tag of the photo file_id under
 * `model`, most probable first; fn returns non-zero to stop. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_file_tags(
    clipsearch_library *lib, const clipsearch_library_model *model, int64_t file_id,
    int (*fn)(const char *tag, float probability, void *user), void *user,
    clipsearch_error *err);

/* File ids of `model`'s photos tagged `tag`: *ids [*n] ascending, malloc'd
 * (clipsearch_free).  *n = 0 if none. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_tagged(clipsearch_library *lib,
                                            const clipsearch_library_model *model,
                                            const char *tag, int64_t **ids, int64_t *n,
                                            clipsearch_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CLIPSEARCH_CLASSIFY_H */
