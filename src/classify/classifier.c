/* classifier.c — named probes stored in a library (the classifiers and
 * classifier_examples tables of schema/0003_classifiers.sql), training one
 * from photo and folder paths, and ranking a library by one
 * (clipsearch/probe.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clipsearch/model.h"
#include "clipsearch/probe.h"
#include "error.h"
#include "library_internal.h"
#include "prior.h"
#include "store.h"

static clipsearch_status oom(clipsearch_error *err)
{
    return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
}

static clipsearch_status check_name(const char *name, clipsearch_error *err)
{
    size_t n;
    if (!name || !*name)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "a classifier needs a name");
    n = strlen(name);
    if (n >= CLIPSEARCH_CLASSIFIER_NAME_MAX)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "classifier name too long (%zu bytes, at most %d)", n,
                            CLIPSEARCH_CLASSIFIER_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                "classifier name has a control character");
    return CLIPSEARCH_OK;
}

static clipsearch_status prepare(cs_store *st, const char *sql, sqlite3_stmt **out,
                                 clipsearch_error *err)
{
    if (sqlite3_prepare_v2(cs_store_db(st), sql, -1, out, NULL) != SQLITE_OK) {
        *out = NULL;
        return cs_store_error(st, err, "preparing a classifier statement");
    }
    return CLIPSEARCH_OK;
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

#define INFO_COLUMNS                                                                        \
    "c.id, c.name, c.model_id, m.name, m.fingerprint, c.dim, c.n_positive, c.n_negative,"  \
    " c.random_negatives, c.c, c.cv_folds, c.cv_accuracy, c.cv_log_loss, c.prior_text,"   \
    " c.prior_scale, c.created_at, c.weights, c.bias"
#define INFO_FROM " FROM classifiers c JOIN models m ON m.id = c.model_id"

static void row_to_info(sqlite3_stmt *q, clipsearch_classifier_info *info)
{
    memset(info, 0, sizeof *info);
    copy_col(info->name, sizeof info->name, q, 1);
    info->model_id = sqlite3_column_int64(q, 2);
    copy_col(info->model_name, sizeof info->model_name, q, 3);
    copy_col(info->model_fingerprint, sizeof info->model_fingerprint, q, 4);
    info->dim = sqlite3_column_int(q, 5);
    info->n_positive = sqlite3_column_int(q, 6);
    info->n_negative = sqlite3_column_int(q, 7);
    info->random_negatives = sqlite3_column_int(q, 8);
    info->C = sqlite3_column_double(q, 9);
    info->cv_folds = sqlite3_column_int(q, 10);
    info->cv_accuracy = sqlite3_column_type(q, 11) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 11);
    info->cv_log_loss = sqlite3_column_type(q, 12) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 12);
    copy_col(info->prior_text, sizeof info->prior_text, q, 13);
    info->prior_scale = sqlite3_column_double(q, 14);
    info->created_at = sqlite3_column_int64(q, 15);
}

/* "a, b, c" of the stored names, or "" when there are none. */
static void stored_names(cs_store *st, char *buf, size_t size)
{
    sqlite3_stmt *q = NULL;
    size_t at = 0;
    buf[0] = '\0';
    if (prepare(st, "SELECT name FROM classifiers ORDER BY name", &q, NULL) != CLIPSEARCH_OK)
        return;
    while (sqlite3_step(q) == SQLITE_ROW && at + 1 < size)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", at ? ", " : "",
                               (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
}

static clipsearch_status not_found(cs_store *st, const char *name, clipsearch_error *err)
{
    char names[600];
    stored_names(st, names, sizeof names);
    if (names[0])
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                            "no classifier named '%s' (the library has: %s)", name, names);
    return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                        "no classifier named '%s': the library has none (make one with "
                        "clipsearch learn NAME --positive PHOTO...)",
                        name);
}

