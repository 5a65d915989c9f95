/* tags.c — automatic tags stored in the library (clipsearch/classify.h). */
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch/classify.h"
#include "error.h"
#include "library_internal.h"

clipsearch_status clipsearch_library_file_path(clipsearch_library *lib, int64_t file_id,
                                               char **path, clipsearch_error *err)
{
    cs_store *st = cs_library_store(lib);
    sqlite3_stmt *q = NULL;
    clipsearch_status r;
    if (!st || !path)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL library or path");
    if (sqlite3_prepare_v2(cs_store_db(st), "SELECT path FROM files WHERE id = ?1", -1, &q,
                           NULL) != SQLITE_OK) {
        r = cs_store_error(st, err, "reading a file's path");
        sqlite3_finalize(q);
        return r;
    }
    sqlite3_bind_int64(q, 1, file_id);
    if ((r = sqlite3_step(q)) != SQLITE_ROW) {
        /* A damaged page is an error, not a missing file. */
        r = r == SQLITE_DONE ? cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND, "no file with id %lld",
                                            (long long)file_id)
                             : cs_store_error(st, err, "reading a file's path");
        sqlite3_finalize(q);
        return r;
    }
    *path = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return *path ? CLIPSEARCH_OK
                 : cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
}

clipsearch_tag_params clipsearch_tag_default_params(void)
{
    clipsearch_tag_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static int meta_get(cs_store *st, const char *key, char *buf, size_t size)
{
    sqlite3_stmt *q = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(cs_store_db(st), "SELECT value FROM meta WHERE key = ?1", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
            snprintf(buf, size, "%s", (const char *)sqlite3_column_text(q, 0));
            found = 1;
        }
    }
    sqlite3_finalize(q);
    return found;
}

clipsearch_status clipsearch_library_tag_setting(clipsearch_library *lib, int *set,
                                                 char *vocabulary, size_t size,
                                                 float *threshold, clipsearch_error *err)
{
    cs_store *st = cs_library_store(lib);
    char v[PATH_MAX + 16], t[64];
    if (!st || !set)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL library");
    *set = meta_get(st, "tag_vocabulary", v, sizeof v);
    if (*set && vocabulary && size)
        snprintf(vocabulary, size, "%s", v);
    if (threshold)
        *threshold = meta_get(st, "tag_threshold", t, sizeof t) ? strtof(t, NULL)
                                                                : CLIPSEARCH_TAG_DEFAULT_THRESHOLD;
    return CLIPSEARCH_OK;
}

static clipsearch_status exec_bind(cs_store *st, const char *sql, const char *a,
                                   const char *b, clipsearch_error *err)
{
    sqlite3_stmt *q = NULL;
    clipsearch_status r = CLIPSEARCH_OK;
    if (sqlite3_prepare_v2(cs_store_db(st), sql, -1, &q, NULL) != SQLITE_OK)
        goto fail;
    if (a)
        sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(q);
    return CLIPSEARCH_OK;
fail:
    r = cs_store_error(st, err, "storing tags");
    sqlite3_finalize(q);
    return r;
}

