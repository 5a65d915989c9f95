/* check.c — `clipsearch check`: verifies a library and repairs what can be
 * repaired (clipsearch_library_check in clipsearch/library.h).
 *
 * Two phases.  The database phase works on its own SQLite connection (a
 * library handle would refuse a damaged schema at open): integrity_check,
 * schema version and objects, roots and photos on disk, embeddings, rows
 * pointing at nothing; with repair, one write transaction fixes what it
 * found.  The vector index phase then opens an ordinary library handle:
 * each model's file is read and verified against the database, and with
 * repair rebuilt through clipsearch_library_sync_index. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "error.h"
#include "library_internal.h"
#include "store.h"
#include "vindex.h"

#define DB_NAME "library.sqlite3"
#define MAX_SAMPLES 64

clipsearch_check_params clipsearch_check_default_params(void)
{
    clipsearch_check_params p;
    memset(&p, 0, sizeof p);
    p.check_files = 1;
    return p;
}

typedef struct checker {
    const clipsearch_check_params *p;
    clipsearch_check_report *rep;
    int worst;        /* highest severity seen (-1: none) */
    char dir[PATH_MAX];
    char db[PATH_MAX + 32];
    cs_store *s;
    /* rows the repair removes */
    int64_t *gone_files;
    size_t n_gone, cap_gone;
    int64_t (*bad_emb)[2]; /* (file_id, model_id) */
    size_t n_bad, cap_bad;
    char **create_sql;     /* dropped indexes' CREATE statements */
    size_t n_create, cap_create;
    int integrity_index_only; /* every integrity_check message is about an index */
    int n_integrity;
} checker;