clipsearch_status clipsearch_classifier_save(clipsearch_library *lib,
                                             const clipsearch_library_model *model,
                                             const char *name, const clipsearch_probe *probe,
                                             const char *prior_text, double prior_scale,
                                             int random_negatives,
                                             const clipsearch_classifier_example *examples,
                                             int n_examples, int replace,
                                             clipsearch_error *err)
{
    cs_store *st;
    sqlite3_stmt *q = NULL;
    clipsearch_status r;
    int64_t id;
    if (!lib || !model || !probe || (n_examples > 0 && !examples) || n_examples < 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "NULL argument to clipsearch_classifier_save");
    if ((r = check_name(name, err)) != CLIPSEARCH_OK)
        return r;
    if (probe->dim != model->dim || !probe->weights)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "the probe has dimension %d, the model %s %d", probe->dim,
                            model->name, model->dim);
    st = cs_library_store(lib);
    if (cs_store_read_only(st))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "%s: the library was opened read-only", clipsearch_library_path(lib));
    if ((r = cs_store_begin_write(st, err)) != CLIPSEARCH_OK)
        return r;
    if ((r = prepare(st, "SELECT id FROM classifiers WHERE name = ?1", &q, err)) != CLIPSEARCH_OK)
        goto out;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) {
        if (!replace) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                             "a classifier named '%s' exists already (replace it with "
                             "--force, or remove it with clipsearch forget %s)",
                             name, name);
            goto out;
        }
        sqlite3_finalize(q);
        q = NULL;
        if ((r = prepare(st, "DELETE FROM classifiers WHERE name = ?1", &q, err)) !=
            CLIPSEARCH_OK)
            goto out;
        sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) != SQLITE_DONE) {
            r = cs_store_error(st, err, "replacing a classifier");
            goto out;
        }
    }
    sqlite3_finalize(q);
    q = NULL;
    if ((r = prepare(st,
                     "INSERT INTO classifiers(name, model_id, dim, weights, bias, c, cv_folds,"
                     " cv_accuracy, cv_log_loss, prior_text, prior_scale, n_positive,"
                     " n_negative, random_negatives, created_at)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                     &q, err)) != CLIPSEARCH_OK)
        goto out;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, model->id);
    sqlite3_bind_int(q, 3, probe->dim);
    sqlite3_bind_blob(q, 4, probe->weights, probe->dim * (int)sizeof(double), SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 5, probe->bias);
    sqlite3_bind_double(q, 6, probe->C);
    sqlite3_bind_int(q, 7, probe->cv_folds);
    if (probe->cv_folds > 0 && isfinite(probe->cv_accuracy)) {
        sqlite3_bind_double(q, 8, probe->cv_accuracy);
        sqlite3_bind_double(q, 9, probe->cv_log_loss);
    }
    if (prior_text && *prior_text) {
        sqlite3_bind_text(q, 10, prior_text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(q, 11, prior_scale);
    }
    sqlite3_bind_int(q, 12, probe->n_positive);
    sqlite3_bind_int(q, 13, probe->n_negative);
    sqlite3_bind_int(q, 14, random_negatives ? 1 : 0);
    sqlite3_bind_int64(q, 15, (int64_t)time(NULL));
    if (sqlite3_step(q) != SQLITE_DONE) {
        r = cs_store_error(st, err, "storing a classifier");
        goto out;
    }
    id = sqlite3_last_insert_rowid(cs_store_db(st));
    sqlite3_finalize(q);
    q = NULL;
    if ((r = prepare(st,
                     "INSERT INTO classifier_examples(classifier_id, file_id, path, label)"
                     " VALUES(?1, ?2, ?3, ?4)",
                     &q, err)) != CLIPSEARCH_OK)
        goto out;
    for (int i = 0; i < n_examples; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, id);
        if (examples[i].file_id > 0)
            sqlite3_bind_int64(q, 2, examples[i].file_id);
        else
            sqlite3_bind_null(q, 2);
        sqlite3_bind_text(q, 3, examples[i].path ? examples[i].path : "", -1,
                          SQLITE_TRANSIENT);
        sqlite3_bind_int(q, 4, examples[i].label ? 1 : 0);
        if (sqlite3_step(q) != SQLITE_DONE) {
            r = cs_store_error(st, err, "storing a classifier's training set");
            goto out;
        }
    }
    sqlite3_finalize(q);
    q = NULL;
    r = cs_store_commit(st, err);
out:
    sqlite3_finalize(q);
    cs_store_rollback(st);
    return r;
}

clipsearch_status clipsearch_classifier_load(clipsearch_library *lib, const char *name,
                                             clipsearch_probe **probe,
                                             clipsearch_classifier_info *info,
                                             clipsearch_error *err)
{
    cs_store *st;
    sqlite3_stmt *q = NULL;
    clipsearch_classifier_info local;
    clipsearch_probe *p = NULL;
    clipsearch_status r;
    int rc;
    if (probe)
        *probe = NULL;
    if (!lib || !name)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "NULL argument to clipsearch_classifier_load");
    if (!info)
        info = &local;
    st = cs_library_store(lib);
    if ((r = prepare(st, "SELECT " INFO_COLUMNS INFO_FROM " WHERE c.name = ?1", &q, err)) !=
        CLIPSEARCH_OK)
        return r;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        r = not_found(st, name, err);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        r = cs_store_error(st, err, "reading a classifier");
        goto out;
    }
    row_to_info(q, info);
    if (info->dim <= 0 || sqlite3_column_bytes(q, 16) != info->dim * (int)sizeof(double) ||
        !isfinite(sqlite3_column_double(q, 17))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                         "%s: classifier '%s' is damaged (%d weight bytes for dimension %d)",
                         cs_store_path(st), name, sqlite3_column_bytes(q, 16), info->dim);
        goto out;
    }
    if (probe) {
        if (!(p = calloc(1, sizeof *p)) ||
            !(p->weights = malloc((size_t)info->dim * sizeof *p->weights))) {
            r = oom(err);
            goto out;
        }
        memcpy(p->weights, sqlite3_column_blob(q, 16), (size_t)info->dim * sizeof *p->weights);
        for (int j = 0; j < info->dim; j++)
            if (!isfinite(p->weights[j])) {
                r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                                 "%s: classifier '%s' has non-finite weights",
                                 cs_store_path(st), name);
                goto out;
            }
        p->dim = info->dim;
        p->bias = sqlite3_column_double(q, 17);
        p->C = info->C;
        p->cv_folds = info->cv_folds;
        p->cv_accuracy = info->cv_accuracy;
        p->cv_log_loss = info->cv_log_loss;
        p->n_positive = info->n_positive;
        p->n_negative = info->n_negative;
        p->converged = 1;
        *probe = p;
        p = NULL;
    }
