/*
 * clipsearch/probe.h — personal classifiers: linear probes on CLIP image
 * embeddings, as in the CLIP paper's linear-probe evaluation, trained from a
 * few example photos (and optionally a text prior), stored by name in a
 * library and used to rank its photos.
 *
 * The model.  For examples x_i (float[dim], used as given: the library's
 * embeddings are L2-normalised) with labels y_i in {-1, +1}, i = 1..n,
 *
 *     p(positive | x) = sigmoid(w . x + b)
 *
 * and training minimises, over w in R^dim and b in R,
 *
 *     f(w, b) = C * sum_i log(1 + exp(-y_i (w . x_i + b))) + 0.5 * ||w - w0||^2
 *
 * which is scikit-learn's LogisticRegression(penalty="l2", C=C) objective
 * (the intercept b is not penalised) with the regulariser centred at w0
 * instead of 0.  w0 = 0 without a prior; with a text prior (`--like`), w0 is
 * the text's zero-shot class vector times a scale (by default exp of the
 * model's logit_scale, ~100 for trained CLIPs: then w0 . x is exactly the
 * logit CLIP's own zero-shot classifier gives the photo), so few examples
 * refine what the words say instead of starting from nothing.  f is
 * strictly convex in (w, b) as soon as both classes occur, so the minimiser
 * is unique.
 *
 * The solver.  L-BFGS (10 correction pairs) in double precision with a
 * line search satisfying the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9;
 * near the optimum the sufficient-decrease test allows ~1e-13 |f| of rounding,
 * as Hager and Zhang's approximate Wolfe conditions do).  It starts at
 * (w0, b0), b0 the best intercept for w0, and stops when
 *
 *     ||grad f(w, b)||_2 <= tolerance * ||grad f(w0, 0)||_2
 *
 * ("relative gradient norm"; the reference point (w0, 0) does not depend on
 * the solver, so a caller can check the condition itself).
 *
 * Choosing C.  Unless params.C is set, C is chosen by stratified k-fold
 * cross-validation over a log-spaced grid (default 10^-2 .. 10^4, 13 points,
 * half a decade apart): the C with the lowest held-out log-loss (pooled over
 * the folds) wins, then the probe is refitted on all examples with it.
 * Within each fold the grid is walked upwards, each fit starting from the
 * previous one's solution, and stopping at a relative gradient of
 * max(tolerance, 1e-7).
 * Log-loss rather than accuracy because accuracy is flat over most of the
 * grid when negatives outnumber positives (predicting "no" everywhere is
 * already 90% right); the held-out accuracy at the chosen C is reported.
 * With fewer than `folds` examples of a class, C is not cross-validated
 * (held-out folds of one or two photos choose C by noise) and
 * params.fallback_C is used: 1, which keeps a text prior's direction while
 * the examples adjust it (measured on clip-shapes, see test_probe_shapes).
 *
 * Thread-safety: the functions on probes are thread-safe (no shared state);
 * the library functions follow clipsearch/library.h's rules for the handle.
 */
#ifndef CLIPSEARCH_PROBE_H
#define CLIPSEARCH_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"
#include "clipsearch/library.h"
#include "clipsearch/search.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- training and applying a probe (pure computation) ------------------- */

typedef struct clipsearch_probe_params {
    double C;             /* > 0: use this C, no cross-validation; 0 (default): by CV */
    double c_min, c_max;  /* the CV grid's ends (1e-2, 1e4) */
    int n_c;              /* grid points, log-spaced, ends included (13) */
    int folds;            /* k of the stratified k-fold CV (5); also the fewest
                             examples of a class to cross-validate with */
    double fallback_C;    /* C when a class has fewer than `folds` examples (1.0) */
    const float *prior;   /* [dim] w0, the centre of the regulariser and starting
                             point (already scaled); NULL: 0.  Not copied. */
    double tolerance;     /* relative gradient norm to stop at (1e-8) */
    int max_iterations;   /* L-BFGS iterations per fit (20000) */
    uint64_t seed;        /* fold assignment (1) */
} clipsearch_probe_params;

CLIPSEARCH_API
clipsearch_probe_params clipsearch_probe_default_params(void);

