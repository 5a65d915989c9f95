/* prior.h — the text prior of a probe (`--like TEXT`).  Private. */
#ifndef CS_PRIOR_H
#define CS_PRIOR_H

#include "clipsearch/search.h"

/* out[dim] = the zero-shot class vector of `text` (unit length; the
 * default photo templates of clipsearch/classify.h) with the searcher's
 * model and the tokenizer at vocab (NULL: the model folder's), and *scale =
 * exp(the model's logit_scale) (100 when the model has none), the factor
 * that turns its cosines into CLIP's logits. */
clipsearch_status cs_prior_vector(clipsearch_searcher *s, const char *text, const char *vocab,
                                  float *out, double *scale, clipsearch_error *err);

#endif
