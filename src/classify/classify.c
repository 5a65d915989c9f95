/* classify.c — label and template lists, class vectors (CLIP's prompt
 * ensembling, with a prompt embedding cache in the library) and
 * zero-shot scores (clipsearch/classify.h). */
#include "clipsearch/classify.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "library_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- lists ------------------------------------------------------------------ */

void clipsearch_string_list_free(clipsearch_string_list *list)
{
    if (!list)
        return;
    for (int i = 0; i < list->n; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Checks UTF-8 well-formedness of s[len]. */
static int valid_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        int extra;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + (size_t)extra >= len)
            return 0;
        for (int k = 1; k <= extra; k++) {
            if ((s[i + (size_t)k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + (size_t)k] & 0x3f);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)extra + 1;
    }
    return 1;
}

/* Appends item s[len] (already trimmed) to list; rejects duplicates. */
static clipsearch_status list_add(clipsearch_string_list *list, int *cap, const char *s,
                                  size_t len, const char *what, int line,
                                  clipsearch_error *err)
{
    char *copy;
    for (int i = 0; i < list->n; i++)
        if (strlen(list->items[i]) == len && memcmp(list->items[i], s, len) == 0) {
            if (line > 0)
                return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                    "line %d: duplicate %s '%.*s'", line, what, (int)len, s);
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "duplicate %s '%.*s'",
                                what, (int)len, s);
        }
    if (list->n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        char **items = realloc(list->items, (size_t)nc * sizeof *items);
        if (!items)
            return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        list->items = items;
        *cap = nc;
    }
    if (!(copy = malloc(len + 1)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(copy, s, len);
    copy[len] = '\0';
    list->items[list->n++] = copy;
    return CLIPSEARCH_OK;
}

static void trim(const char **s, size_t *len)
{
    while (*len && is_blank(**s))
        (*s)++, (*len)--;
    while (*len && is_blank((*s)[*len - 1]))
        (*len)--;
}

static int has_braces(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '{' && s[i + 1] == '}')
            return 1;
    return 0;
}

clipsearch_status clipsearch_labels_parse(const char *text, size_t len,
                                          clipsearch_string_list *out,
                                          clipsearch_error *err)
{
    clipsearch_string_list list = {0, NULL};
    int cap = 0, index = 0;
    size_t at = 0;
    clipsearch_status r = CLIPSEARCH_OK;
    if (!text || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "no labels given");
    if (memchr(text, '\0', len) || !valid_utf8((const unsigned char *)text, len))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "the labels are not valid UTF-8 text");
    for (;;) {
        const char *comma = memchr(text + at, ',', len - at);
        size_t end = comma ? (size_t)(comma - text) : len;
        const char *s = text + at;
        size_t n = end - at;
        index++;
        trim(&s, &n);
        if (n == 0) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                             "label %d is empty (labels are separated by commas)", index);
            goto fail;
        }
        if ((r = list_add(&list, &cap, s, n, "label", 0, err)) != CLIPSEARCH_OK)
            goto fail;
        if (!comma)
            break;
        at = end + 1;
    }
    *out = list;
    return CLIPSEARCH_OK;
fail:
    clipsearch_string_list_free(&list);
    return r;
}

clipsearch_status clipsearch_list_parse(const char *data, size_t len, int is_templates,
                                        clipsearch_string_list *out,
                                        clipsearch_error *err)
{
    clipsearch_string_list list = {0, NULL};
    int cap = 0, line = 0;
    size_t at = 0;
    clipsearch_status r = CLIPSEARCH_OK;
    const char *what = is_templates ? "template" : "label";
    if ((!data && len) || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL list");
    if (len && memchr(data, '\0', len))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "the file holds NUL bytes");
    if (len && !valid_utf8((const unsigned char *)data, len))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "the file is not valid UTF-8 text");
    while (at < len) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - data) : len;
        const char *s = data + at;
        size_t n = end - at;
        line++;
        at = end + 1;
        trim(&s, &n);
        if (n == 0 || s[0] == '#')
            continue;
        if (is_templates && !has_braces(s, n)) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                             "line %d: template '%.*s' has no {} (where the label goes)", line,
                             (int)n, s);
            goto fail;
        }
        if ((r = list_add(&list, &cap, s, n, what, line, err)) != CLIPSEARCH_OK)
            goto fail;
    }
    if (list.n == 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "no %s in the file", what);
        goto fail;
    }
    *out = list;
    return CLIPSEARCH_OK;
