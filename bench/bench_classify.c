/* bench_classify — zero-shot classification cost (issue 11):
 *   1. class vectors of L labels x T templates (default CLIP's 80 ImageNet
 *      templates) through the text tower, uncached: prompts/s;
 *   2. the same again with every prompt in the library's cache;
 *   3. scores + softmax of N stored embeddings (random, normalised, dim of
 *      the model) against C class vectors: one sgemm, C = --classes (1000).
 * The uncached text side of 1,000 labels x 80 templates is 80,000 prompt
 * encodings; on a small machine measure fewer labels (--labels) and read
 * the printed extrapolation as what it is.
 *
 *   bench_classify --model DIR [--vocab PATH] [--labels 10] [--classes 1000]
 *                  [--embeddings 100000] [--threads 0] [--templates imagenet|photos]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "clipsearch.h"

static float gauss(void)
{
    float s = 0;
    for (int i = 0; i < 6; i++)
        s += (float)rand() / (float)RAND_MAX;
    return s - 3.0f;
}

int main(int argc, char **argv)
{
    const char *model_dir = NULL, *vocab = NULL, *tset = "imagenet";
    int n_labels = 10, n_classes = 1000, threads = 0, n_tmpl = 0, dim;
    long long n_emb = 100000;
    clipsearch_model *m = NULL;
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_tokenizer *tok = NULL;
    clipsearch_library *lib = NULL;
    clipsearch_error err = {0};
    clipsearch_class_params cp = clipsearch_class_default_params();
    clipsearch_class_stats st1, st2;
    const char *const *tmpl;
    char **labels, dir[] = "/tmp/bench_classify.XXXXXX", fp[] = "bench-fingerprint";
    float *cv, *emb, *scores, *probs;
    double t0, t_unc, t_cached, t_mm;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_dir = argv[++i];
        else if (!strcmp(argv[i], "--vocab") && i + 1 < argc)
            vocab = argv[++i];
        else if (!strcmp(argv[i], "--labels") && i + 1 < argc)
            n_labels = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--classes") && i + 1 < argc)
            n_classes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--embeddings") && i + 1 < argc)
            n_emb = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--templates") && i + 1 < argc)
            tset = argv[++i];
        else {
            fprintf(stderr, "usage: bench_classify --model DIR [--vocab PATH] [--labels L] "
                            "[--classes C] [--embeddings N] [--threads T] "
                            "[--templates imagenet|photos]\n");
            return 2;
        }
    }
    if (!model_dir || n_labels <= 0 || n_classes <= 0 || n_emb <= 0) {
        fprintf(stderr, "bench_classify: --model DIR is required (and counts > 0)\n");
        return 2;
    }
    tmpl = clipsearch_builtin_templates(strcmp(tset, "photos") ? CLIPSEARCH_TEMPLATES_IMAGENET
                                                               : CLIPSEARCH_TEMPLATES_PHOTOS,
                                        &n_tmpl);
    mp.towers = CLIPSEARCH_TOWER_TEXT;
    if (clipsearch_model_load(model_dir, &mp, &m, &err) ||
        clipsearch_tokenizer_load(vocab ? vocab : model_dir, &tok, &err) || !mkdtemp(dir) ||
        clipsearch_library_open(dir, NULL, &lib, &err)) {
        fprintf(stderr, "bench_classify: %s\n", err.message);
        return 1;
    }
    dim = clipsearch_model_get_info(m)->projection_dim;
    labels = calloc((size_t)n_labels, sizeof *labels);
    for (int i = 0; i < n_labels; i++) {
        labels[i] = malloc(32);
        snprintf(labels[i], 32, "concept number %d", i);
    }
    cv = malloc((size_t)(n_classes > n_labels ? n_classes : n_labels) * dim * sizeof *cv);
    cp.n_threads = threads;
    cp.cache = lib;
    cp.fingerprint = fp;
    t0 = bench_now();
    if (clipsearch_class_vectors(m, tok, (const char *const *)labels, n_labels, tmpl, n_tmpl,
                                 &cp, cv, &st1, &err)) {
        fprintf(stderr, "bench_classify: %s\n", err.message);
        return 1;
    }
    t_unc = bench_now() - t0;
    t0 = bench_now();
    clipsearch_class_vectors(m, tok, (const char *const *)labels, n_labels, tmpl, n_tmpl, &cp,
                             cv, &st2, &err);
    t_cached = bench_now() - t0;
    printf("text side, %d labels x %d templates = %lld prompts, threads %d:\n", n_labels, n_tmpl,
           (long long)st1.prompts, threads);
    printf("  uncached: %.2f s (%.2f s in the text tower), %.1f prompts/s\n", t_unc,
           st1.encode_seconds, (double)st1.prompts / t_unc);
    printf("  cached:   %.4f s (%lld of %lld prompts from the cache), %.0f prompts/s\n",
           t_cached, (long long)st2.cached, (long long)st2.prompts,
           (double)st2.prompts / t_cached);
    printf("  EXTRAPOLATION to %d labels x %d templates (linear in prompts): uncached %.0f s, "
           "cached %.2f s\n",
           n_classes, n_tmpl, t_unc / (double)st1.prompts * n_classes * n_tmpl,
           t_cached / (double)st2.prompts * n_classes * n_tmpl);
    /* Image side: random normalised embeddings and class vectors. */
    emb = malloc((size_t)n_emb * dim * sizeof *emb);
    scores = malloc((size_t)n_emb * n_classes * sizeof *scores);
    probs = malloc((size_t)n_emb * n_classes * sizeof *probs);
    if (!emb || !scores || !probs) {
        fprintf(stderr, "bench_classify: out of memory\n");
        return 1;
    }
    for (long long i = 0; i < n_emb * dim; i++)
        emb[i] = gauss();
    clipsearch_normalize(emb, (int)n_emb, dim);
    for (int i = 0; i < n_classes * dim; i++)
        cv[i] = gauss();
    clipsearch_normalize(cv, n_classes, dim);
    t0 = bench_now();
    clipsearch_classify_embeddings(emb, n_emb, dim, cv, n_classes,
                                   clipsearch_model_logit_scale(m), scores, NULL, &err);
    t_mm = bench_now() - t0;
    t0 = bench_now();
    clipsearch_classify_embeddings(emb, n_emb, dim, cv, n_classes,
                                   clipsearch_model_logit_scale(m), scores, probs, &err);
    printf("image side, %lld embeddings (dim %d) x %d classes: scores %.3f s, scores + "
           "softmax %.3f s\n",
           n_emb, dim, n_classes, t_mm, bench_now() - t0);
    {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        clipsearch_library_close(lib);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_classify: could not remove %s\n", dir);
    }
    for (int i = 0; i < n_labels; i++)
        free(labels[i]);
    free(labels);
    free(cv);
    free(emb);
    free(scores);
    free(probs);
    clipsearch_tokenizer_free(tok);
    clipsearch_model_free(m);
    return 0;
}