clipsearch_status clipsearch_library_tag(clipsearch_library *lib,
                                         const clipsearch_tag_params *params,
                                         clipsearch_tag_summary *summary,
                                         clipsearch_error *err)
{
    clipsearch_tag_params p = params ? *params : clipsearch_tag_default_params();
    cs_store *st = cs_library_store(lib);
    clipsearch_library_model lm;
    clipsearch_model *model = NULL;
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_tokenizer *tok = NULL;
    clipsearch_string_list file_vocab = {0, NULL};
    clipsearch_class_params cp = clipsearch_class_default_params();
    const char **labels = NULL;
    const char *const *vocab, *const *bg, *const *tmpl;
    int n_vocab = 0, n_bg = 0, n_tmpl = 0, n_labels, set = 0, in_tx = 0;
    char setting[PATH_MAX + 16], vocab_abs[PATH_MAX], thr[64];
    float threshold = 0, *classes = NULL, *emb = NULL, *scores = NULL, *probs = NULL;
    int64_t *ids = NULL, n = 0;
    sqlite3_stmt *ins = NULL, *mark = NULL, *seen = NULL;
    clipsearch_status r;
    clipsearch_tag_summary sum;
    memset(&sum, 0, sizeof sum);
    if (summary)
        *summary = sum;
    if (!st || !p.model_dir)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "tagging needs a library and a model");
    if (cs_store_read_only(st))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "the library is read-only");
    if ((r = clipsearch_library_find_model(lib, p.model_dir, &lm, err)) != CLIPSEARCH_OK)
        return r;
    /* The vocabulary: given, else the library's setting, else built-in. */
    clipsearch_library_tag_setting(lib, &set, setting, sizeof setting, &threshold, NULL);
    if (p.threshold > 0)
        threshold = p.threshold;
    if (!(threshold > 0 && threshold <= 1)) {
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "the threshold %g is not a probability in (0, 1]", threshold);
    }
    if (p.vocabulary && strcmp(p.vocabulary, "builtin") != 0) {
        if (!realpath(p.vocabulary, vocab_abs))
            snprintf(vocab_abs, sizeof vocab_abs, "%s", p.vocabulary);
        snprintf(setting, sizeof setting, "%s", vocab_abs);
    } else if (p.vocabulary || !set) {
        snprintf(setting, sizeof setting, "builtin");
    }
    if (strcmp(setting, "builtin") != 0) {
        if ((r = clipsearch_list_load(setting, 0, &file_vocab, err)) != CLIPSEARCH_OK)
            return r;
        vocab = (const char *const *)file_vocab.items;
        n_vocab = file_vocab.n;
    } else {
        vocab = clipsearch_builtin_vocabulary(&n_vocab);
    }
    bg = clipsearch_builtin_background(&n_bg);
    tmpl = clipsearch_builtin_templates(CLIPSEARCH_TEMPLATES_PHOTOS, &n_tmpl);
    if (!(labels = malloc((size_t)(n_vocab + n_bg) * sizeof *labels))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    n_labels = 0;
    for (int i = 0; i < n_vocab; i++)
        labels[n_labels++] = vocab[i];
    for (int i = 0; i < n_bg; i++) {
        int dup = 0;
        for (int j = 0; j < n_vocab; j++)
            dup |= !strcmp(bg[i], vocab[j]);
        if (!dup)
            labels[n_labels++] = bg[i];
    }
    mp.towers = CLIPSEARCH_TOWER_TEXT;
    if ((r = clipsearch_model_load(p.model_dir, &mp, &model, err)) != CLIPSEARCH_OK)
        goto out;
    if ((r = clipsearch_tokenizer_load(p.vocab ? p.vocab : p.model_dir, &tok, err)) !=
        CLIPSEARCH_OK)
        goto out;
    if (!(classes = malloc((size_t)n_labels * lm.dim * sizeof *classes))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    cp.n_threads = p.n_threads;
    cp.cache = lib;
    cp.fingerprint = lm.fingerprint;
    if ((r = clipsearch_class_vectors(model, tok, labels, n_labels, tmpl, n_tmpl, &cp, classes,
                                      NULL, err)) != CLIPSEARCH_OK)
        goto out;
    if ((r = clipsearch_library_get_embeddings(lib, &lm, &ids, &emb, &n, err)) != CLIPSEARCH_OK)
        goto out;
    if (n > 0 && (!(scores = malloc((size_t)n * n_labels * sizeof *scores)) ||
                  !(probs = malloc((size_t)n * n_labels * sizeof *probs)))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    if (n > 0 && (r = clipsearch_classify_embeddings(emb, n, lm.dim, classes, n_labels,
                                                     clipsearch_model_logit_scale(model),
                                                     scores, probs, err)) != CLIPSEARCH_OK)
        goto out;
    if ((r = cs_store_begin_write(st, err)) != CLIPSEARCH_OK)
        goto out;
    in_tx = 1;
    if (!p.only_untagged) {
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)lm.id);
        if ((r = exec_bind(st, "DELETE FROM tags WHERE model_id = ?1", id, NULL, err)) ||
            (r = exec_bind(st, "DELETE FROM tagged_files WHERE model_id = ?1", id, NULL, err)))
            goto out;
    }
    if (sqlite3_prepare_v2(cs_store_db(st),
                           "INSERT OR REPLACE INTO tags (model_id, file_id, tag, probability) "
                           "VALUES (?1, ?2, ?3, ?4)", -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(cs_store_db(st),
                           "INSERT OR IGNORE INTO tagged_files (model_id, file_id) VALUES (?1, ?2)",
                           -1, &mark, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(cs_store_db(st),
                           "SELECT 1 FROM tagged_files WHERE model_id = ?1 AND file_id = ?2", -1,
                           &seen, NULL) != SQLITE_OK) {
        r = cs_store_error(st, err, "storing tags");
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *pr = probs + (size_t)i * n_labels;
        if (p.only_untagged) {
            int done;
            sqlite3_bind_int64(seen, 1, lm.id);
            sqlite3_bind_int64(seen, 2, ids[i]);
            done = sqlite3_step(seen) == SQLITE_ROW;
            sqlite3_reset(seen);
            if (done)
                continue;
        }
        sum.photos++;
        for (int k = 0; k < n_vocab; k++) {
            if (!(pr[k] >= threshold))
                continue;
            sqlite3_bind_int64(ins, 1, lm.id);
            sqlite3_bind_int64(ins, 2, ids[i]);
            sqlite3_bind_text(ins, 3, labels[k], -1, SQLITE_STATIC);
            sqlite3_bind_double(ins, 4, pr[k]);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                r = cs_store_error(st, err, "storing tags");
                goto out;
            }
            sqlite3_reset(ins);
            sum.tags++;
        }
        sqlite3_bind_int64(mark, 1, lm.id);
        sqlite3_bind_int64(mark, 2, ids[i]);
        if (sqlite3_step(mark) != SQLITE_DONE) {
            r = cs_store_error(st, err, "storing tags");
            goto out;
        }
        sqlite3_reset(mark);
    }
    snprintf(thr, sizeof thr, "%.9g", threshold);
    if ((r = exec_bind(st, "INSERT OR REPLACE INTO meta (key, value) VALUES ('tag_vocabulary', ?1)",
                       setting, NULL, err)) ||
        (r = exec_bind(st, "INSERT OR REPLACE INTO meta (key, value) VALUES ('tag_threshold', ?1)",
                       thr, NULL, err)))
        goto out;
    sqlite3_finalize(ins);
    sqlite3_finalize(mark);
    sqlite3_finalize(seen);
    ins = mark = seen = NULL;
    if ((r = cs_store_commit(st, err)) != CLIPSEARCH_OK)
        goto out;
    in_tx = 0;
    sum.n_vocabulary = n_vocab;
    sum.threshold = threshold;
    if (summary)
        *summary = sum;
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(mark);
    sqlite3_finalize(seen);
    if (in_tx)
        cs_store_rollback(st);
    free(labels);
    free(classes);
    free(scores);
    free(probs);
    clipsearch_free(ids);
    clipsearch_free(emb);
    clipsearch_tokenizer_free(tok);
    clipsearch_model_free(model);
    clipsearch_string_list_free(&file_vocab);
    return r;
}

clipsearch_status clipsearch_library_tag_counts(clipsearch_library *lib,
                                                const clipsearch_library_model *model,
                                                clipsearch_tag_count **out, int *n,
                                                clipsearch_error *err)
{
    cs_store *st = cs_library_store(lib);
    sqlite3_stmt *q = NULL;
    size_t bytes = 0;
    int rows = 0;
    clipsearch_tag_count *list;
    char *text;
    clipsearch_status r;
    if (!st || !model || !out || !n)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument");
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(cs_store_db(st),
                           "SELECT tag, count(*) AS c FROM tags WHERE model_id = ?1 "
                           "GROUP BY tag ORDER BY c DESC, tag", -1, &q, NULL) != SQLITE_OK) {
        r = cs_store_error(st, err, "listing tags");
        sqlite3_finalize(q);
        return r;
    }
    sqlite3_bind_int64(q, 1, model->id);
    while (sqlite3_step(q) == SQLITE_ROW) {
        rows++;
        bytes += (size_t)sqlite3_column_bytes(q, 0) + 1;
    }
    sqlite3_reset(q);
    if (!(list = malloc((size_t)rows * sizeof *list + bytes + 1))) {
        sqlite3_finalize(q);
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    }
    text = (char *)(list + rows);
    for (int i = 0; i < rows && sqlite3_step(q) == SQLITE_ROW; i++) {
        size_t len = (size_t)sqlite3_column_bytes(q, 0);
        memcpy(text, sqlite3_column_text(q, 0), len);
        text[len] = '\0';
        list[i].tag = text;
        list[i].count = sqlite3_column_int64(q, 1);
        text += len + 1;
        (*n)++;
    }
    sqlite3_finalize(q);
    *out = list;
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_library_file_tags(
    clipsearch_library *lib, const clipsearch_library_model *model, int64_t file_id,
    int (*fn)(const char *tag, float probability, void *user), void *user,
    clipsearch_error *err)
{
    cs_store *st = cs_library_store(lib);
    sqlite3_stmt *q = NULL;
    clipsearch_status r;
    if (!st || !model || !fn)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument");
    if (sqlite3_prepare_v2(cs_store_db(st),
                           "SELECT tag, probability FROM tags WHERE model_id = ?1 AND "
                           "file_id = ?2 ORDER BY probability DESC, tag", -1, &q,
                           NULL) != SQLITE_OK) {
        r = cs_store_error(st, err, "reading tags");
        sqlite3_finalize(q);
        return r;
    }
    sqlite3_bind_int64(q, 1, model->id);
    sqlite3_bind_int64(q, 2, file_id);
    while (sqlite3_step(q) == SQLITE_ROW)
        if (fn((const char *)sqlite3_column_text(q, 0), (float)sqlite3_column_double(q, 1),
               user))
            break;
    sqlite3_finalize(q);
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_library_tagged(clipsearch_library *lib,
                                            const clipsearch_library_model *model,
                                            const char *tag, int64_t **ids, int64_t *n,
                                            clipsearch_error *err)
{
    cs_store *st = cs_library_store(lib);
    sqlite3_stmt *q = NULL;
    int64_t cap = 0, *a = NULL;
    clipsearch_status r;
    if (!st || !model || !tag || !ids || !n)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument");
    *ids = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(cs_store_db(st),
                           "SELECT file_id FROM tags WHERE model_id = ?1 AND tag = ?2 "
                           "ORDER BY file_id", -1, &q, NULL) != SQLITE_OK) {
        r = cs_store_error(st, err, "reading tags");
        sqlite3_finalize(q);
        return r;
    }
    sqlite3_bind_int64(q, 1, model->id);
    sqlite3_bind_text(q, 2, tag, -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (*n == cap) {
            int64_t *b;
            cap = cap ? cap * 2 : 64;
            if (!(b = realloc(a, (size_t)cap * sizeof *b))) {
                free(a);
                sqlite3_finalize(q);
                *n = 0;
                return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            }
            a = b;
        }
        a[(*n)++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    *ids = a;
    return CLIPSEARCH_OK;
}