fail:
    clipsearch_string_list_free(&list);
    return r;
}

clipsearch_status clipsearch_list_load(const char *path, int is_templates,
                                       clipsearch_string_list *out,
                                       clipsearch_error *err)
{
    FILE *f;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    clipsearch_status r;
    if (!path || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "no file given");
    if (!(f = fopen(path, "rb")))
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot open: %s", path,
                            strerror(errno));
    for (;;) {
        size_t got;
        if (len == cap) {
            char *nb;
            if (cap >= (size_t)16 << 20) {
                fclose(f);
                free(buf);
                return cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE, "%s: over 16 MiB", path);
            }
            cap = cap ? cap * 2 : 4096;
            if (!(nb = realloc(buf, cap))) {
                fclose(f);
                free(buf);
                return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fclose(f);
        free(buf);
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot read", path);
    }
    fclose(f);
    r = clipsearch_list_parse(buf, len, is_templates, out, err);
    if (r != CLIPSEARCH_OK)
        cs_error_prefix(err, "%s", path);
    free(buf);
    return r;
}

clipsearch_status clipsearch_fill_template(const char *tmpl, const char *label, char **out,
                                           clipsearch_error *err)
{
    size_t tl, ll, n = 0, at = 0;
    char *s;
    if (!tmpl || !label || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL template or label");
    tl = strlen(tmpl);
    ll = strlen(label);
    for (size_t i = 0; i + 1 < tl; i++)
        if (tmpl[i] == '{' && tmpl[i + 1] == '}')
            n++, i++;
    if (n == 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "template '%s' has no {} (where the label goes)", tmpl);
    if (!(s = malloc(tl - 2 * n + n * ll + 1)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < tl; i++) {
        if (i + 1 < tl && tmpl[i] == '{' && tmpl[i + 1] == '}') {
            memcpy(s + at, label, ll);
            at += ll;
            i++;
        } else {
            s[at++] = tmpl[i];
        }
    }
    s[at] = '\0';
    *out = s;
    return CLIPSEARCH_OK;
}

/* ---- class vectors ------------------------------------------------------------ */

clipsearch_class_params clipsearch_class_default_params(void)
{
    clipsearch_class_params p;
    memset(&p, 0, sizeof p);
    return p;
}

float clipsearch_model_logit_scale(const clipsearch_model *model)
{
    const clipsearch_model_info *mi = clipsearch_model_get_info(model);
    if (!mi || mi->logit_scale == 0.0f || !isfinite(mi->logit_scale))
        return 100.0f;
    return (float)exp((double)mi->logit_scale);
}

/* Looks prompts up in the cache: found[i] = 1 and emb row i filled. */
static void cache_read(cs_store *st, const char *fp, char **prompts, int n, int dim,
                       float *emb, unsigned char *found)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(cs_store_db(st),
                           "SELECT vector FROM text_embeddings WHERE fingerprint = ?1 AND "
                           "prompt = ?2",
                           -1, &q, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return; /* an old schema (read-only): no cache */
    }
    sqlite3_bind_text(q, 1, fp, -1, SQLITE_STATIC);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(q, 2, prompts[i], -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW &&
            sqlite3_column_bytes(q, 0) == (int)((size_t)dim * sizeof(float))) {
            const void *b = sqlite3_column_blob(q, 0);
            memcpy(emb + (size_t)i * dim, b, (size_t)dim * sizeof(float));
            found[i] = 1;
        }
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
}

static void cache_write(cs_store *st, const char *fp, char **prompts, int n, int dim,
                        const float *emb, const unsigned char *found)
{
    sqlite3_stmt *q = NULL;
    if (cs_store_read_only(st) || cs_store_begin_write(st, NULL) != CLIPSEARCH_OK)
        return;
    if (sqlite3_prepare_v2(cs_store_db(st),
                           "INSERT OR REPLACE INTO text_embeddings (fingerprint, prompt, vector)"
                           " VALUES (?1, ?2, ?3)",
                           -1, &q, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(q, 1, fp, -1, SQLITE_STATIC);
    for (int i = 0; i < n; i++) {
        if (found[i])
            continue;
        sqlite3_bind_text(q, 2, prompts[i], -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 3, emb + (size_t)i * dim, (int)((size_t)dim * sizeof(float)),
                          SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE)
            goto fail;
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    if (cs_store_commit(st, NULL) != CLIPSEARCH_OK)
        cs_store_rollback(st);
    return;
fail:
    sqlite3_finalize(q);
    cs_store_rollback(st);
}

clipsearch_status clipsearch_class_vectors(const clipsearch_model *model,
                                           clipsearch_tokenizer *tok,
                                           const char *const *labels, int n_labels,
                                           const char *const *templates, int n_templates,
                                           const clipsearch_class_params *params,
                                           float *out, clipsearch_class_stats *stats,
                                           clipsearch_error *err)
{
    clipsearch_class_params p = params ? *params : clipsearch_class_default_params();
    const clipsearch_model_info *mi;
    clipsearch_context *ctx = NULL;
    clipsearch_context_params cp = clipsearch_context_default_params();
    clipsearch_status r = CLIPSEARCH_OK;
    char **prompts = NULL;
    float *emb = NULL, *miss_emb = NULL;
    int32_t *ids = NULL;
    unsigned char *found = NULL;
    int *miss = NULL;
    int n_miss = 0, dim, cl;
    size_t np;
    cs_store *st = p.cache && p.fingerprint ? cs_library_store(p.cache) : NULL;
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!model || !tok || !labels || !templates || !out || n_labels <= 0 || n_templates <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "class vectors need a model, a tokenizer, labels and templates");
    if (!(clipsearch_model_towers(model) & CLIPSEARCH_TOWER_TEXT))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "the model was loaded without its text tower");
    for (int i = 0; i < n_labels; i++) {
        if (!labels[i] || !*labels[i])
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "label %d is empty",
                                i + 1);
        for (int j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                    "duplicate label '%s'", labels[i]);
    }
    for (int t = 0; t < n_templates; t++)
        if (!templates[t] || !strstr(templates[t], "{}"))
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                "template '%s' has no {} (where the label goes)",
                                templates[t] ? templates[t] : "(null)");
    mi = clipsearch_model_get_info(model);
    dim = mi->projection_dim;
    cl = mi->context_length;
    np = (size_t)n_labels * (size_t)n_templates;
    if (np > 100000000)
        return cs_error_set(err, CLIPSEARCH_ERR_TOO_LARGE, "too many prompts (%zu)", np);
    if (!(prompts = calloc(np, sizeof *prompts)) || !(emb = malloc(np * dim * sizeof *emb)) ||
        !(found = calloc(np, 1)) || !(miss = malloc(np * sizeof *miss))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    for (int l = 0; l < n_labels; l++)
        for (int t = 0; t < n_templates; t++)
            if ((r = clipsearch_fill_template(templates[t], labels[l],
                                              &prompts[(size_t)l * n_templates + t], err)) !=
                CLIPSEARCH_OK)
                goto out;
    if (st)
        cache_read(st, p.fingerprint, prompts, (int)np, dim, emb, found);
    for (size_t i = 0; i < np; i++)
        if (!found[i])
            miss[n_miss++] = (int)i;
    if (n_miss > 0) {
        double t0 = now();
        if (!(ids = calloc((size_t)n_miss * cl, sizeof *ids)) ||
            !(miss_emb = malloc((size_t)n_miss * dim * sizeof *miss_emb))) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        for (int i = 0; i < n_miss; i++) {
            int n_ids = 0;
            const char *s = prompts[miss[i]];
            if ((r = clipsearch_tokenize(tok, s, strlen(s), ids + (size_t)i * cl, cl, &n_ids,
                                         err)) != CLIPSEARCH_OK)
                goto out;
        }
        cp.n_threads = p.n_threads;
        cp.max_batch = 256;
        if ((r = clipsearch_context_new(model, &cp, &ctx, err)) != CLIPSEARCH_OK)
            goto out;
        if ((r = clipsearch_encode_text(ctx, ids, n_miss, cl, miss_emb, err)) != CLIPSEARCH_OK)
            goto out;
        for (int i = 0; i < n_miss; i++)
            memcpy(emb + (size_t)miss[i] * dim, miss_emb + (size_t)i * dim,
                   (size_t)dim * sizeof *emb);
        if (stats)
            stats->encode_seconds = now() - t0;
        if (st)
            cache_write(st, p.fingerprint, prompts, (int)np, dim, emb, found);
    }
    /* The recipe: normalise each prompt embedding, average, normalise. */
    clipsearch_normalize(emb, (int)np, dim);
    for (int l = 0; l < n_labels; l++) {
        float *o = out + (size_t)l * dim;
        for (int j = 0; j < dim; j++) {
            double s = 0;
            for (int t = 0; t < n_templates; t++)
                s += emb[((size_t)l * n_templates + t) * dim + j];
            o[j] = (float)(s / n_templates);
        }
        clipsearch_normalize(o, 1, dim);
    }
    if (stats) {
        stats->prompts = (int64_t)np;
        stats->encoded = n_miss;
        stats->cached = (int64_t)np - n_miss;
    }
out:
    clipsearch_context_free(ctx);
    if (prompts)
        for (size_t i = 0; i < np; i++)
            free(prompts[i]);
    free(prompts);
    free(emb);
    free(miss_emb);
    free(ids);
    free(found);
    free(miss);
    return r;
}

/* ---- scores -------------------------------------------------------------------- */

clipsearch_status clipsearch_classify_embeddings(const float *embeddings, int64_t n, int dim,
                                                 const float *classes, int n_classes,
                                                 float scale, float *scores, float *probs,
                                                 clipsearch_error *err)
{
    const int64_t chunk = 4096;
    float *e;
    if (!embeddings || !classes || !scores || n < 0 || dim <= 0 || n_classes <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "classify: bad arguments");
    if (n == 0)
        return CLIPSEARCH_OK;
    if (!(e = malloc((size_t)(n < chunk ? n : chunk) * dim * sizeof *e)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t at = 0; at < n; at += chunk) {
        int m = (int)(n - at < chunk ? n - at : chunk);
        float *sc = scores + (size_t)at * n_classes;
        memcpy(e, embeddings + (size_t)at * dim, (size_t)m * dim * sizeof *e);
        clipsearch_normalize(e, m, dim);
        /* scores[m][k] = e[m][d] x classes[k][d]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n_classes, dim, 1.0f, e, dim,
                    classes, dim, 0.0f, sc, n_classes);
        if (!probs)
            continue;
        for (int i = 0; i < m; i++) {
            const float *s = sc + (size_t)i * n_classes;
            float *pr = probs + (size_t)(at + i) * n_classes;
            double mx = -INFINITY, sum = 0;
            for (int k = 0; k < n_classes; k++)
                if ((double)scale * s[k] > mx)
                    mx = (double)scale * s[k];
            /* One exp per label (the costly part at 1,000 labels): kept in
             * the output row, then divided by the sum. */
            for (int k = 0; k < n_classes; k++) {
                double x = exp((double)scale * s[k] - mx);
                pr[k] = (float)x;
                sum += x;
            }
            for (int k = 0; k < n_classes; k++)
                pr[k] = (float)((double)pr[k] / sum);
        }
    }
    free(e);
    return CLIPSEARCH_OK;
}

/* qsort over indices into one row: higher probability first, then index. */
static __thread const float *sort_row;
static int by_prob(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (sort_row[x] != sort_row[y])
        return sort_row[x] > sort_row[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

int clipsearch_top_k(const float *probs, int n_classes, int k, int *top)
{
    int m = k < n_classes ? k : n_classes;
    if (!probs || !top || m <= 0)
        return 0;
    if (m > 8) {
        int *all = malloc((size_t)n_classes * sizeof *all);
        if (all) {
            for (int c = 0; c < n_classes; c++)
                all[c] = c;
            sort_row = probs;
            qsort(all, (size_t)n_classes, sizeof *all, by_prob);
            memcpy(top, all, (size_t)m * sizeof *top);
            free(all);
            return m;
        }
    }
    for (int i = 0; i < m; i++) {
        int best = -1;
        for (int c = 0; c < n_classes; c++) {
            int used = 0;
            for (int j = 0; j < i; j++)
                if (top[j] == c)
                    used = 1;
            if (!used && (best < 0 || probs[c] > probs[best]))
                best = c;
        }
        top[i] = best;
    }
    return m;
}
