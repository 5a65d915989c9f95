/* search_internal.h — how query terms combine into one query vector, for the
 * layers that embed terms themselves (server/ embeds with per-thread
 * encoders).  Private. */
#ifndef CS_SEARCH_INTERNAL_H
#define CS_SEARCH_INTERNAL_H

#include "clipsearch/common.h"

/* query[dim] += weight x normalise(e); e (dim floats) is normalised in place. */
void cs_query_add_term(float *query, float *e, float weight, int dim);

/* Normalises the summed query[dim] in place; CLIPSEARCH_ERR_INVALID_ARGUMENT
 * (query left as it was) when the terms cancel out to (nearly) zero. */
clipsearch_status cs_query_finish(float *query, int dim, clipsearch_error *err);

#endif