/* A trained probe.  Plain data owned by whoever got it from
 * clipsearch_probe_train / clipsearch_classifier_load: release with
 * clipsearch_probe_free. */
typedef struct clipsearch_probe {
    int dim;
    double *weights;      /* [dim] w */
    double bias;          /* b */
    double C;             /* the C it was fitted with */
    int cv_folds;         /* k of the CV that chose C; 0: C was given or fallback */
    double cv_accuracy;   /* pooled held-out accuracy (threshold 0.5) at C; NAN if no CV */
    double cv_log_loss;   /* pooled held-out mean log-loss at C; NAN if no CV */
    int n_positive, n_negative; /* training examples */
    int iterations;       /* L-BFGS iterations of the final fit */
    double gradient_norm; /* relative gradient norm at the returned (w, b) */
    int converged;        /* 1: gradient_norm <= tolerance */
} clipsearch_probe;

/*
 * Trains a probe on x[n][dim] with labels[n] (1 positive, 0 negative).
 * Needs at least one example of each class and finite values
 * (CLIPSEARCH_ERR_INVALID_ARGUMENT otherwise).  params may be NULL
 * (defaults).  A fit that stops at max_iterations is still returned, with
 * converged = 0.  On success *out owns the probe.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_probe_train(const float *x, const int *labels, int n, int dim,
                                         const clipsearch_probe_params *params,
                                         clipsearch_probe **out, clipsearch_error *err);

/* Value and gradient of f (the objective above, in float64) at the probe's
 * (w, b): grad [dim + 1] (w part, then b); either output may be NULL.  For
 * tests and for checking a stored probe against its training set. */
CLIPSEARCH_API
double clipsearch_probe_objective(const clipsearch_probe *p, const float *x, const int *labels,
                                  int n, const float *prior, double *grad);

/* logits[i] = w . x_i + b and probs[i] = sigmoid(logits[i]) for x[n][dim]
 * (either output may be NULL), on all cores.  The products are float32
 * (w rounded to float; ~1e-6 |w| of error), being memory-bound.  Rank by
 * the logits: probabilities of very confident photos round to 1. */
CLIPSEARCH_API
void clipsearch_probe_apply(const clipsearch_probe *p, const float *x, int64_t n, float *logits,
                            float *probs);

CLIPSEARCH_API
void clipsearch_probe_free(clipsearch_probe *p);

/* ---- classifiers stored in a library ------------------------------------ */

#define CLIPSEARCH_CLASSIFIER_NAME_MAX 128 /* bytes, NUL included */

/* One photo of a training set.  file_id 0: it was not in the library. */
typedef struct clipsearch_classifier_example {
    int64_t file_id;
    const char *path;  /* absolute */
    int label;         /* 1 positive, 0 negative */
} clipsearch_classifier_example;

typedef struct clipsearch_classifier_info {
    char name[CLIPSEARCH_CLASSIFIER_NAME_MAX];
    int64_t model_id;      /* the library model (clipsearch_library_model.id) */
    char model_name[128];
    char model_fingerprint[CLIPSEARCH_FINGERPRINT_SIZE];
    int dim;
    int n_positive, n_negative;
    int random_negatives;  /* 1: the negatives were random library photos */
    double C;
    int cv_folds;          /* 0: no cross-validation */
    double cv_accuracy;    /* NAN when cv_folds == 0 */
    double cv_log_loss;
    char prior_text[512];  /* --like TEXT ("" for none; truncated if longer) */
    double prior_scale;    /* the scale of the text's class vector in w0 */
    int64_t created_at;    /* unix seconds */
} clipsearch_classifier_info;

/*
 * Stores `probe` under `name` (1..127 bytes, no control characters) for
 * `model`, with its training set examples[n_examples] and the prior used
 * (prior_text NULL: none), in one transaction.  A classifier of that name
 * already stored: CLIPSEARCH_ERR_INVALID_ARGUMENT unless replace is
 * non-zero, in which case it is replaced.  Nothing is stored on error.
 * Needs a writable handle.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_classifier_save(clipsearch_library *lib,
                                             const clipsearch_library_model *model,
                                             const char *name, const clipsearch_probe *probe,
                                             const char *prior_text, double prior_scale,
                                             int random_negatives,
                                             const clipsearch_classifier_example *examples,
                                             int n_examples, int replace,
                                             clipsearch_error *err);

/* Loads the classifier `name`: *probe (may be NULL: not wanted) and *info
 * (may be NULL).  CLIPSEARCH_ERR_NOT_FOUND, naming the stored ones, when
 * there is none of that name; CLIPSEARCH_ERR_FORMAT if its row is damaged. */
