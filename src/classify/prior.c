/* prior.c — the text prior of a probe (prior.h): the zero-shot class
 * vector of the text (clipsearch/classify.h, the default photo templates). */
#include "prior.h"

#include <string.h>

#include "clipsearch/classify.h"
#include "clipsearch/model.h"
#include "clipsearch/tokenizer.h"
#include "error.h"

clipsearch_status cs_prior_vector(clipsearch_searcher *s, const char *text, const char *vocab,
                                  float *out, double *scale, clipsearch_error *err)
{
    const clipsearch_library_model *lm = clipsearch_searcher_model(s);
    const char *dir = clipsearch_searcher_model_dir(s);
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_class_params cp = clipsearch_class_default_params();
    clipsearch_model *m = NULL;
    clipsearch_tokenizer *tok = NULL;
    const char *const *templates;
    int n_templates = 0;
    clipsearch_status r;
    mp.towers = CLIPSEARCH_TOWER_TEXT;
    if ((r = clipsearch_model_load(dir, &mp, &m, err)) != CLIPSEARCH_OK)
        return r;
    if (clipsearch_model_get_info(m)->projection_dim != lm->dim) {
        r = cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: embedding size %d differs from the "
                         "library's %d", dir, clipsearch_model_get_info(m)->projection_dim,
                         lm->dim);
        goto out;
    }
    if ((r = clipsearch_tokenizer_load(vocab ? vocab : dir, &tok, err)) != CLIPSEARCH_OK) {
        if (!vocab)
            cs_error_prefix(err, "the model folder has no usable tokenizer (vocab.json + "
                                 "merges.txt); pass --vocab PATH");
        goto out;
    }
    templates = clipsearch_builtin_templates(CLIPSEARCH_TEMPLATES_PHOTOS, &n_templates);
    /* The library's prompt cache, read only (the searcher's handle). */
    cp.cache = clipsearch_searcher_library(s);
    cp.fingerprint = lm->fingerprint;
    if ((r = clipsearch_class_vectors(m, tok, &text, 1, templates, n_templates, &cp, out, NULL,
                                      err)) != CLIPSEARCH_OK)
        goto out;
    *scale = clipsearch_model_logit_scale(m);
out:
    clipsearch_tokenizer_free(tok);
    clipsearch_model_free(m);
    return r;
}
