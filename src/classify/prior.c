/* prior.c — the text prior of a probe (prior.h). */
#include "prior.h"

#include <math.h>

#include "clipsearch/model.h"

clipsearch_status cs_prior_vector(clipsearch_searcher *s, const char *text, float *out,
                                  double *scale, clipsearch_error *err)
{
    clipsearch_query_term t = {CLIPSEARCH_TERM_TEXT, text, 1.0f};
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_model *m = NULL;
    clipsearch_status r = clipsearch_searcher_embed(s, &t, 1, out, err);
    if (r != CLIPSEARCH_OK)
        return r;
    mp.towers = CLIPSEARCH_TOWER_TEXT;
    if ((r = clipsearch_model_load(clipsearch_searcher_model_dir(s), &mp, &m, err)) !=
        CLIPSEARCH_OK)
        return r;
    {
        float ls = clipsearch_model_get_info(m)->logit_scale;
        *scale = ls != 0 && isfinite(ls) ? exp((double)ls) : 100.0;
    }
    clipsearch_model_free(m);
    return CLIPSEARCH_OK;
}