out:
    sqlite3_finalize(q);
    clipsearch_probe_free(p);
    return r;
}

clipsearch_status clipsearch_classifier_list(clipsearch_library *lib,
                                             clipsearch_classifier_info **infos, int *n,
                                             clipsearch_error *err)
{
    cs_store *st;
    sqlite3_stmt *q = NULL;
    clipsearch_classifier_info *v = NULL;
    int len = 0, cap = 0, rc;
    clipsearch_status r;
    if (!lib || !infos || !n)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "NULL argument to clipsearch_classifier_list");
    *infos = NULL;
    *n = 0;
    st = cs_library_store(lib);
    if ((r = prepare(st, "SELECT " INFO_COLUMNS INFO_FROM " ORDER BY c.name", &q, err)) !=
        CLIPSEARCH_OK)
        return r;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (len == cap) {
            int nc = cap ? cap * 2 : 16;
            clipsearch_classifier_info *nv = realloc(v, (size_t)nc * sizeof *nv);
            if (!nv) {
                r = oom(err);
                goto out;
            }
            v = nv;
            cap = nc;
        }
        row_to_info(q, &v[len++]);
    }
    if (rc != SQLITE_DONE) {
        r = cs_store_error(st, err, "listing classifiers");
        goto out;
    }
    *infos = v;
    *n = len;
    v = NULL;
out:
    sqlite3_finalize(q);
    free(v);
    return r;
}

clipsearch_status clipsearch_classifier_examples(
    clipsearch_library *lib, const char *name,
    int (*fn)(int64_t file_id, const char *path, int label, void *user), void *user,
    clipsearch_error *err)
{
    cs_store *st;
    sqlite3_stmt *q = NULL;
    clipsearch_status r;
    int rc;
    if (!lib || !name || !fn)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "NULL argument to clipsearch_classifier_examples");
    st = cs_library_store(lib);
    if ((r = clipsearch_classifier_load(lib, name, NULL, NULL, err)) != CLIPSEARCH_OK)
        return r;
    if ((r = prepare(st,
                     "SELECT e.file_id, e.path, e.label FROM classifier_examples e"
                     " JOIN classifiers c ON c.id = e.classifier_id WHERE c.name = ?1"
                     " ORDER BY e.label DESC, e.path",
                     &q, err)) != CLIPSEARCH_OK)
        return r;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
               sqlite3_column_int(q, 2), user))
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = cs_store_error(st, err, "reading a training set");
    sqlite3_finalize(q);
    return r;
}