static void finding(checker *C, clipsearch_check_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finding(checker *C, clipsearch_check_severity sev, const char *fmt, ...)
{
    char msg[CLIPSEARCH_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if ((int)sev > C->worst) {
        C->worst = (int)sev;
        snprintf(C->rep->message, sizeof C->rep->message, "%s", msg);
    }
    if (C->p->report)
        C->p->report(sev, msg, C->p->user);
}

static clipsearch_check_severity fixable(const checker *C)
{
    return C->p->repair ? CLIPSEARCH_CHECK_REPAIRED : CLIPSEARCH_CHECK_REPAIRABLE;
}

static clipsearch_status oom(clipsearch_error *err)
{
    return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
}

static int64_t count_rows(cs_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(cs_store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* ---- the database phase --------------------------------------------------- */

static int on_integrity(const char *message, void *user)
{
    checker *C = user;
    C->n_integrity++;
    if (!strstr(message, " index "))
        C->integrity_index_only = 0;
    finding(C, CLIPSEARCH_CHECK_NOTE, "integrity_check: %s", message);
    return 0;
}

typedef struct missing_ctx {
    checker *C;
    int tables;
    clipsearch_status r;
} missing_ctx;

static int on_missing(const char *type, const char *name, const char *sql, void *user)
{
    missing_ctx *M = user;
    checker *C = M->C;
    char *copy;
    if (!strcmp(type, "table")) {
        M->tables++;
        finding(C, CLIPSEARCH_CHECK_DAMAGE,
                "%s: table '%s' is missing: what it held is lost (restore a backup, or move "
                "the library away and index again)",
                C->db, name);
        return 0;
    }
    C->rep->missing_indexes++;
    finding(C, fixable(C), "%s: index '%s' is missing%s", C->db, name,
            C->p->repair ? ": recreated" : " (--repair recreates it)");
    if (!cs_array_reserve(&C->create_sql, &C->cap_create, C->n_create, sizeof *C->create_sql,
                          4) ||
        !(copy = strdup(sql ? sql : ""))) {
        M->r = CLIPSEARCH_ERR_OUT_OF_MEMORY;
        return 1;
    }
    C->create_sql[C->n_create++] = copy;
    return 0;
}

/* Root folders; *missing gets a malloc'd array of the vanished ones. */
static clipsearch_status check_roots(checker *C, char ***missing, size_t *n_missing,
                                     clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;
    struct stat sb;
    *missing = NULL;
    *n_missing = 0;
    if (sqlite3_prepare_v2(cs_store_db(C->s), "SELECT path FROM roots ORDER BY path", -1, &st,
                           NULL) != SQLITE_OK)
        return cs_store_error(C->s, err, "reading the roots");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(st, 0);
        C->rep->roots++;
        if (!path || stat(path, &sb) == 0 || errno != ENOENT)
            continue;
        C->rep->missing_roots++;
        finding(C, CLIPSEARCH_CHECK_NOTE,
                "folder %s no longer exists: its photos are kept (an unmounted disk?); "
                "they go when an indexing run finds the folder without them",
                path);
        if (!cs_array_reserve(missing, &cap, *n_missing, sizeof **missing, 4) ||
            !((*missing)[*n_missing] = strdup(path))) {
            sqlite3_finalize(st);
            return oom(err);
        }
        ++*n_missing;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return cs_store_error(C->s, err, "reading the roots");
    return CLIPSEARCH_OK;
}

static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/' || !strcmp(dir, "/"));
}

static clipsearch_status check_files(checker *C, clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    char **gone_roots = NULL;
    size_t n_gone_roots = 0;
    int64_t shown = 0;
    int rc;
    clipsearch_status r = check_roots(C, &gone_roots, &n_gone_roots, err);
    if (r != CLIPSEARCH_OK)
        goto out;
    C->rep->files = count_rows(C->s, "SELECT count(*) FROM files");
    if (!C->p->check_files)
        goto out;
    if (sqlite3_prepare_v2(cs_store_db(C->s), "SELECT id, path FROM files ORDER BY path", -1,
                           &st, NULL) != SQLITE_OK) {
        r = cs_store_error(C->s, err, "reading the files");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(st, 1);
        struct stat sb;
        int kept = 0;
        if (!path || lstat(path, &sb) == 0 || errno != ENOENT)
            continue;
        for (size_t i = 0; i < n_gone_roots && !kept; i++)
            kept = under(path, gone_roots[i]);
        if (kept)
            continue;
        C->rep->missing_files++;
        if (!cs_array_reserve(&C->gone_files, &C->cap_gone, C->n_gone, sizeof *C->gone_files,
                              64)) {
            r = oom(err);
            goto out;
        }
        C->gone_files[C->n_gone++] = sqlite3_column_int64(st, 0);
        if (shown++ < 20)
            finding(C, fixable(C), "%s no longer exists%s", path,
                    C->p->repair ? ": removed from the library" : " (--repair removes it)");
    }
    if (rc != SQLITE_DONE) {
        r = cs_store_error(C->s, err, "reading the files");
        goto out;
    }
    if (shown > 20)
        finding(C, fixable(C), "... and %lld more photos that no longer exist",
                (long long)(shown - 20));
out:
    sqlite3_finalize(st);
    for (size_t i = 0; i < n_gone_roots; i++)
        free(gone_roots[i]);
    free(gone_roots);
    return r;
}

/* 1 when blob is dim finite floats of L2 norm ~1 (embeddings are stored
 * normalised, so flipped bytes almost always break the norm). */
static int valid_vector(const void *blob, int bytes, int dim)
{
    double n2 = 0;
    if (dim <= 0 || bytes != dim * (int)sizeof(float) || !blob)
        return 0;
    for (int i = 0; i < dim; i++) {
        float x;
        memcpy(&x, (const char *)blob + (size_t)i * sizeof x, sizeof x);
        if (!isfinite(x))
            return 0;
        n2 += (double)x * x;
    }
    return fabs(sqrt(n2) - 1.0) < 1e-2;
}

static clipsearch_status check_embeddings(checker *C, clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    int64_t shown = 0;
    int rc;
    /* No INDEXED BY here: a dropped index must not stop the check. */
    if (sqlite3_prepare_v2(cs_store_db(C->s),
                           "SELECT e.file_id, e.model_id, m.dim, e.vector, f.path,"
                           " f.id IS NULL, m.id IS NULL FROM embeddings e"
                           " LEFT JOIN models m ON m.id = e.model_id"
                           " LEFT JOIN files f ON f.id = e.file_id",
                           -1, &st, NULL) != SQLITE_OK)
        return cs_store_error(C->s, err, "reading the embeddings");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t file_id = sqlite3_column_int64(st, 0), model_id = sqlite3_column_int64(st, 1);
        int no_file = sqlite3_column_int(st, 5), no_model = sqlite3_column_int(st, 6);
        const void *blob = sqlite3_column_blob(st, 3);
        int bytes = sqlite3_column_bytes(st, 3);
        C->rep->embeddings++;
        if (no_file || no_model) {
            C->rep->orphan_rows++;
        } else if (!valid_vector(blob, bytes, sqlite3_column_int(st, 2))) {
            C->rep->bad_embeddings++;
            if (shown++ < 20)
                finding(C, fixable(C),
                        "the embedding of %s (model %lld) is not a valid vector (%d bytes for "
                        "dimension %d, or not finite, or not normalised)%s",
                        (const char *)sqlite3_column_text(st, 4), (long long)model_id, bytes,
                        sqlite3_column_int(st, 2),
                        C->p->repair ? ": removed; the next indexing run embeds the photo again"
                                     : " (--repair removes it; the next indexing run embeds "
                                       "the photo again)");
        } else {
            continue;
        }
        if (!cs_array_reserve(&C->bad_emb, &C->cap_bad, C->n_bad, sizeof *C->bad_emb, 64)) {
            sqlite3_finalize(st);
            return oom(err);
        }
        C->bad_emb[C->n_bad][0] = file_id;
        C->bad_emb[C->n_bad][1] = model_id;
        C->n_bad++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return cs_store_error(C->s, err, "reading the embeddings");
    if (shown > 20)
        finding(C, fixable(C), "... and %lld more invalid embeddings", (long long)(shown - 20));
    return CLIPSEARCH_OK;
}

/* Rows of the classify tables (schema >= 2, >= 3) that point at nothing:
 * each entry counts them and, for the repair, deletes them. */
static const struct {
    int version;
    const char *what;
    const char *count;
    const char *fix;
} orphan_sql[] = {
    {2, "tags of photos or models that are gone",
     "SELECT count(*) FROM tags t WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.id ="
     " t.file_id) OR NOT EXISTS (SELECT 1 FROM models m WHERE m.id = t.model_id)",
     "DELETE FROM tags WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.id = tags.file_id)"
     " OR NOT EXISTS (SELECT 1 FROM models m WHERE m.id = tags.model_id)"},
    {2, "tagging records of photos or models that are gone",
     "SELECT count(*) FROM tagged_files t WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.id"
     " = t.file_id) OR NOT EXISTS (SELECT 1 FROM models m WHERE m.id = t.model_id)",
     "DELETE FROM tagged_files WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.id ="
     " tagged_files.file_id) OR NOT EXISTS (SELECT 1 FROM models m WHERE m.id ="
     " tagged_files.model_id)"},
    {3, "classifiers of models that are gone",
     "SELECT count(*) FROM classifiers c WHERE NOT EXISTS (SELECT 1 FROM models m WHERE m.id"
     " = c.model_id)",
     "DELETE FROM classifiers WHERE NOT EXISTS (SELECT 1 FROM models m WHERE m.id ="
     " classifiers.model_id)"},
    {3, "classifier examples of classifiers that are gone",
     "SELECT count(*) FROM classifier_examples x WHERE NOT EXISTS (SELECT 1 FROM classifiers"
     " c WHERE c.id = x.classifier_id)",
     "DELETE FROM classifier_examples WHERE NOT EXISTS (SELECT 1 FROM classifiers c WHERE"
     " c.id = classifier_examples.classifier_id)"},
    /* Not removed: an example keeps its path when its photo leaves. */
    {3, "classifier examples pointing at photos that are gone (their link is cleared)",
     "SELECT count(*) FROM classifier_examples x WHERE x.file_id IS NOT NULL AND NOT EXISTS"
     " (SELECT 1 FROM files f WHERE f.id = x.file_id)",
     "UPDATE classifier_examples SET file_id = NULL WHERE file_id IS NOT NULL AND NOT EXISTS"
     " (SELECT 1 FROM files f WHERE f.id = classifier_examples.file_id)"},
};
#define N_ORPHAN_SQL (sizeof orphan_sql / sizeof *orphan_sql)

static clipsearch_status check_orphans(checker *C, int64_t counts[N_ORPHAN_SQL],
                                       clipsearch_error *err)
{
    int64_t emb = C->rep->orphan_rows;
    if (emb > 0)
        finding(C, fixable(C), "%lld embeddings of photos or models that are gone%s",
                (long long)emb, C->p->repair ? ": removed" : " (--repair removes them)");
    for (size_t i = 0; i < N_ORPHAN_SQL; i++) {
        counts[i] = 0;
        if (C->rep->schema_version < orphan_sql[i].version)
            continue;
        if ((counts[i] = count_rows(C->s, orphan_sql[i].count)) < 0)
            return cs_store_error(C->s, err, "looking for rows that point at nothing");
        if (counts[i] > 0) {
            C->rep->orphan_rows += counts[i];
            finding(C, fixable(C), "%lld %s%s", (long long)counts[i], orphan_sql[i].what,
                    C->p->repair ? ": fixed" : " (--repair fixes them)");
        }
    }
    return CLIPSEARCH_OK;
}

static clipsearch_status repair_db(checker *C, const int64_t counts[N_ORPHAN_SQL],
                                   clipsearch_error *err)
{
    sqlite3 *db = cs_store_db(C->s);
    sqlite3_stmt *del_file = NULL, *del_emb = NULL;
    clipsearch_status r;
    int64_t removed = 0;
    if ((r = cs_store_begin_write(C->s, err)) != CLIPSEARCH_OK)
        return r;
    for (size_t i = 0; i < C->n_create; i++)
        if ((r = cs_store_exec(C->s, C->create_sql[i], err)) != CLIPSEARCH_OK)
            goto out;
    if (sqlite3_prepare_v2(db, "DELETE FROM files WHERE id = ?1", -1, &del_file, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM embeddings WHERE file_id = ?1 AND model_id = ?2",
                           -1, &del_emb, NULL) != SQLITE_OK) {
        r = cs_store_error(C->s, err, "repairing");
        goto out;
    }
    /* Photos gone from disk: their rows cascade (embeddings, tags). */
    for (size_t i = 0; i < C->n_gone; i++) {
        sqlite3_reset(del_file);
        sqlite3_bind_int64(del_file, 1, C->gone_files[i]);
        if (sqlite3_step(del_file) != SQLITE_DONE) {
            r = cs_store_error(C->s, err, "removing a photo that no longer exists");
            goto out;
        }
        removed += sqlite3_changes(db);
    }
    for (size_t i = 0; i < C->n_bad; i++) {
        sqlite3_reset(del_emb);
        sqlite3_bind_int64(del_emb, 1, C->bad_emb[i][0]);
        sqlite3_bind_int64(del_emb, 2, C->bad_emb[i][1]);
        if (sqlite3_step(del_emb) != SQLITE_DONE) {
            r = cs_store_error(C->s, err, "removing an invalid embedding");
            goto out;
        }
        removed += sqlite3_changes(db);
    }
    for (size_t i = 0; i < N_ORPHAN_SQL; i++) {
        if (!counts[i])
            continue;
        if ((r = cs_store_exec(C->s, orphan_sql[i].fix, err)) != CLIPSEARCH_OK)
            goto out;
        removed += sqlite3_changes(db);
    }
    /* The vector sets changed: every model's index file is now stale. */
    if ((C->n_gone || C->n_bad) && (r = cs_store_model_bump(C->s, 0, err)) != CLIPSEARCH_OK)
        goto out;
    r = cs_store_commit(C->s, err);
out:
    sqlite3_finalize(del_file);
    sqlite3_finalize(del_emb);
    if (r != CLIPSEARCH_OK)
        cs_store_rollback(C->s);
    else
        C->rep->rows_removed += removed;
    return r;
}

/* A new library's first commits may sit in the WAL while the main file is
 * still empty. */
static int wal_has_content(const char *db)
{
    char wal[PATH_MAX + 40];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s-wal", db);
    return stat(wal, &sb) == 0 && sb.st_size > 0;
}

/* Returns CLIPSEARCH_OK with C->worst == DAMAGE when the database cannot go
 * on to the vector index phase. */
static clipsearch_status database_phase(checker *C, clipsearch_error *err)
{
    clipsearch_error oerr = {0};
    clipsearch_status r;
    struct stat sb;
    int ok = 0;
    int64_t counts[N_ORPHAN_SQL];
    missing_ctx M = {C, 0, CLIPSEARCH_OK};

    if (stat(C->db, &sb) != 0) {
        if (errno == ENOENT)
            return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                                "no library at %s: index photos first (clipsearch-index FOLDER)",
                                C->dir);
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: %s", C->db, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode)) {
        finding(C, CLIPSEARCH_CHECK_DAMAGE, "%s is %s, not a database file", C->db,
                S_ISDIR(sb.st_mode) ? "a directory" : "not a regular file");
        return CLIPSEARCH_OK;
    }
    if (sb.st_size == 0 && !wal_has_content(C->db)) {
        finding(C, CLIPSEARCH_CHECK_DAMAGE,
                "%s is empty (0 bytes): not a library (truncated?); move it away and index "
                "again",
                C->db);
        return CLIPSEARCH_OK;
    }
    if ((r = cs_store_open(C->db, !C->p->repair, &C->s, &oerr)) != CLIPSEARCH_OK) {
        if (r == CLIPSEARCH_ERR_FORMAT || r == CLIPSEARCH_ERR_DATABASE) {
            finding(C, CLIPSEARCH_CHECK_DAMAGE, "cannot open the library: %s", oerr.message);
            return CLIPSEARCH_OK;
        }
        if (err)
            *err = oerr;
        return r;
    }
    if ((r = cs_store_schema_version(C->s, &C->rep->schema_version, &oerr)) != CLIPSEARCH_OK) {
        finding(C, CLIPSEARCH_CHECK_DAMAGE, "%s", oerr.message);
        return CLIPSEARCH_OK;
    }
    /* Page-level damage first: the row checks below would trip over it. */
    C->integrity_index_only = 1;
    if ((r = cs_store_integrity(C->s, 0, on_integrity, C, &ok, err)) != CLIPSEARCH_OK)
        return r;
    if (!ok && C->integrity_index_only && C->n_integrity > 0 && C->p->repair) {
        /* Damage confined to SQLite indexes: they are derived from the
         * tables and REINDEX rebuilds them. */
        if (cs_store_exec(C->s, "REINDEX", &oerr) == CLIPSEARCH_OK &&
            cs_store_integrity(C->s, 0, NULL, NULL, &ok, &oerr) == CLIPSEARCH_OK && ok)
            finding(C, CLIPSEARCH_CHECK_REPAIRED,
                    "%s: SQLite indexes were inconsistent with their tables: rebuilt (REINDEX)",
                    C->db);
    }
    C->rep->database_ok = ok;
    if (!ok) {
        if (C->integrity_index_only && C->n_integrity > 0 && !C->p->repair)
            finding(C, CLIPSEARCH_CHECK_REPAIRABLE,
                    "%s: SQLite indexes are inconsistent with their tables (--repair rebuilds "
                    "them)",
                    C->db);
        else
            finding(C, CLIPSEARCH_CHECK_DAMAGE,
                    "%s: the database is damaged (SQLite integrity_check failed): restore a "
                    "backup, or move the library away and index again",
                    C->db);
        return CLIPSEARCH_OK;
    }
    if ((r = cs_store_schema_missing(C->s, C->rep->schema_version, on_missing, &M,
                                     &ok, err)) != CLIPSEARCH_OK)
        return r;
    if (M.r != CLIPSEARCH_OK)
        return oom(err);
    if (M.tables)
        return CLIPSEARCH_OK;
    if (C->rep->schema_version < C->rep->schema_latest)
        finding(C, CLIPSEARCH_CHECK_NOTE,
                "%s: schema version %d (this program writes %d): upgraded when next indexed",
                C->db, C->rep->schema_version, C->rep->schema_latest);
    C->rep->models = count_rows(C->s, "SELECT count(*) FROM models");
    if ((r = check_files(C, err)) != CLIPSEARCH_OK ||
        (r = check_embeddings(C, err)) != CLIPSEARCH_OK ||
        (r = check_orphans(C, counts, err)) != CLIPSEARCH_OK)
        return r;
    if (C->p->repair && (C->n_create || C->n_gone || C->n_bad || C->rep->orphan_rows))
        return repair_db(C, counts, err);
    return CLIPSEARCH_OK;
}

/* ---- the vector index phase ------------------------------------------------- */

/* Self-searches of a sample of the stored vectors in an exact index: each
 * must come back with a score of ~1 (itself, or an identical copy). */
static int sample_ok(clipsearch_library *lib, const clipsearch_library_model *m,
                     const cs_vindex *v)
{
    int64_t *ids = NULL, n = 0;
    float *vecs = NULL;
    int ok = 1;
    clipsearch_error e = {0};
    if (clipsearch_library_get_embeddings(lib, m, &ids, &vecs, &n, &e) != CLIPSEARCH_OK)
        return 1; /* the database phase judged the rows */
    for (int64_t k = 0; k < MAX_SAMPLES && k < n && ok; k++) {
        int64_t i = n <= MAX_SAMPLES ? k : k * (n / MAX_SAMPLES);
        float score = 0;
        int64_t id = -1;
        int got = 0;
        if (cs_vindex_search(v, vecs + (size_t)i * (size_t)m->dim, 1, &score, &id, &got, &e) !=
                CLIPSEARCH_OK ||
            got != 1 || score < 0.999f)
            ok = 0;
    }
    free(ids);
    free(vecs);
    return ok;
}

static int is_stray_file(const char *name, const clipsearch_library_model *models, int n)
{
    long long id = 0;
    int end = 0;
    if (sscanf(name, "vectors-%lld.faiss%n", &id, &end) != 1 || end == 0)
        return 0;
    if (name[end] == '\0') {
        for (int i = 0; i < n; i++)
            if (models[i].id == id)
                return 0;
        return 1; /* the index of a model the library no longer has */
    }
    if (!strncmp(name + end, ".tmp.", 5)) {
        long pid = strtol(name + end + 5, NULL, 10);
        /* A temporary file of a writer that died before its rename. */
        return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
    }
    return 0;
}

static clipsearch_status index_phase(checker *C, clipsearch_error *err)
{
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library *lib = NULL;
    clipsearch_library_model *models = NULL;
    int n = 0;
    clipsearch_status r;
    DIR *d = NULL;
    struct dirent *de;

    lp.read_only = !C->p->repair;
    if ((r = clipsearch_library_open(C->dir, &lp, &lib, err)) != CLIPSEARCH_OK)
        return r;
    if ((r = clipsearch_library_models(lib, NULL, 0, &n, err)) != CLIPSEARCH_OK)
        goto out;
    if (n > 0 && !(models = calloc((size_t)n, sizeof *models))) {
        r = oom(err);
        goto out;
    }
    if (n > 0 && (r = clipsearch_library_models(lib, models, n, &n, err)) != CLIPSEARCH_OK)
        goto out;
    for (int i = 0; i < n; i++) {
        const clipsearch_library_model *m = &models[i];
        char path[PATH_MAX + 64], why[256] = "";
        cs_vindex_tag tag;
        cs_vindex *v = NULL;
        clipsearch_error e = {0};
        clipsearch_status vr;
        cs_library_vindex_path(lib, m->id, path, sizeof path);
        vr = cs_vindex_read(path, &tag, &v, &e);
        if (vr == CLIPSEARCH_ERR_NOT_FOUND)
            snprintf(why, sizeof why, "is missing");
        else if (vr != CLIPSEARCH_OK)
            snprintf(why, sizeof why, "is damaged (%.200s)", e.message);
        else if (tag.model_id != m->id || tag.dim != m->dim)
            snprintf(why, sizeof why, "belongs to another model");
        else if (tag.generation != m->generation || tag.count != m->n_embeddings)
            snprintf(why, sizeof why,
                     "is stale (generation %lld, %lld vectors; the database has %lld, %lld)",
                     (long long)tag.generation, (long long)tag.count,
                     (long long)m->generation, (long long)m->n_embeddings);
        else if (!strcmp(tag.factory, "Flat") && !sample_ok(lib, m, v))
            snprintf(why, sizeof why, "does not find the stored vectors");
        cs_vindex_free(v);
        if (!why[0])
            continue;
        C->rep->index_files_bad++;
        if (C->p->repair) {
            if ((r = clipsearch_library_sync_index(lib, m, err)) != CLIPSEARCH_OK)
                goto out;
            C->rep->indexes_rebuilt++;
        }
        finding(C, fixable(C), "%s (vector index of model '%s') %s%s", path, m->name, why,
                C->p->repair ? ": rebuilt"
                             : " (derived data: searches rebuild it in memory; --repair "
                               "rebuilds the file)");
    }
    if ((d = opendir(C->dir)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            char path[PATH_MAX + 300];
            if (!is_stray_file(de->d_name, models, n))
                continue;
            snprintf(path, sizeof path, "%s/%s", C->dir, de->d_name);
            C->rep->index_files_bad++;
            if (C->p->repair && unlink(path) != 0) {
                r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot remove: %s", path,
                                 strerror(errno));
                goto out;
            }
            finding(C, fixable(C), "%s is a stray vector index file%s", path,
                    C->p->repair ? ": removed" : " (--repair removes it)");
        }
    }
out:
    if (d)
        closedir(d);
    free(models);
    clipsearch_library_close(lib);
    return r;
}

clipsearch_status clipsearch_library_check(const char *path,
                                           const clipsearch_check_params *params,
                                           clipsearch_check_report *report,
                                           clipsearch_error *err)
{
    clipsearch_check_params dp = clipsearch_check_default_params();
    clipsearch_check_report dummy;
    checker C;
    clipsearch_status r;
    size_t n;
    int lock_fd = -1;

    if (!report)
        report = &dummy;
    memset(report, 0, sizeof *report);
    memset(&C, 0, sizeof C);
    C.p = params ? params : &dp;
    C.rep = report;
    C.worst = -1;
    report->schema_latest = cs_schema_latest_version();
    if (!path || !*path) {
        if ((r = clipsearch_library_default_path(C.dir, sizeof C.dir, err)) != CLIPSEARCH_OK)
            return r;
    } else if (strlen(path) >= sizeof C.dir) {
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "library path too long");
    } else {
        snprintf(C.dir, sizeof C.dir, "%s", path);
    }
    n = strlen(C.dir);
    while (n > 1 && C.dir[n - 1] == '/')
        C.dir[--n] = '\0';
    snprintf(C.db, sizeof C.db, "%s/%s", C.dir, DB_NAME);
    /* A repair is a writer like an indexer: one at a time. */
    if (C.p->repair && (lock_fd = cs_library_lock(C.dir, 0, NULL, NULL, err)) == -2)
        return CLIPSEARCH_ERR_BUSY;

    r = database_phase(&C, err);
    cs_store_close(C.s);
    C.s = NULL;
    /* The index phase needs a database a library handle accepts. */
    if (r == CLIPSEARCH_OK && C.worst < CLIPSEARCH_CHECK_DAMAGE && report->database_ok &&
        (C.p->repair || !report->missing_indexes))
        r = index_phase(&C, err);
    if (r == CLIPSEARCH_OK) {
        report->verdict = C.worst == CLIPSEARCH_CHECK_DAMAGE       ? CLIPSEARCH_CHECK_DAMAGED
                          : C.worst == CLIPSEARCH_CHECK_REPAIRABLE ? CLIPSEARCH_CHECK_NEEDS_REPAIR
                          : C.worst == CLIPSEARCH_CHECK_REPAIRED   ? CLIPSEARCH_CHECK_WAS_REPAIRED
                                                                   : CLIPSEARCH_CHECK_HEALTHY;
        if (report->verdict == CLIPSEARCH_CHECK_HEALTHY)
            report->message[0] = '\0';
    }
    if (lock_fd >= 0)
        close(lock_fd);
    free(C.gone_files);
    free(C.bad_emb);
    for (size_t i = 0; i < C.n_create; i++)
        free(C.create_sql[i]);
    free(C.create_sql);
    return r;
}