CLIPSEARCH_API
clipsearch_status clipsearch_classifier_load(clipsearch_library *lib, const char *name,
                                             clipsearch_probe **probe,
                                             clipsearch_classifier_info *info,
                                             clipsearch_error *err);

/* All stored classifiers, ordered by name: *infos [*n], malloc'd (release
 * with clipsearch_free; NULL when there are none). */
CLIPSEARCH_API
clipsearch_status clipsearch_classifier_list(clipsearch_library *lib,
                                             clipsearch_classifier_info **infos, int *n,
                                             clipsearch_error *err);

/* Calls fn(file_id, path, label, user) for each example of the classifier's
 * training set, positives first, then by path; fn returns non-zero to stop. */
CLIPSEARCH_API
clipsearch_status clipsearch_classifier_examples(
    clipsearch_library *lib, const char *name,
    int (*fn)(int64_t file_id, const char *path, int label, void *user), void *user,
    clipsearch_error *err);

/* Deletes the classifier `name` and its training set.  CLIPSEARCH_ERR_NOT_FOUND
 * when there is none.  Needs a writable handle. */
CLIPSEARCH_API
clipsearch_status clipsearch_classifier_delete(clipsearch_library *lib, const char *name,
                                               clipsearch_error *err);

/* ---- learning from photos and ranking a library (what the CLI does) ----- */

typedef struct clipsearch_learn_params {
    clipsearch_probe_params probe; /* prior is set from `like`; leave it NULL */
    const char *like;        /* text prior (NULL: none): its zero-shot class vector,
                                built with the default templates of clipsearch/classify.h */
    double prior_scale;      /* 0: exp(the model's logit_scale), or 100 if it has none */
    int n_random_negatives;  /* when no negatives are given: 0 = 10 per positive,
                                at least 100, at most 1000 (fewer if the library is smaller) */
    uint64_t negative_seed;  /* which random photos (1) */
    int replace;             /* replace a classifier of the same name */
    const char *vocab;       /* tokenizer for `like` (NULL: the model folder's) */
} clipsearch_learn_params;

CLIPSEARCH_API
clipsearch_learn_params clipsearch_learn_default_params(void);

/*
 * Trains and stores the classifier `name` for the searcher's model.
 * positives[n_pos] and negatives[n_neg] are paths of photos or folders: a
 * photo in the library uses its stored embedding, a photo that is not is
 * decoded and embedded (image tower), a folder stands for the library's
 * photos under it.  With no negatives, random library photos that are not
 * positives are the negatives (params.n_random_negatives).  The library
 * (the searcher's folder) is opened for writing for the store.
 * Errors, nothing stored: no positives, a path that does not exist, a photo
 * that is not in the library and cannot be decoded, a folder without
 * indexed photos, a photo that is both positive and negative, no negatives
 * to be had, a duplicate name without params.replace.  *info (may be NULL)
 * describes the stored classifier.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_searcher_learn(clipsearch_searcher *s, const char *name,
                                            const char *const *positives, int n_pos,
                                            const char *const *negatives, int n_neg,
                                            const clipsearch_learn_params *params,
                                            clipsearch_classifier_info *info,
                                            clipsearch_error *err);

/*
 * Ranks the library's photos by the classifier `name`: results best first,
 * score = probability.  params (NULL = defaults): limit, min_score (a
 * probability threshold), under and the date bounds, as for a search.
 * CLIPSEARCH_ERR_MODEL when the classifier was trained with another model
 * than the searcher's; CLIPSEARCH_ERR_NOT_FOUND for an unknown name.
 * *out: free with clipsearch_search_results_free.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_searcher_rank(clipsearch_searcher *s, const char *name,
                                           const clipsearch_search_params *params,
                                           clipsearch_search_results **out,
                                           clipsearch_error *err);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_PROBE_H */