clipsearch_status clipsearch_classifier_delete(clipsearch_library *lib, const char *name,
                                               clipsearch_error *err)
{
    cs_store *st;
    sqlite3_stmt *q = NULL;
    clipsearch_status r;
    if (!lib || !name)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "NULL argument to clipsearch_classifier_delete");
    st = cs_library_store(lib);
    if (cs_store_read_only(st))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "%s: the library was opened read-only", clipsearch_library_path(lib));
    if ((r = prepare(st, "DELETE FROM classifiers WHERE name = ?1", &q, err)) != CLIPSEARCH_OK)
        return r;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        r = cs_store_error(st, err, "removing a classifier");
    else if (sqlite3_changes(cs_store_db(st)) == 0)
        r = not_found(st, name, err);
    sqlite3_finalize(q);
    return r;
}

/* ---- learning from paths ------------------------------------------------------- */

clipsearch_learn_params clipsearch_learn_default_params(void)
{
    clipsearch_learn_params p;
    memset(&p, 0, sizeof p);
    p.probe = clipsearch_probe_default_params();
    p.negative_seed = 1;
    return p;
}

typedef struct example {
    char *path;
    int64_t file_id;
    int label;
    float *vec; /* [dim] */
} example;

typedef struct example_set {
    example *v;
    int n, cap;
} example_set;

static void examples_free(example_set *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->v[i].path);
        free(s->v[i].vec);
    }
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static example *examples_add(example_set *s, const char *path, int64_t file_id, int label,
                             int dim)
{
    example *e;
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 64;
        example *nv = realloc(s->v, (size_t)nc * sizeof *nv);
        if (!nv)
            return NULL;
        s->v = nv;
        s->cap = nc;
    }
    e = &s->v[s->n];
    e->path = strdup(path);
    e->vec = malloc((size_t)dim * sizeof *e->vec);
    e->file_id = file_id;
    e->label = label;
    if (!e->path || !e->vec) {
        free(e->path);
        free(e->vec);
        return NULL;
    }
    s->n++;
    return e;
}

/* Adds the photo or folder `arg` with `label`. */
static clipsearch_status add_path(clipsearch_searcher *s, cs_store *st, const char *arg,
                                  int label, example_set *set, clipsearch_error *err)
{
    const clipsearch_library_model *model = clipsearch_searcher_model(s);
    const char *what = label ? "positive" : "negative";
    char real[PATH_MAX];
    struct stat sb;
    cs_file_row *rows = NULL;
    size_t n = 0, used = 0;
    clipsearch_status r;
    if (!realpath(arg, real) || stat(real, &sb) != 0)
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND, "%s %s: %s", what, arg,
                            strerror(errno));
    if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "%s %s: neither a photo nor a folder", what, arg);
    if ((r = cs_store_files_under(st, real, model->id, &rows, &n, err)) != CLIPSEARCH_OK)
        return r;
    if (S_ISDIR(sb.st_mode)) {
        for (size_t i = 0; i < n; i++) {
            example *e;
            if (!rows[i].has_embedding || rows[i].has_error)
                continue;
            if (!(e = examples_add(set, rows[i].path, rows[i].id, label, model->dim))) {
                r = oom(err);
                goto out;
            }
            if ((r = cs_store_embedding_get(st, rows[i].id, model->id, e->vec, model->dim,
                                            err)) != CLIPSEARCH_OK)
                goto out;
            used++;
        }
        if (used == 0)
            r = cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                             "%s %s: no photo under this folder is in the library (index it "
                             "first: clipsearch-index %s)",
                             what, arg, arg);
        goto out;
    }
    {
        /* A photo: its stored embedding, else decoded and embedded. */
        int64_t id = 0;
        int stored = 0;
        example *e;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(rows[i].path, real)) {
                id = rows[i].id;
                stored = rows[i].has_embedding && !rows[i].has_error;
            }
        if (!(e = examples_add(set, real, id, label, model->dim))) {
            r = oom(err);
            goto out;
        }
        if (stored) {
            r = cs_store_embedding_get(st, id, model->id, e->vec, model->dim, err);
        } else {
            clipsearch_query_term t = {CLIPSEARCH_TERM_IMAGE, real, 1.0f};
            r = clipsearch_searcher_embed(s, &t, 1, e->vec, err);
            if (r != CLIPSEARCH_OK) {
                if (r != CLIPSEARCH_ERR_MODEL && r != CLIPSEARCH_ERR_OUT_OF_MEMORY)
                    cs_error_prefix(err, "%s %s: not in the library and it cannot be read "
                                         "as a photo",
                                    what, arg);
                goto out;
            }
        }
    }
out:
    cs_file_rows_free(rows, n);
    return r;
}

static int cmp_example_path(const void *a, const void *b)
{
    const example *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : y->label - x->label;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Adds `want` random library photos (with embeddings, no error, not in
 * exclude[n_ex] sorted) as negatives; *got: how many there were. */
static clipsearch_status add_random_negatives(cs_store *st, const clipsearch_library_model *model,
                                              const int64_t *exclude, int n_ex, int want,
                                              uint64_t seed, example_set *set, int *got,
                                              clipsearch_error *err)
{
    sqlite3_stmt *q = NULL, *pq = NULL;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    clipsearch_status r;
    int rc;
    *got = 0;
    if ((r = prepare(st,
                     "SELECT e.file_id FROM embeddings e JOIN files f ON f.id = e.file_id"
                     " WHERE e.model_id = ?1 AND f.error IS NULL ORDER BY e.file_id",
                     &q, err)) != CLIPSEARCH_OK)
        return r;
    sqlite3_bind_int64(q, 1, model->id);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        if (n_ex > 0 && bsearch(&id, exclude, (size_t)n_ex, sizeof *exclude, cmp_i64))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            int64_t *ni = realloc(ids, nc * sizeof *ni);
            if (!ni) {
                r = oom(err);
                goto out;
            }
            ids = ni;
            cap = nc;
        }
        ids[n++] = id;
    }
    if (rc != SQLITE_DONE) {
        r = cs_store_error(st, err, "listing photos");
        goto out;
    }
    if ((size_t)want > n)
        want = (int)n;
    /* The first `want` of a seeded Fisher-Yates shuffle. */
    for (int i = 0; i < want; i++) {
        size_t j = (size_t)i + (size_t)(splitmix64(&seed) % (uint64_t)(n - (size_t)i));
        int64_t t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    if ((r = prepare(st, "SELECT path FROM files WHERE id = ?1", &pq, err)) != CLIPSEARCH_OK)
        goto out;
    for (int i = 0; i < want; i++) {
        example *e;
        sqlite3_reset(pq);
        sqlite3_bind_int64(pq, 1, ids[i]);
        if (sqlite3_step(pq) != SQLITE_ROW) {
            r = cs_store_error(st, err, "reading a photo's path");
            goto out;
        }
        if (!(e = examples_add(set, (const char *)sqlite3_column_text(pq, 0), ids[i], 0,
                               model->dim))) {
            r = oom(err);
            goto out;
        }
        if ((r = cs_store_embedding_get(st, ids[i], model->id, e->vec, model->dim, err)) !=
            CLIPSEARCH_OK)
            goto out;
    }
    *got = want;
out:
    sqlite3_finalize(q);
    sqlite3_finalize(pq);
    free(ids);
    return r;
}

clipsearch_status clipsearch_searcher_learn(clipsearch_searcher *s, const char *name,
                                            const char *const *positives, int n_pos,
                                            const char *const *negatives, int n_neg,
                                            const clipsearch_learn_params *params,
                                            clipsearch_classifier_info *info,
                                            clipsearch_error *err)
{
    clipsearch_learn_params dp = clipsearch_learn_default_params();
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library *lib = NULL;
    const clipsearch_library_model *model;
    example_set set = {0};
    clipsearch_probe_params pp;
    clipsearch_probe *probe = NULL;
    clipsearch_classifier_example *ex = NULL;
    float *x = NULL, *prior = NULL;
    int *labels = NULL, have_pos = 0, have_neg = 0, random_neg = 0, k = 0;
    int64_t *pos_ids = NULL;
    double prior_scale = 0;
    cs_store *st;
    clipsearch_status r;
    if (!s || !name)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "NULL argument to clipsearch_searcher_learn");
    if (!params)
        params = &dp;
    if ((r = check_name(name, err)) != CLIPSEARCH_OK)
        return r;
    if (n_pos <= 0 || !positives)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "classifier '%s': no positive examples (give photos or folders "
                            "with --positive)",
                            name);
    if (params->like && !params->like[strspn(params->like, " \t\n")])
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "the --like text is empty");
    model = clipsearch_searcher_model(s);
    if ((r = clipsearch_library_open(clipsearch_library_path(clipsearch_searcher_library(s)),
                                     &lp, &lib, err)) != CLIPSEARCH_OK)
        return r;
    st = cs_library_store(lib);
    if (!params->replace) {
        clipsearch_classifier_info old;
        clipsearch_error e2 = {0};
        clipsearch_status lr = clipsearch_classifier_load(lib, name, NULL, &old, &e2);
        if (lr == CLIPSEARCH_OK) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                             "a classifier named '%s' exists already (replace it with "
                             "--force, or remove it with clipsearch forget %s)",
                             name, name);
            goto out;
        }
        if (lr != CLIPSEARCH_ERR_NOT_FOUND) {
            r = lr;
            if (err)
                *err = e2;
            goto out;
        }
    }
    for (int i = 0; i < n_pos; i++)
        if ((r = add_path(s, st, positives[i], 1, &set, err)) != CLIPSEARCH_OK)
            goto out;
    for (int i = 0; i < n_neg && negatives; i++)
        if ((r = add_path(s, st, negatives[i], 0, &set, err)) != CLIPSEARCH_OK)
            goto out;
    /* One entry per photo: repeats of one label merge, both labels are an error. */
    qsort(set.v, (size_t)set.n, sizeof *set.v, cmp_example_path);
    for (int i = 0; i < set.n; i++) {
        if (k > 0 && !strcmp(set.v[k - 1].path, set.v[i].path)) {
            if (set.v[k - 1].label != set.v[i].label) {
                r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                 "%s is both a positive and a negative example", set.v[i].path);
                goto out;
            }
            free(set.v[i].path);
            free(set.v[i].vec);
            continue;
        }
        set.v[k++] = set.v[i];
    }
    set.n = k;
    for (int i = 0; i < set.n; i++) {
        if (set.v[i].label)
            have_pos++;
        else
            have_neg++;
    }
    if (have_neg == 0) {
        int want = params->n_random_negatives, got = 0, n_ids = 0;
        if (want <= 0) {
            want = 10 * have_pos;
            want = want < 100 ? 100 : want > 1000 ? 1000 : want;
        }
        if (!(pos_ids = malloc((size_t)set.n * sizeof *pos_ids))) {
            r = oom(err);
            goto out;
        }
        for (int i = 0; i < set.n; i++)
            if (set.v[i].file_id > 0)
                pos_ids[n_ids++] = set.v[i].file_id;
        qsort(pos_ids, (size_t)n_ids, sizeof *pos_ids, cmp_i64);
        if ((r = add_random_negatives(st, model, pos_ids, n_ids, want, params->negative_seed,
                                      &set, &got, err)) != CLIPSEARCH_OK)
            goto out;
        if (got == 0) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                             "classifier '%s': no negative examples: the library has no "
                             "photos besides the positives (give some with --negative)",
                             name);
            goto out;
        }
        have_neg = got;
        random_neg = 1;
    }
    x = malloc((size_t)set.n * (size_t)model->dim * sizeof *x);
    labels = malloc((size_t)set.n * sizeof *labels);
    ex = malloc((size_t)set.n * sizeof *ex);
    if (!x || !labels || !ex) {
        r = oom(err);
        goto out;
    }
    for (int i = 0; i < set.n; i++) {
        memcpy(x + (size_t)i * model->dim, set.v[i].vec, (size_t)model->dim * sizeof *x);
        labels[i] = set.v[i].label;
        ex[i].file_id = set.v[i].file_id;
        ex[i].path = set.v[i].path;
        ex[i].label = set.v[i].label;
    }
    pp = params->probe;
    pp.prior = NULL;
    if (params->like) {
        if (!(prior = malloc((size_t)model->dim * sizeof *prior))) {
            r = oom(err);
            goto out;
        }
        if ((r = cs_prior_vector(s, params->like, params->vocab, prior, &prior_scale, err)) != CLIPSEARCH_OK)
            goto out;
        if (params->prior_scale > 0)
            prior_scale = params->prior_scale;
        for (int j = 0; j < model->dim; j++)
            prior[j] *= (float)prior_scale;
        pp.prior = prior;
    }
    if ((r = clipsearch_probe_train(x, labels, set.n, model->dim, &pp, &probe, err)) !=
        CLIPSEARCH_OK)
        goto out;
    if ((r = clipsearch_classifier_save(lib, model, name, probe, params->like, prior_scale,
                                        random_neg, ex, set.n, params->replace, err)) !=
        CLIPSEARCH_OK)
        goto out;
    if (info)
        r = clipsearch_classifier_load(lib, name, NULL, info, err);
out:
    examples_free(&set);
    clipsearch_probe_free(probe);
    clipsearch_library_close(lib);
    free(x);
    free(labels);
    free(ex);
    free(prior);
    free(pos_ids);
    return r;
}

/* ---- ranking a library -------------------------------------------------------------- */

typedef struct ranked {
    float logit;
    int64_t index;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

clipsearch_status clipsearch_searcher_rank(clipsearch_searcher *s, const char *name,
                                           const clipsearch_search_params *params,
                                           clipsearch_search_results **out,
                                           clipsearch_error *err)
{
    clipsearch_search_params dp = clipsearch_search_default_params();
    const clipsearch_library_model *model;
    clipsearch_library *lib;
    clipsearch_classifier_info info;
    clipsearch_probe *probe = NULL;
    clipsearch_search_results *res = NULL;
    sqlite3_stmt *q = NULL;
    int64_t *ids = NULL, n = 0;
    float *vecs = NULL, *logits = NULL;
    ranked *order = NULL;
    cs_store *st;
    clipsearch_status r;
    if (!s || !name || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "NULL argument to clipsearch_searcher_rank");
    *out = NULL;
    if (!params)
        params = &dp;
    if (params->limit <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "limit must be positive");
    model = clipsearch_searcher_model(s);
    lib = clipsearch_searcher_library(s);
    st = cs_library_store(lib);
    if ((r = cs_store_begin_read(st, err)) != CLIPSEARCH_OK)
        return r;
    if ((r = clipsearch_classifier_load(lib, name, &probe, &info, err)) != CLIPSEARCH_OK)
        goto out;
    if (info.model_id != model->id || probe->dim != model->dim) {
        r = cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                         "classifier '%s' was trained with the model %s (fingerprint %.12s), "
                         "not with %s (fingerprint %.12s) that this search uses: pass "
                         "--model with that model, or learn the classifier again",
                         name, info.model_name, info.model_fingerprint, model->name,
                         model->fingerprint);
        goto out;
    }
    if ((r = clipsearch_library_get_embeddings(lib, model, &ids, &vecs, &n, err)) !=
        CLIPSEARCH_OK)
        goto out;
    logits = malloc((size_t)(n > 0 ? n : 1) * sizeof *logits);
    order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    res = calloc(1, sizeof *res);
    if (!logits || !order || !res ||
        !(res->items = calloc((size_t)params->limit, sizeof *res->items))) {
        r = oom(err);
        goto out;
    }
    clipsearch_probe_apply(probe, vecs, n, logits, NULL);
    for (int64_t i = 0; i < n; i++) {
        order[i].logit = logits[i];
        order[i].index = i;
    }
    qsort(order, (size_t)n, sizeof *order, cmp_ranked);
    if ((r = prepare(st, "SELECT path, width, height, taken FROM files WHERE id = ?1", &q,
                     err)) != CLIPSEARCH_OK)
        goto out;
    for (int64_t i = 0; i < n && res->n < params->limit; i++) {
        double z = order[i].logit;
        float prob = (float)(z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)));
        int kept, rc;
        if (prob < params->min_score)
            break;
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, ids[order[i].index]);
        if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
            if (rc == SQLITE_DONE)
                continue;
            r = cs_store_error(cs_library_store(lib), err, "reading a result");
            goto out;
        }
        kept = cs_library_result_from_row(q, params, ids[order[i].index], prob,
                                          &res->items[res->n], err);
        if (kept < 0) {
            r = CLIPSEARCH_ERR_OUT_OF_MEMORY;
            goto out;
        }
        res->n += kept;
    }
    *out = res;
    res = NULL;
out:
    sqlite3_finalize(q);
    cs_store_rollback(st);
    clipsearch_search_results_free(res);
    clipsearch_probe_free(probe);
    free(ids);
    free(vecs);
    free(logits);
    free(order);
    return r;
}
