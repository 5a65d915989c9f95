/* library.c — the public library API (clipsearch/library.h): opening,
 * the indexing run (walk, hash, resolve moves/copies/removals, encode,
 * save the vector index), search and statistics. */
#include "clipsearch/library.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clipsearch/model.h"
#include "array.h"
#include "error.h"
#include "hash.h"
#include "library_internal.h"
#include "pipeline.h"
#include "store.h"
#include "vindex.h"
#include "walk.h"

#define DB_NAME "library.sqlite3"

struct clipsearch_library {
    char *dir;
    char *db_path;
    int read_only;
    cs_store *store;
    /* The vector index last used for searching. */
    cs_vindex *vi;
    int64_t vi_model, vi_generation;
    /* A vector index file being read in the background (prefetch). */
    pthread_t prefetch_thread;
    int prefetching;          /* the thread runs or has not been joined */
    int64_t prefetch_model;
    char prefetch_path[PATH_MAX];
    cs_vindex *prefetched;    /* its result, NULL if unreadable */
    cs_vindex_tag prefetched_tag;
    /* What the last search wants the user told (clipsearch_library_note). */
    char note[1200];
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void clipsearch_free(void *p) { free(p); }

clipsearch_library_params clipsearch_library_default_params(void)
{
    clipsearch_library_params p = {0};
    return p;
}

clipsearch_index_params clipsearch_index_default_params(void)
{
    clipsearch_index_params p;
    memset(&p, 0, sizeof p);
    p.n_threads = 0;
    p.batch_size = 32;
    p.preprocess_mode = CLIPSEARCH_PREPROCESS_FAST;
    return p;
}

clipsearch_search_params clipsearch_search_default_params(void)
{
    clipsearch_search_params p;
    memset(&p, 0, sizeof p);
    p.limit = 10;
    p.min_score = -1.0f;
    return p;
}

clipsearch_status clipsearch_library_default_path(char *buf, size_t size,
                                                  clipsearch_error *err)
{
    const char *v = getenv("CLIPSEARCH_DB");
    int n;
    if (v && *v)
        n = snprintf(buf, size, "%s", v);
    else if ((v = getenv("XDG_DATA_HOME")) && *v)
        n = snprintf(buf, size, "%s/clipsearch", v);
    else if ((v = getenv("HOME")) && *v)
        n = snprintf(buf, size, "%s/.local/share/clipsearch", v);
    else
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                            "no library location: set CLIPSEARCH_DB or HOME, or pass a path");
    if (n < 0 || (size_t)n >= size)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "library path too long");
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_model_fingerprint(const char *model_dir,
                                               char out[CLIPSEARCH_FINGERPRINT_SIZE],
                                               clipsearch_error *err)
{
    return cs_model_fingerprint(model_dir, out, err);
}

/* mkdir -p */
static clipsearch_status make_dirs(const char *path, clipsearch_error *err)
{
    char *p = strdup(path);
    clipsearch_status r = CLIPSEARCH_OK;
    if (!p)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot create folder: %s", p,
                                 strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return r;
}

static int first_problem(const char *message, void *user)
{
    snprintf(user, 300, "%s", message);
    return 1;
}

static int first_missing(const char *type, const char *name, const char *sql, void *user)
{
    (void)sql;
    snprintf(user, 160, "%s '%s'", type, name);
    return 1;
}

/* A table or index dropped from the database is damage that every later
 * statement would trip over with a vaguer message: refuse the library at
 * open instead (cheap: the schema is compared, not the data). */
static clipsearch_status check_tables(clipsearch_library *lib, clipsearch_error *err)
{
    char what[160] = "";
    int version = 0, missing = 0;
    clipsearch_status r = cs_store_schema_version(lib->store, &version, err);
    if (r == CLIPSEARCH_OK)
        r = cs_store_schema_missing(lib->store, version, first_missing, what, &missing, err);
    if (r == CLIPSEARCH_OK && missing)
        r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                         "%s: the library is damaged: %s is missing (run 'clipsearch check')",
                         lib->db_path, what);
    return r;
}

clipsearch_status clipsearch_library_open(const char *path,
                                          const clipsearch_library_params *params,
                                          clipsearch_library **out, clipsearch_error *err)
{
    clipsearch_library_params dp = clipsearch_library_default_params();
    clipsearch_library *lib = NULL;
    char def[PATH_MAX];
    clipsearch_status r;
    struct stat st;
    size_t n;
    if (!out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!params)
        params = &dp;
    if (!path || !*path) {
        if ((r = clipsearch_library_default_path(def, sizeof def, err)) != CLIPSEARCH_OK)
            return r;
        path = def;
    }
    lib = calloc(1, sizeof *lib);
    if (!lib)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    lib->read_only = params->read_only;
    n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    lib->dir = strndup(path, n);
    lib->db_path = malloc(n + sizeof DB_NAME + 2);
    if (!lib->dir || !lib->db_path) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    snprintf(lib->db_path, n + sizeof DB_NAME + 2, "%s/%s", lib->dir, DB_NAME);
    if (lib->read_only) {
        if (stat(lib->db_path, &st) != 0) {
            r = cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                             "no library at %s: index photos first (clipsearch-index FOLDER)",
                             lib->dir);
            goto fail;
        }
    } else if ((r = make_dirs(lib->dir, err)) != CLIPSEARCH_OK) {
        goto fail;
    }
    if ((r = cs_store_open(lib->db_path, lib->read_only, &lib->store, err)) != CLIPSEARCH_OK)
        goto fail;
    if ((r = check_tables(lib, err)) != CLIPSEARCH_OK)
        goto fail;
    *out = lib;
    return CLIPSEARCH_OK;
fail:
    clipsearch_library_close(lib);
    return r;
}

static cs_vindex *take_prefetched(clipsearch_library *lib, int64_t model_id,
                                  cs_vindex_tag *tag);

void clipsearch_library_close(clipsearch_library *lib)
{
    cs_vindex_tag tag;
    if (!lib)
        return;
    cs_vindex_free(take_prefetched(lib, -1, &tag));
    cs_vindex_free(lib->vi);
    cs_store_close(lib->store);
    free(lib->dir);
    free(lib->db_path);
    free(lib);
}

const char *clipsearch_library_path(const clipsearch_library *lib) { return lib->dir; }

static void to_public_model(const cs_model_row *m, clipsearch_library_model *out)
{
    memset(out, 0, sizeof *out);
    out->id = m->id;
    snprintf(out->name, sizeof out->name, "%s", m->name);
    out->dim = m->dim;
    snprintf(out->fingerprint, sizeof out->fingerprint, "%s", m->fingerprint);
    snprintf(out->index_type, sizeof out->index_type, "%s", m->index_type);
    out->n_embeddings = m->n_embeddings;
    out->generation = m->generation;
    snprintf(out->precision, sizeof out->precision, "%s", m->precision);
}

static void vindex_path(const clipsearch_library *lib, int64_t model_id, char *buf,
                        size_t size);

/* m->n_embeddings of a row read without its count: from the index file's
 * header when that file is of the model's current generation (it was
 * built from exactly those vectors), else counted. */
static void fill_count(clipsearch_library *lib, cs_model_row *m)
{
    cs_vindex_tag tag;
    char path[PATH_MAX];
    if (m->n_embeddings >= 0)
        return;
    vindex_path(lib, m->id, path, sizeof path);
    if (cs_vindex_read_tag(path, &tag, NULL) == CLIPSEARCH_OK && tag.model_id == m->id &&
        tag.generation == m->generation && tag.dim == m->dim && tag.count >= 0) {
        m->n_embeddings = tag.count;
        return;
    }
    if (cs_store_model_by_id(lib->store, m->id, m, NULL) != CLIPSEARCH_OK)
        m->n_embeddings = 0;
}

clipsearch_status clipsearch_library_models(clipsearch_library *lib,
                                            clipsearch_library_model *models, int max,
                                            int *n, clipsearch_error *err)
{
    cs_model_row *rows = NULL;
    size_t len = 0;
    clipsearch_status r = cs_store_models(lib->store, &rows, &len, 0, err);
    if (r != CLIPSEARCH_OK)
        return r;
    for (size_t i = 0; i < len && (int)i < max; i++) {
        fill_count(lib, &rows[i]);
        to_public_model(&rows[i], &models[i]);
    }
    *n = (int)len;
    free(rows);
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_library_find_model(clipsearch_library *lib,
                                                const char *model_dir,
                                                clipsearch_library_model *out,
                                                clipsearch_error *err)
{
    char fp[CS_HASH_HEX_SIZE];
    cs_model_row row;
    clipsearch_status r = cs_model_fingerprint(model_dir, fp, err);
    if (r != CLIPSEARCH_OK)
        return r;
    r = cs_store_model_find_light(lib->store, fp, &row, err);
    if (r == CLIPSEARCH_OK)
        fill_count(lib, &row);
    if (r == CLIPSEARCH_OK && row.n_embeddings > 0) {
        to_public_model(&row, out);
        return CLIPSEARCH_OK;
    }
    if (r == CLIPSEARCH_OK || r == CLIPSEARCH_ERR_NOT_FOUND) {
        cs_model_row *rows = NULL;
        size_t n = 0;
        char names[512] = "";
        size_t at = 0;
        if (cs_store_models(lib->store, &rows, &n, 1, NULL) == CLIPSEARCH_OK) {
            for (size_t i = 0; i < n && at < sizeof names - 1; i++)
                if (rows[i].n_embeddings > 0)
                    at += (size_t)snprintf(names + at, sizeof names - at, "%s%s (%lld photos)",
                                           at ? ", " : "", rows[i].name,
                                           (long long)rows[i].n_embeddings);
            free(rows);
        }
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                            "%s: the library %s has no photos indexed with this model%s%s; "
                            "run clipsearch-index --model %s FOLDER",
                            model_dir, lib->dir, names[0] ? "; it was built with " : "",
                            names, model_dir);
    }
    return r;
}

/* ---- the vector index ---------------------------------------------------- */

static void vindex_path(const clipsearch_library *lib, int64_t model_id, char *buf,
                        size_t size)
{
    snprintf(buf, size, "%s/vectors-%lld.faiss", lib->dir, (long long)model_id);
}

/* The file reading half of loading an index, on its own thread: no SQLite,
 * so it can overlap whatever the caller does next (loading the model). */
static void *prefetch_main(void *arg)
{
    clipsearch_library *lib = arg;
    if (cs_vindex_read(lib->prefetch_path, &lib->prefetched_tag, &lib->prefetched, NULL) !=
        CLIPSEARCH_OK)
        lib->prefetched = NULL;
    return NULL;
}

/* Waits for a prefetch and hands over its index if it was for model_id
 * (-1: none wanted; it is discarded).  NULL when there was none. */
static cs_vindex *take_prefetched(clipsearch_library *lib, int64_t model_id, cs_vindex_tag *tag)
{
    cs_vindex *v;
    if (!lib->prefetching)
        return NULL;
    pthread_join(lib->prefetch_thread, NULL);
    lib->prefetching = 0;
    v = lib->prefetched;
    lib->prefetched = NULL;
    if (v && lib->prefetch_model != model_id) {
        cs_vindex_free(v);
        v = NULL;
    }
    if (v)
        *tag = lib->prefetched_tag;
    return v;
}

clipsearch_status clipsearch_library_prefetch_index(clipsearch_library *lib,
                                                    const clipsearch_library_model *model,
                                                    clipsearch_error *err)
{
    cs_vindex_tag tag;
    if (!lib || !model)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument to prefetch");
    cs_vindex_free(take_prefetched(lib, -1, &tag));
    if (lib->vi && lib->vi_model == model->id)
        return CLIPSEARCH_OK; /* already in memory */
    lib->prefetch_model = model->id;
    vindex_path(lib, model->id, lib->prefetch_path, sizeof lib->prefetch_path);
    if (pthread_create(&lib->prefetch_thread, NULL, prefetch_main, lib) != 0)
        return CLIPSEARCH_OK; /* only an optimisation: the search reads it itself */
    lib->prefetching = 1;
    return CLIPSEARCH_OK;
}

/* Makes lib->vi the index of model_id for the database state seen by the
 * current transaction (callers hold a read or write transaction). */
static clipsearch_status ensure_vindex(clipsearch_library *lib, int64_t model_id, int save,
                                       clipsearch_error *err);

/* Searches may keep a stale index on request (clipsearch_search_params). */
static clipsearch_status ensure_vindex_for_search(clipsearch_library *lib, int64_t model_id,
                                                  int reuse_stale, clipsearch_error *err)
{
    if (reuse_stale && lib->vi && lib->vi_model == model_id)
        return CLIPSEARCH_OK;
    return ensure_vindex(lib, model_id, 1, err);
}

static clipsearch_status cs_library_build_index(clipsearch_library *lib, const cs_model_row *m,
                                                const cs_vindex *reuse, cs_vindex **out,
                                                clipsearch_error *err);

static clipsearch_status ensure_vindex(clipsearch_library *lib, int64_t model_id, int save,
                                       clipsearch_error *err)
{
    cs_model_row m;
    cs_vindex_tag tag;
    cs_vindex *v = NULL, *stale = NULL;
    char path[PATH_MAX];
    /* No count of the embeddings (30 ms at a million): the generation
     * changes whenever the set of vectors does. */
    clipsearch_status r = cs_store_model_by_id_light(lib->store, model_id, &m, err);
    if (r != CLIPSEARCH_OK)
        return r;
    if (lib->vi && lib->vi_model == model_id && lib->vi_generation == m.generation)
        return CLIPSEARCH_OK;
    vindex_path(lib, model_id, path, sizeof path);
    /* A prefetched index is checked against the database like a read one. */
    if ((v = take_prefetched(lib, model_id, &tag)) != NULL ||
        cs_vindex_read(path, &tag, &v, NULL) == CLIPSEARCH_OK) {
        if (tag.model_id == model_id && tag.generation == m.generation && tag.dim == m.dim)
            goto have;
        stale = v; /* its training may be reused */
        v = NULL;
        /* An indexer is at work and saves a new index when it ends: a
         * one-shot search (a handle without an index yet) uses the one it
         * saved last instead of rebuilding it for every batch committed.
         * A long-lived handle (the server) rebuilds from the database, at
         * the pace its reuse_stale_index setting allows. */
        if (lib->read_only && !lib->vi && tag.model_id == model_id && tag.dim == m.dim &&
            clipsearch_library_indexing(lib)) {
            snprintf(lib->note, sizeof lib->note,
                     "clipsearch-index is running: searched the vector index as it was last "
                     "saved (%lld photos); photos added since are found when it ends",
                     (long long)tag.count);
            v = stale;
            stale = NULL;
            m.generation = tag.generation; /* re-checked at the next search */
            goto have;
        }
    }
    r = cs_library_build_index(lib, &m, stale, &v, err);
    cs_vindex_free(stale);
    if (r != CLIPSEARCH_OK)
        return r;
    if (save) {
        memset(&tag, 0, sizeof tag);
        tag.model_id = model_id;
        tag.generation = m.generation;
        if (!lib->read_only) {
            if ((r = cs_vindex_write(v, path, &tag, err)) != CLIPSEARCH_OK) {
                cs_vindex_free(v);
                return r;
            }
        } else if (clipsearch_library_indexing(lib)) {
            snprintf(lib->note, sizeof lib->note,
                     "the vector index was rebuilt from the database for this search and not "
                     "saved: clipsearch-index is running and saves it when it ends");
        } else {
            /* A search after a crash (or a deleted index file): save what was
             * rebuilt, so that only this search pays for it.  The write is
             * atomic and never replaces a newer index (cs_vindex_write). */
            clipsearch_error e2 = {0};
            if (cs_vindex_write(v, path, &tag, &e2) != CLIPSEARCH_OK)
                snprintf(lib->note, sizeof lib->note,
                         "the vector index was rebuilt from the database but could not be "
                         "saved, so the next search rebuilds it again: %.600s",
                         e2.message);
        }
    }
have:
    cs_vindex_free(lib->vi);
    lib->vi = v;
    lib->vi_model = model_id;
    lib->vi_generation = m.generation;
    return CLIPSEARCH_OK;
}

/* Builds the index of model m from every embedding in the database (the
 * caller holds a transaction). */
static clipsearch_status cs_library_build_index(clipsearch_library *lib, const cs_model_row *m,
                                                const cs_vindex *reuse, cs_vindex **out,
                                                clipsearch_error *err)
{
    int64_t *ids = NULL;
    float *vecs = NULL;
    size_t n = 0;
    clipsearch_status r;
    *out = NULL;
    if ((r = cs_store_embeddings_all(lib->store, m->id, m->dim, &ids, &vecs, &n, err)) !=
        CLIPSEARCH_OK)
        return r;
    r = cs_vindex_build_reusing(m->index_type, m->dim, ids, vecs, n, reuse, out, err);
    free(ids);
    free(vecs);
    return r;
}

clipsearch_status clipsearch_library_sync_index(clipsearch_library *lib,
                                                const clipsearch_library_model *model,
                                                clipsearch_error *err)
{
    clipsearch_status r;
    if (lib->read_only)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "%s: opened read-only: cannot save the vector index", lib->dir);
    if ((r = cs_store_begin_read(lib->store, err)) != CLIPSEARCH_OK)
        return r;
    /* Force a check of the file even if a cached index is current. */
    cs_vindex_free(lib->vi);
    lib->vi = NULL;
    r = ensure_vindex(lib, model->id, 1, err);
    cs_store_rollback(lib->store);
    return r;
}

clipsearch_status clipsearch_library_rebuild_index(clipsearch_library *lib,
                                                   const clipsearch_library_model *model,
                                                   clipsearch_error *err)
{
    cs_model_row m;
    cs_vindex_tag tag;
    cs_vindex *v = NULL, *old = NULL;
    char path[PATH_MAX];
    clipsearch_status r;
    if (!lib || !model)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument to rebuild");
    cs_vindex_free(take_prefetched(lib, -1, &tag));
    if ((r = cs_store_begin_read(lib->store, err)) != CLIPSEARCH_OK)
        return r;
    if ((r = cs_store_model_by_id(lib->store, model->id, &m, err)) != CLIPSEARCH_OK)
        goto out;
    vindex_path(lib, model->id, path, sizeof path);
    /* A readable file of the same type lends its training; a damaged one is
     * simply replaced. */
    if (cs_vindex_read(path, &tag, &old, NULL) != CLIPSEARCH_OK)
        old = NULL;
    r = cs_library_build_index(lib, &m, old, &v, err);
    cs_vindex_free(old);
    if (r != CLIPSEARCH_OK)
        goto out;
    memset(&tag, 0, sizeof tag);
    tag.model_id = m.id;
    tag.generation = m.generation;
    if ((r = cs_vindex_write(v, path, &tag, err)) != CLIPSEARCH_OK) {
        cs_vindex_free(v);
        goto out;
    }
    cs_vindex_free(lib->vi);
    lib->vi = v;
    lib->vi_model = m.id;
    lib->vi_generation = m.generation;
out:
    cs_store_rollback(lib->store);
    return r;
}

clipsearch_status clipsearch_library_index_info(clipsearch_library *lib,
                                                const clipsearch_library_model *model,
                                                clipsearch_index_info *info,
                                                clipsearch_error *err)
{
    cs_model_row m;
    cs_vindex_tag tag;
    char path[PATH_MAX];
    clipsearch_status r;
    struct stat sb;
    if (!lib || !model || !info)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument");
    memset(info, 0, sizeof *info);
    if ((r = cs_store_model_by_id_light(lib->store, model->id, &m, err)) != CLIPSEARCH_OK)
        return r;
    snprintf(info->setting, sizeof info->setting, "%s", m.index_type);
    vindex_path(lib, model->id, path, sizeof path);
    if (cs_vindex_read_tag(path, &tag, NULL) != CLIPSEARCH_OK)
        return CLIPSEARCH_OK;
    snprintf(info->built, sizeof info->built, "%s", tag.factory);
    if (!strncmp(tag.factory, "IVF", 3))
        info->nlist = atoi(tag.factory + 3);
    info->nprobe = info->nlist > 0 && tag.nprobe < info->nlist ? tag.nprobe : 0;
    info->exact = !strcmp(tag.factory, "Flat") || (info->nlist > 0 && info->nprobe == 0);
    info->count = tag.count;
    info->current = tag.model_id == m.id && tag.generation == m.generation && tag.dim == m.dim;
    if (stat(path, &sb) == 0)
        info->file_bytes = (int64_t)sb.st_size;
    return CLIPSEARCH_OK;
}

const char *clipsearch_library_note(const clipsearch_library *lib)
{
    return lib ? lib->note : "";
}

/* ---- search --------------------------------------------------------------- */

void clipsearch_search_results_free(clipsearch_search_results *res)
{
    if (!res)
        return;
    for (int i = 0; i < res->n; i++)
        free((char *)res->items[i].path);
    free(res->items);
    free(res);
}

static int under_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (strncmp(path, dir, n) != 0)
        return 0;
    return path[n] == '/' || path[n] == '\0' || (n == 1 && dir[0] == '/');
}

int cs_library_result_from_row(sqlite3_stmt *row, const clipsearch_search_params *params,
                               int64_t file_id, float score, clipsearch_search_result *it,
                               clipsearch_error *err)
{
    const char *path = (const char *)sqlite3_column_text(row, 0);
    const char *taken = (const char *)sqlite3_column_text(row, 3);
    if (params->under && !under_dir(path, params->under))
        return 0;
    if ((params->taken_after || params->taken_before) && !taken)
        return 0;
    if (params->taken_after && strcmp(taken, params->taken_after) < 0)
        return 0;
    if (params->taken_before && strcmp(taken, params->taken_before) >= 0)
        return 0;
    it->file_id = file_id;
    it->score = score;
    if (!(it->path = strdup(path))) {
        cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        return -1;
    }
    it->width = sqlite3_column_int(row, 1);
    it->height = sqlite3_column_int(row, 2);
    snprintf(it->taken, sizeof it->taken, "%s", taken ? taken : "");
    if (sqlite3_column_count(row) > 4) {
        const char *camera = (const char *)sqlite3_column_text(row, 4);
        snprintf(it->camera, sizeof it->camera, "%s", camera ? camera : "");
    }
    return 1;
}

static int cmp_result(const void *a, const void *b)
{
    const clipsearch_search_result *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->file_id > y->file_id) - (x->file_id < y->file_id);
}

/* A "Flat" index of every embedding, for --exact on an index whose codes
 * cannot rank exactly (PQ, HNSW...): slow, never saved. */
static clipsearch_status exact_fallback(clipsearch_library *lib, int64_t model_id,
                                        cs_vindex **out, clipsearch_error *err)
{
    cs_model_row m;
    clipsearch_status r = cs_store_model_by_id(lib->store, model_id, &m, err);
    if (r != CLIPSEARCH_OK)
        return r;
    snprintf(m.index_type, sizeof m.index_type, "Flat");
    return cs_library_build_index(lib, &m, NULL, out, err);
}

clipsearch_status clipsearch_library_search(clipsearch_library *lib,
                                            const clipsearch_library_model *model,
                                            const float *query,
                                            const clipsearch_search_params *params,
                                            clipsearch_search_results **out,
                                            clipsearch_error *err)
{
    clipsearch_search_params dp = clipsearch_search_default_params();
    clipsearch_search_results *res = NULL;
    sqlite3_stmt *st = NULL;
    float *q = NULL, *scores = NULL, *vec = NULL;
    int64_t *ids = NULL, total;
    cs_vindex *flat = NULL;
    const cs_vindex *vi;
    int k, filtering, rerank, rc;
    clipsearch_status r;
    if (!lib || !model || !query || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument to search");
    *out = NULL;
    lib->note[0] = '\0';
    if (!params)
        params = &dp;
    if (params->limit <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "limit must be positive");
    if ((r = cs_store_begin_read(lib->store, err)) != CLIPSEARCH_OK)
        return r;
    if ((r = ensure_vindex_for_search(lib, model->id, params->reuse_stale_index, err)) !=
        CLIPSEARCH_OK)
        goto out;
    vi = lib->vi;
    if (params->exact && !cs_vindex_can_scan_exactly(vi)) {
        if ((r = exact_fallback(lib, model->id, &flat, err)) != CLIPSEARCH_OK)
            goto out;
        vi = flat;
    }
    /* Scores of any index but a float32 one are recomputed from the stored
     * float32 embeddings: every score shown is an exact cosine, and the
     * order among the candidates is exact. */
    rerank = !cs_vindex_scores_exact(vi);
    q = malloc((size_t)model->dim * sizeof *q);
    vec = malloc((size_t)model->dim * sizeof *vec);
    res = calloc(1, sizeof *res);
    if (!q || !vec || !res) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    memcpy(q, query, (size_t)model->dim * sizeof *q);
    clipsearch_normalize(q, 1, model->dim);
    if (sqlite3_prepare_v2(cs_store_db(lib->store),
                           "SELECT path, width, height, taken, camera FROM files WHERE id = ?1", -1,
                           &st, NULL) != SQLITE_OK) {
        r = cs_store_error(lib->store, err, "preparing a search");
        goto out;
    }
    total = cs_vindex_count(vi);
    filtering = params->under || params->taken_after || params->taken_before;
    /* Filters are applied after FAISS: ask for more until enough pass.
     * Re-ranking looks at 100 candidates beyond the limit (or twice the
     * limit): the approximate order only has to bring the true top results
     * among them. */
    k = params->limit;
    if (rerank)
        k += params->limit > 100 ? params->limit : 100;
    if (filtering && k < 64)
        k = 64;
    for (;;) {
        int got = 0, n = 0;
        if (k > total)
            k = (int)(total > INT_MAX ? INT_MAX : total);
        free(scores);
        free(ids);
        for (int i = 0; i < res->n; i++)
            free((char *)res->items[i].path);
        free(res->items);
        res->items = NULL;
        res->n = 0;
        scores = malloc((size_t)(k > 0 ? k : 1) * sizeof *scores);
        ids = malloc((size_t)(k > 0 ? k : 1) * sizeof *ids);
        res->items = calloc((size_t)(k > params->limit ? k : params->limit), sizeof *res->items);
        if (!scores || !ids || !res->items) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        if ((r = cs_vindex_search_mode(vi, q, k, params->exact, params->nprobe, scores, ids,
                                       &got, err)) !=
            CLIPSEARCH_OK)
            goto out;
        for (int i = 0; i < got; i++) {
            int kept;
            if (!rerank && (scores[i] < params->min_score || n >= params->limit))
                break;
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, ids[i]);
            if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
                if (rc == SQLITE_DONE)
                    continue; /* a stale index (an indexer is running) */
                r = cs_store_error(lib->store, err, "reading a search result");
                goto out;
            }
            kept = cs_library_result_from_row(st, params, ids[i], scores[i], &res->items[n],
                                              err);
            if (kept < 0) {
                r = CLIPSEARCH_ERR_OUT_OF_MEMORY;
                goto out;
            }
            if (kept && rerank) {
                double dot = 0;
                r = cs_store_embedding_get(lib->store, ids[i], model->id, vec, model->dim, err);
                if (r == CLIPSEARCH_ERR_NOT_FOUND) { /* stale index */
                    free((char *)res->items[n].path);
                    memset(&res->items[n], 0, sizeof res->items[n]);
                    r = CLIPSEARCH_OK;
                    continue;
                }
                if (r != CLIPSEARCH_OK)
                    goto out;
                for (int j = 0; j < model->dim; j++)
                    dot += (double)q[j] * vec[j];
                res->items[n].score = (float)dot;
            }
            n += kept;
        }
        if (rerank) {
            int w = 0;
            qsort(res->items, (size_t)n, sizeof *res->items, cmp_result);
            for (int i = 0; i < n; i++) {
                if (w < params->limit && res->items[i].score >= params->min_score)
                    res->items[w++] = res->items[i];
                else
                    free((char *)res->items[i].path);
            }
            n = w;
        }
        res->n = n;
        if (n >= params->limit || k >= total || got < k ||
            (got > 0 && scores[got - 1] < params->min_score - (rerank ? 0.05f : 0.0f)))
            break;
        k = k > INT_MAX / 4 ? INT_MAX : k * 4;
    }
    *out = res;
    res = NULL;
out:
    sqlite3_finalize(st);
    cs_store_rollback(lib->store);
    clipsearch_search_results_free(res);
    cs_vindex_free(flat);
    free(q);
    free(vec);
    free(scores);
    free(ids);
    return r;
}

clipsearch_status clipsearch_library_get_embedding(clipsearch_library *lib,
                                                   const clipsearch_library_model *model,
                                                   const char *path, float *out,
                                                   clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    clipsearch_status r;
    int64_t id = 0;
    if (sqlite3_prepare_v2(cs_store_db(lib->store), "SELECT id FROM files WHERE path = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return cs_store_error(lib->store, err, "looking up a photo");
    sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (!id)
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND, "%s: not in the library", path);
    r = cs_store_embedding_get(lib->store, id, model->id, out, model->dim, err);
    if (r == CLIPSEARCH_ERR_NOT_FOUND)
        cs_error_set(err, r, "%s: not indexed with model %s", path, model->name);
    return r;
}

clipsearch_status clipsearch_library_get_embeddings(clipsearch_library *lib,
                                                    const clipsearch_library_model *model,
                                                    int64_t **ids, float **vectors,
                                                    int64_t *n, clipsearch_error *err)
{
    size_t len = 0;
    clipsearch_status r =
        cs_store_embeddings_all(lib->store, model->id, model->dim, ids, vectors, &len, err);
    *n = (int64_t)len;
    return r;
}

/* ---- single photos ----------------------------------------------------------- */

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t size)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    snprintf(out, size, "%s", v ? v : "");
}

clipsearch_status clipsearch_library_get_file(clipsearch_library *lib, int64_t file_id,
                                              clipsearch_library_file *out,
                                              clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    clipsearch_status r = CLIPSEARCH_OK;
    int rc;
    if (!lib || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument");
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(cs_store_db(lib->store),
                           "SELECT path, size, mtime_ns, hash, format, width, height,"
                           " orientation, taken, camera, error IS NOT NULL"
                           " FROM files WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return cs_store_error(lib->store, err, "looking up a photo");
    sqlite3_bind_int64(st, 1, file_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->id = file_id;
        copy_col(st, 0, out->path, sizeof out->path);
        out->size = sqlite3_column_int64(st, 1);
        out->mtime_ns = sqlite3_column_int64(st, 2);
        copy_col(st, 3, out->hash, sizeof out->hash);
        copy_col(st, 4, out->format, sizeof out->format);
        out->width = sqlite3_column_int(st, 5);
        out->height = sqlite3_column_int(st, 6);
        out->orientation = sqlite3_column_int(st, 7);
        copy_col(st, 8, out->taken, sizeof out->taken);
        copy_col(st, 9, out->camera, sizeof out->camera);
        out->failed = sqlite3_column_int(st, 10);
    } else if (rc == SQLITE_DONE) {
        r = cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND, "no photo with id %lld in the library",
                         (long long)file_id);
    } else {
        r = cs_store_error(lib->store, err, "looking up a photo");
    }
    sqlite3_finalize(st);
    return r;
}

clipsearch_status clipsearch_library_get_embedding_by_id(clipsearch_library *lib,
                                                         const clipsearch_library_model *model,
                                                         int64_t file_id, float *out,
                                                         clipsearch_error *err)
{
    clipsearch_status r;
    if (!lib || !model || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument");
    r = cs_store_embedding_get(lib->store, file_id, model->id, out, model->dim, err);
    if (r == CLIPSEARCH_ERR_NOT_FOUND)
        cs_error_set(err, r, "no photo with id %lld indexed with model %s", (long long)file_id,
                     model->name);
    return r;
}

clipsearch_status clipsearch_library_path_in_roots(clipsearch_library *lib, const char *path,
                                                   int *inside, clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (!lib || !path || !inside)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument");
    *inside = 0;
    if (sqlite3_prepare_v2(cs_store_db(lib->store), "SELECT path FROM roots", -1, &st, NULL) !=
        SQLITE_OK)
        return cs_store_error(lib->store, err, "reading the library's folders");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *root = (const char *)sqlite3_column_text(st, 0);
        if (root && *root == '/' && under_dir(path, root)) {
            *inside = 1;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return cs_store_error(lib->store, err, "reading the library's folders");
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_library_refresh_model(clipsearch_library *lib,
                                                   clipsearch_library_model *model,
                                                   clipsearch_error *err)
{
    cs_model_row m;
    clipsearch_status r;
    if (!lib || !model)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "NULL argument");
    if ((r = cs_store_model_by_id_light(lib->store, model->id, &m, err)) != CLIPSEARCH_OK)
        return r;
    fill_count(lib, &m);
    model->generation = m.generation;
    model->n_embeddings = m.n_embeddings;
    return CLIPSEARCH_OK;
}

#define INDEXER_LOCK "indexer.lock"

int clipsearch_library_indexing(const clipsearch_library *lib)
{
    char path[PATH_MAX];
    int fd, busy = 0;
    if (!lib)
        return 0;
    snprintf(path, sizeof path, "%s/%s", lib->dir, INDEXER_LOCK);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0; /* never indexed here, or not readable: nothing to tell */
    /* A shared lock is refused only while an indexer holds its exclusive one. */
    if (flock(fd, LOCK_SH | LOCK_NB) != 0)
        busy = errno == EWOULDBLOCK;
    close(fd); /* drops our shared lock, if taken */
    return busy;
}

int cs_library_lock(const char *dir, int wait, int (*cancel)(void *user), void *user,
                    clipsearch_error *err)
{
    char path[PATH_MAX];
    int fd;
    snprintf(path, sizeof path, "%s/%s", dir, INDEXER_LOCK);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return -1; /* a read-only library: the writes will say so */
    /* One writer at a time: two indexers would encode the same new photos
     * twice over, and a repair must not remove what an indexer adds. */
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        if (errno != EWOULDBLOCK && errno != EINTR)
            return fd; /* locks not supported here: go on without */
        if (!wait) {
            close(fd);
            cs_error_set(err, CLIPSEARCH_ERR_BUSY,
                         "%s: another clipsearch-index (or a repair) is working on this "
                         "library; try again when it is done (clipsearch-index --wait waits)",
                         dir);
            return -2;
        }
        if (cancel && cancel(user)) {
            close(fd);
            cs_error_set(err, CLIPSEARCH_ERR_INTERRUPTED,
                         "%s: interrupted while waiting for another indexer", dir);
            return -2;
        }
        nanosleep(&ts, NULL);
    }
    return fd;
}

/* ---- statistics ------------------------------------------------------------ */

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

clipsearch_status clipsearch_library_get_stats(clipsearch_library *lib,
                                               clipsearch_library_stats *s,
                                               clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    char path[PATH_MAX];
    DIR *d;
    struct dirent *e;
    memset(s, 0, sizeof *s);
    if (sqlite3_prepare_v2(cs_store_db(lib->store),
                           "SELECT (SELECT count(*) FROM roots), (SELECT count(*) FROM files),"
                           " (SELECT count(*) FROM files WHERE error IS NULL),"
                           " (SELECT count(*) FROM files WHERE error IS NOT NULL),"
                           " (SELECT count(*) FROM models), (SELECT count(*) FROM embeddings)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        clipsearch_status r = cs_store_error(lib->store, err, "reading statistics");
        sqlite3_finalize(st);
        return r;
    }
    s->roots = sqlite3_column_int64(st, 0);
    s->files = sqlite3_column_int64(st, 1);
    s->photos = sqlite3_column_int64(st, 2);
    s->failures = sqlite3_column_int64(st, 3);
    s->models = sqlite3_column_int64(st, 4);
    s->embeddings = sqlite3_column_int64(st, 5);
    sqlite3_finalize(st);
    s->database_bytes = file_size(lib->db_path);
    snprintf(path, sizeof path, "%s-wal", lib->db_path);
    s->database_bytes += file_size(path);
    if ((d = opendir(lib->dir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (!strncmp(e->d_name, "vectors-", 8) && n > 6 &&
                !strcmp(e->d_name + n - 6, ".faiss")) {
                snprintf(path, sizeof path, "%s/%s", lib->dir, e->d_name);
                s->index_bytes += file_size(path);
            }
        }
        closedir(d);
    }
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_library_list_failures(
    clipsearch_library *lib, int (*fn)(const char *path, const char *reason, void *user),
    void *user, clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(cs_store_db(lib->store),
                           "SELECT path, error FROM files WHERE error IS NOT NULL ORDER BY path",
                           -1, &st, NULL) != SQLITE_OK)
        return cs_store_error(lib->store, err, "listing failures");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn((const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1), user))
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        clipsearch_status r = cs_store_error(lib->store, err, "listing failures");
        sqlite3_finalize(st);
        return r;
    }
    sqlite3_finalize(st);
    return CLIPSEARCH_OK;
}

/* ---- indexing ----------------------------------------------------------------- */

enum job_kind {
    JOB_NEW,      /* not in the library */
    JOB_CHANGED,  /* in the library, size or mtime differ */
    JOB_MISSING   /* in the library, unchanged, but no embedding for this model */
};

typedef struct job {
    char *path;           /* owned */
    int64_t size, mtime_ns;
    int kind;
    int64_t row_id;       /* existing row, 0 for JOB_NEW */
    char hash[CS_HASH_HEX_SIZE];
    int hashed;           /* hash known */
    int failed;           /* could not be hashed */
    char error[300];
    int defer;            /* same content as an earlier job: copy after encoding */
} job;

typedef struct vanished {
    int64_t id;
    char *path;
    char hash[CS_HASH_HEX_SIZE];
    int has_embedding, has_error;
    int claimed;
} vanished;

typedef struct run {
    clipsearch_library *lib;
    const clipsearch_index_params *p;
    clipsearch_index_summary *sum;
    cs_model_row model;
    const char *precision;      /* of the loaded image tower: "fp32" / "bf16" */
    double t0, encode_t0;
    job *jobs;
    size_t n_jobs, cap_jobs;
    vanished *gone;
    size_t n_gone, cap_gone;
    char **bad_dirs;            /* folders that could not be read */
    size_t n_bad_dirs, cap_bad_dirs;
    int64_t encode_total, encode_done;
    int stopped;
    /* hashing */
    size_t hash_next;
    pthread_mutex_t mu;
} run;

static int progress(run *R, clipsearch_index_phase phase, int64_t done, int64_t total)
{
    clipsearch_index_progress pr;
    double t = now();
    if (!R->p->progress)
        return 0;
    if (R->stopped)
        return 1;
    memset(&pr, 0, sizeof pr);
    pr.phase = phase;
    pr.done = done;
    pr.total = total;
    pr.elapsed = t - R->t0;
    if (phase == CLIPSEARCH_PHASE_ENCODE && t > R->encode_t0 && done > 0)
        pr.images_per_second = (double)done / (t - R->encode_t0);
    if (R->p->progress(&pr, R->p->user))
        R->stopped = 1;
    return R->stopped;
}

static void problem(run *R, const char *path, const char *msg)
{
    if (R->p->problem)
        R->p->problem(path, msg, R->p->user);
}

static int walk_cancel(void *user) { return progress(user, CLIPSEARCH_PHASE_WALK, 0, 0); }

static clipsearch_status oom(clipsearch_error *err)
{
    return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
}

static clipsearch_status add_job(run *R, const char *path, int64_t size, int64_t mtime,
                                 int kind, int64_t row_id, const char *hash,
                                 clipsearch_error *err)
{
    job *j;
    if (!cs_array_reserve(&R->jobs, &R->cap_jobs, R->n_jobs, sizeof *R->jobs, 256))
        return oom(err);
    j = &R->jobs[R->n_jobs];
    memset(j, 0, sizeof *j);
    if (!(j->path = strdup(path)))
        return oom(err);
    j->size = size;
    j->mtime_ns = mtime;
    j->kind = kind;
    j->row_id = row_id;
    if (hash && *hash) {
        snprintf(j->hash, sizeof j->hash, "%s", hash);
        j->hashed = 1;
    }
    R->n_jobs++;
    return CLIPSEARCH_OK;
}

static clipsearch_status add_gone(run *R, const cs_file_row *row, clipsearch_error *err)
{
    vanished *g;
    if (!cs_array_reserve(&R->gone, &R->cap_gone, R->n_gone, sizeof *R->gone, 64))
        return oom(err);
    g = &R->gone[R->n_gone];
    memset(g, 0, sizeof *g);
    if (!(g->path = strdup(row->path)))
        return oom(err);
    g->id = row->id;
    snprintf(g->hash, sizeof g->hash, "%s", row->hash);
    g->has_embedding = row->has_embedding;
    g->has_error = row->has_error;
    R->n_gone++;
    return CLIPSEARCH_OK;
}

static int under_bad_dir(const run *R, const char *path)
{
    for (size_t i = 0; i < R->n_bad_dirs; i++)
        if (under_dir(path, R->bad_dirs[i]))
            return 1;
    return 0;
}

/* Walks one root and compares it with the library's records under it. */
static clipsearch_status scan_root(run *R, const char *root, clipsearch_error *err)
{
    cs_walk_params wp;
    cs_walk_result wr;
    cs_file_row *rows = NULL;
    size_t n_rows = 0, i = 0, k = 0;
    int64_t root_id;
    clipsearch_status r;
    double t = now();

    memset(&wp, 0, sizeof wp);
    wp.excludes = R->p->excludes;
    wp.n_excludes = R->p->n_excludes;
    wp.follow_symlinks = R->p->follow_symlinks;
    wp.cancel = walk_cancel;
    wp.user = R;
    if ((r = cs_walk(root, &wp, &wr, err)) != CLIPSEARCH_OK)
        return r;
    R->sum->walk_seconds += now() - t;
    for (size_t p = 0; p < wr.n_problems; p++) {
        problem(R, wr.problems[p].path, wr.problems[p].message);
        if (wr.problems[p].is_dir) {
            char *d;
            R->sum->unreadable_folders++;
            if (!cs_array_reserve(&R->bad_dirs, &R->cap_bad_dirs, R->n_bad_dirs,
                                  sizeof *R->bad_dirs, 8)) {
                r = oom(err);
                goto out;
            }
            if (!(d = strdup(wr.problems[p].path))) {
                r = oom(err);
                goto out;
            }
            R->bad_dirs[R->n_bad_dirs++] = d;
        } else {
            R->sum->failed++; /* a file seen but not readable */
            R->sum->seen++;
        }
    }
    if ((r = cs_store_begin_write(R->lib->store, err)) != CLIPSEARCH_OK)
        goto out;
    r = cs_store_root_add(R->lib->store, root, &root_id, err);
    if (r == CLIPSEARCH_OK)
        r = cs_store_commit(R->lib->store, err);
    else
        cs_store_rollback(R->lib->store);
    if (r != CLIPSEARCH_OK)
        goto out;
    if ((r = cs_store_files_under(R->lib->store, root, R->model.id, &rows, &n_rows, err)) !=
        CLIPSEARCH_OK)
        goto out;
    /* Merge the two sorted lists. */
    while (i < wr.n_files || k < n_rows) {
        int c = i >= wr.n_files ? 1 : k >= n_rows ? -1 : strcmp(wr.files[i].path, rows[k].path);
        if (c < 0) {
            const cs_walk_entry *e = &wr.files[i++];
            R->sum->seen++;
            r = add_job(R, e->path, e->size, e->mtime_ns, JOB_NEW, 0, NULL, err);
        } else if (c > 0) {
            const cs_file_row *row = &rows[k++];
            if (!under_bad_dir(R, row->path))
                r = add_gone(R, row, err);
        } else {
            const cs_walk_entry *e = &wr.files[i++];
            const cs_file_row *row = &rows[k++];
            R->sum->seen++;
            if (e->size == row->size && e->mtime_ns == row->mtime_ns) {
                if (row->has_embedding || row->has_error)
                    R->sum->unchanged++;
                else
                    r = add_job(R, e->path, e->size, e->mtime_ns, JOB_MISSING, row->id,
                                row->hash, err);
            } else {
                r = add_job(R, e->path, e->size, e->mtime_ns, JOB_CHANGED, row->id, NULL, err);
            }
        }
        if (r != CLIPSEARCH_OK)
            goto out;
    }
out:
    cs_file_rows_free(rows, n_rows);
    cs_walk_result_free(&wr);
    return r;
}

static void *hash_worker(void *arg)
{
    run *R = arg;
    for (;;) {
        size_t i;
        job *j;
        clipsearch_error e = {0};
        pthread_mutex_lock(&R->mu);
        while (R->hash_next < R->n_jobs && R->jobs[R->hash_next].hashed)
            R->hash_next++;
        i = R->hash_next++;
        pthread_mutex_unlock(&R->mu);
        if (i >= R->n_jobs)
            break;
        j = &R->jobs[i];
        if (cs_hash_file(j->path, j->hash, NULL, &e) != CLIPSEARCH_OK) {
            j->failed = 1;
            snprintf(j->error, sizeof j->error, "%.*s", (int)sizeof j->error - 1, e.message);
        }
        j->hashed = 1;
    }
    return NULL;
}

static clipsearch_status hash_jobs(run *R, int n_threads, clipsearch_error *err)
{
    pthread_t th[64];
    int started = 0;
    double t = now();
    (void)err;
    if (n_threads > 64)
        n_threads = 64;
    R->hash_next = 0;
    pthread_mutex_init(&R->mu, NULL);
    for (; started < n_threads; started++)
        if (pthread_create(&th[started], NULL, hash_worker, R) != 0)
            break;
    if (started == 0)
        hash_worker(R);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&R->mu);
    R->sum->hash_seconds += now() - t;
    return CLIPSEARCH_OK;
}

static int cmp_gone_hash(const void *a, const void *b)
{
    return strcmp(((const vanished *)a)->hash, ((const vanished *)b)->hash);
}

static vanished *find_gone(run *R, const char *hash)
{
    size_t lo = 0, hi = R->n_gone;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(R->gone[mid].hash, hash);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < R->n_gone && !strcmp(R->gone[lo].hash, hash); lo++)
        if (!R->gone[lo].claimed)
            return &R->gone[lo];
    return NULL;
}

static int cmp_job_index_hash(const void *a, const void *b, void *arg)
{
    const job *jobs = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(jobs[x].hash, jobs[y].hash);
    return c ? c : (x < y ? -1 : x > y);
}

static clipsearch_status record_failure(run *R, const job *j, const char *message,
                                        clipsearch_error *err)
{
    cs_file_meta m;
    int64_t id;
    clipsearch_status r;
    memset(&m, 0, sizeof m);
    m.path = j->path;
    m.size = j->size;
    m.mtime_ns = j->mtime_ns;
    m.hash = j->hashed && !j->failed ? j->hash : NULL;
    m.error = message;
    if ((r = cs_store_file_put(R->lib->store, &m, &id, err)) != CLIPSEARCH_OK)
        return r;
    r = cs_store_embedding_delete(R->lib->store, id, R->model.id, err);
    R->sum->failed++;
    problem(R, j->path, message);
    return r;
}

/* Copies content-identical file `from` into job j's row. */
static clipsearch_status copy_from(run *R, const job *j, int64_t from, clipsearch_error *err)
{
    cs_file_meta m;
    int64_t id;
    clipsearch_status r;
    memset(&m, 0, sizeof m);
    m.path = j->path;
    m.size = j->size;
    m.mtime_ns = j->mtime_ns;
    m.hash = j->hash;
    if ((r = cs_store_file_put(R->lib->store, &m, &id, err)) != CLIPSEARCH_OK ||
        (r = cs_store_file_copy_meta(R->lib->store, from, id, err)) != CLIPSEARCH_OK ||
        (r = cs_store_embedding_copy(R->lib->store, from, id, R->model.id, err)) !=
            CLIPSEARCH_OK)
        return r;
    R->sum->copied++;
    return CLIPSEARCH_OK;
}

/* One transaction: moves, removals, copies of already indexed content,
 * failures to hash.  Marks the jobs that still need encoding (hashed, not
 * failed, not deferred, not done). */
static clipsearch_status resolve(run *R, unsigned char *todo, clipsearch_error *err)
{
    cs_store *s = R->lib->store;
    size_t *order = NULL;
    clipsearch_status r;
    int changed = 0;
    if (R->n_gone > 1)
        qsort(R->gone, R->n_gone, sizeof *R->gone, cmp_gone_hash);
    if ((r = cs_store_begin_write(s, err)) != CLIPSEARCH_OK)
        return r;
    for (size_t i = 0; i < R->n_jobs; i++) {
        job *j = &R->jobs[i];
        vanished *g;
        todo[i] = 0;
        if (j->failed) {
            if ((r = record_failure(R, j, j->error, err)) != CLIPSEARCH_OK)
                goto out;
            continue;
        }
        if (j->kind == JOB_NEW && j->hash[0] && (g = find_gone(R, j->hash)) != NULL) {
            g->claimed = 1;
            if ((r = cs_store_file_move(s, g->id, j->path, j->size, j->mtime_ns, err)) !=
                CLIPSEARCH_OK)
                goto out;
            R->sum->moved++;
            if (!g->has_embedding && !g->has_error) {
                /* Indexed by another model only: still needs this one. */
                j->kind = JOB_MISSING;
                j->row_id = g->id;
                R->sum->moved--;
                todo[i] = 1;
            }
            continue;
        }
        todo[i] = 1;
    }
    for (size_t i = 0; i < R->n_gone; i++) {
        if (R->gone[i].claimed)
            continue;
        if ((r = cs_store_file_delete(s, R->gone[i].id, err)) != CLIPSEARCH_OK)
            goto out;
        R->sum->removed++;
        changed = 1;
    }
    if (changed && (r = cs_store_model_bump(s, 0, err)) != CLIPSEARCH_OK)
        goto out;
    /* Content already indexed (and not about to be re-encoded itself). */
    changed = 0;
    for (size_t i = 0; i < R->n_jobs; i++) {
        job *j = &R->jobs[i];
        int64_t from = 0;
        if (!todo[i] || !j->hash[0])
            continue;
        if ((r = cs_store_file_with_hash(s, j->hash, R->model.id, j->row_id, &from, err)) !=
            CLIPSEARCH_OK)
            goto out;
        if (from) {
            if ((r = copy_from(R, j, from, err)) != CLIPSEARCH_OK)
                goto out;
            todo[i] = 0;
            changed = 1;
        }
    }
    if (changed && (r = cs_store_model_bump(s, R->model.id, err)) != CLIPSEARCH_OK)
        goto out;
    /* Identical new files in this run: encode the first, copy the rest. */
    order = malloc((R->n_jobs ? R->n_jobs : 1) * sizeof *order);
    if (!order) {
        r = oom(err);
        goto out;
    }
    {
        size_t m = 0;
        for (size_t i = 0; i < R->n_jobs; i++)
            if (todo[i] && R->jobs[i].hash[0])
                order[m++] = i;
        if (m > 1)
            qsort_r(order, m, sizeof *order, cmp_job_index_hash, R->jobs);
        for (size_t a = 1; a < m; a++)
            if (!strcmp(R->jobs[order[a]].hash, R->jobs[order[a - 1]].hash)) {
                R->jobs[order[a]].defer = 1;
                todo[order[a]] = 0;
            }
    }
    r = cs_store_commit(s, err);
out:
    free(order);
    if (r != CLIPSEARCH_OK)
        cs_store_rollback(s);
    return r;
}

typedef struct sink_ctx {
    run *R;
    int dim;
} sink_ctx;

static clipsearch_status sink(cs_pipeline_item *items, const float *embeds, int n, void *user,
                              clipsearch_error *err)
{
    sink_ctx *sc = user;
    run *R = sc->R;
    cs_store *s = R->lib->store;
    clipsearch_status r;
    int64_t encoded = 0, failed = 0;
    double t = now();
    if ((r = cs_store_begin_write(s, err)) != CLIPSEARCH_OK)
        return r;
    for (int i = 0; i < n; i++) {
        const job *j = items[i].user;
        if (items[i].ok) {
            const clipsearch_image_info *in = &items[i].info;
            cs_file_meta m;
            int64_t id;
            memset(&m, 0, sizeof m);
            m.path = j->path;
            m.size = j->size;
            m.mtime_ns = j->mtime_ns;
            m.hash = j->hash;
            m.format = in->format;
            m.width = in->width;
            m.height = in->height;
            m.orientation = in->orientation;
            m.taken = in->taken;
            m.camera = in->camera;
            if ((r = cs_store_file_put(s, &m, &id, err)) != CLIPSEARCH_OK ||
                (r = cs_store_embedding_put(s, id, R->model.id, embeds + (size_t)i * sc->dim,
                                            sc->dim, err)) != CLIPSEARCH_OK)
                goto fail;
            encoded++;
        } else {
            cs_file_meta m;
            int64_t id;
            memset(&m, 0, sizeof m);
            m.path = j->path;
            m.size = j->size;
            m.mtime_ns = j->mtime_ns;
            m.hash = j->hash;
            m.error = items[i].error;
            if ((r = cs_store_file_put(s, &m, &id, err)) != CLIPSEARCH_OK ||
                (r = cs_store_embedding_delete(s, id, R->model.id, err)) != CLIPSEARCH_OK)
                goto fail;
            failed++;
        }
    }
    if ((encoded > 0 && (r = cs_store_model_note_precision(s, R->model.id, R->precision, err)) !=
                            CLIPSEARCH_OK) ||
        (r = cs_store_model_bump(s, R->model.id, err)) != CLIPSEARCH_OK ||
        (r = cs_store_commit(s, err)) != CLIPSEARCH_OK)
        goto fail;
    /* Counted only once committed. */
    R->sum->encoded += encoded;
    R->sum->failed += failed;
    for (int i = 0; i < n; i++)
        if (!items[i].ok)
            problem(R, items[i].path, items[i].error);
    R->encode_done += n;
    R->sum->write_seconds += now() - t;
    return CLIPSEARCH_OK;
fail:
    cs_store_rollback(s);
    return r;
}

static int pipeline_cancel(void *user)
{
    run *R = user;
    return progress(R, CLIPSEARCH_PHASE_ENCODE, R->encode_done, R->encode_total);
}

/* Jobs deferred as copies of content encoded in this run. */
static clipsearch_status finish_copies(run *R, clipsearch_error *err)
{
    cs_store *s = R->lib->store;
    clipsearch_status r;
    int any = 0, changed = 0;
    for (size_t i = 0; i < R->n_jobs; i++)
        any |= R->jobs[i].defer;
    if (!any)
        return CLIPSEARCH_OK;
    if ((r = cs_store_begin_write(s, err)) != CLIPSEARCH_OK)
        return r;
    for (size_t i = 0; i < R->n_jobs; i++) {
        job *j = &R->jobs[i];
        int64_t from = 0;
        if (!j->defer)
            continue;
        if ((r = cs_store_file_with_hash(s, j->hash, R->model.id, j->row_id, &from, err)) !=
            CLIPSEARCH_OK)
            goto out;
        if (from) {
            r = copy_from(R, j, from, err);
            changed = 1;
        } else {
            r = record_failure(R, j, "same content as a photo that could not be decoded",
                               err);
        }
        if (r != CLIPSEARCH_OK)
            goto out;
    }
    if (changed && (r = cs_store_model_bump(s, R->model.id, err)) != CLIPSEARCH_OK)
        goto out;
    r = cs_store_commit(s, err);
out:
    if (r != CLIPSEARCH_OK)
        cs_store_rollback(s);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > 64 ? 64 : n) : 1;
}

clipsearch_status clipsearch_library_index(clipsearch_library *lib, const char *model_dir,
                                           const char *const *roots, int n_roots,
                                           const clipsearch_index_params *params,
                                           clipsearch_index_summary *summary,
                                           clipsearch_error *err)
{
    clipsearch_index_params dp = clipsearch_index_default_params();
    clipsearch_index_summary dummy;
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_model *model = NULL;
    const clipsearch_model_info *mi;
    char fp[CS_HASH_HEX_SIZE], name[128];
    char **real = NULL;
    int n_real = 0;
    unsigned char *todo = NULL;
    cs_pipeline_item *items = NULL;
    run R;
    clipsearch_status r = CLIPSEARCH_OK;
    int n_threads, lock_fd = -1;

    if (!summary)
        summary = &dummy;
    memset(summary, 0, sizeof *summary);
    memset(&R, 0, sizeof R);
    R.t0 = now();
    if (!params)
        params = &dp;
    R.lib = lib;
    R.p = params;
    R.sum = summary;
    if (!lib || !model_dir || (!roots && n_roots > 0) || n_roots < 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "bad arguments to index");
    if (lib->read_only)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "%s: library opened read-only: cannot index", lib->dir);
    n_threads = params->n_threads > 0 ? params->n_threads : default_threads();
    if ((lock_fd = cs_library_lock(lib->dir, params->wait, walk_cancel, &R, err)) == -2)
        return err ? err->status : CLIPSEARCH_ERR_BUSY;

    /* The model first: a wrong --model should fail before any work. */
    if ((r = cs_model_fingerprint(model_dir, fp, err)) != CLIPSEARCH_OK)
        goto out;
    mp.towers = CLIPSEARCH_TOWER_VISION;
    mp.precision = params->precision;
    if ((r = clipsearch_model_load(model_dir, &mp, &model, err)) != CLIPSEARCH_OK)
        goto out;
    mi = clipsearch_model_get_info(model);
    R.precision = clipsearch_precision_name(mi->precision);
    snprintf(summary->precision, sizeof summary->precision, "%s", R.precision);
    {
        char *copy = strdup(model_dir), *base;
        size_t len;
        if (!copy) {
            r = oom(err);
            goto out;
        }
        len = strlen(copy);
        while (len > 1 && copy[len - 1] == '/')
            copy[--len] = '\0';
        base = strrchr(copy, '/');
        snprintf(name, sizeof name, "%s", base ? base + 1 : copy);
        free(copy);
    }
    /* Writing into a damaged database could spread the damage: the quick
     * check (every page and row, not the index contents) comes first. */
    {
        char first[300] = "";
        int ok = 0;
        if ((r = cs_store_integrity(lib->store, 1, first_problem, first, &ok, err)) !=
            CLIPSEARCH_OK)
            goto out;
        if (!ok) {
            r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                             "%s: the library is damaged (%s): nothing was written; run "
                             "'clipsearch check'",
                             lib->db_path, first);
            goto out;
        }
    }
    if ((r = cs_store_begin_write(lib->store, err)) != CLIPSEARCH_OK)
        goto out;
    r = cs_store_model_get_or_add(lib->store, name, mi->projection_dim, fp, params->index_type,
                                  &R.model, err);
    if (r == CLIPSEARCH_OK)
        r = cs_store_commit(lib->store, err);
    else
        cs_store_rollback(lib->store);
    if (r != CLIPSEARCH_OK)
        goto out;

    /* Roots: absolute, resolved, without duplicates or nesting. */
    real = calloc((size_t)(n_roots > 0 ? n_roots : 1), sizeof *real);
    if (!real) {
        r = oom(err);
        goto out;
    }
    for (int i = 0; i < n_roots; i++) {
        char *p = realpath(roots[i], NULL);
        if (!p) {
            char msg[300];
            snprintf(msg, sizeof msg, "cannot index: %s", strerror(errno));
            problem(&R, roots[i], msg);
            summary->missing_roots++;
            continue;
        }
        real[n_real++] = p;
    }
    if (n_real > 1)
        qsort(real, (size_t)n_real, sizeof *real, cmp_str);
    {
        int w = 0;
        for (int i = 0; i < n_real; i++) {
            if (w > 0 && under_dir(real[i], real[w - 1])) {
                free(real[i]);
                continue;
            }
            real[w++] = real[i];
        }
        n_real = w;
    }
    for (int i = 0; i < n_real; i++) {
        if ((r = scan_root(&R, real[i], err)) != CLIPSEARCH_OK)
            goto out;
    }

    /* Hash what is new or changed. */
    if (progress(&R, CLIPSEARCH_PHASE_HASH, 0, (int64_t)R.n_jobs)) {
        r = cs_error_set(err, CLIPSEARCH_ERR_INTERRUPTED, "interrupted before hashing");
        goto out;
    }
    if ((r = hash_jobs(&R, n_threads, err)) != CLIPSEARCH_OK)
        goto out;
    todo = malloc(R.n_jobs ? R.n_jobs : 1);
    if (!todo) {
        r = oom(err);
        goto out;
    }
    if ((r = resolve(&R, todo, err)) != CLIPSEARCH_OK)
        goto out;

    /* Decode and encode the rest. */
    {
        cs_pipeline_params pp;
        cs_pipeline_times times;
        sink_ctx sc;
        size_t m = 0;
        items = calloc(R.n_jobs ? R.n_jobs : 1, sizeof *items);
        if (!items) {
            r = oom(err);
            goto out;
        }
        for (size_t i = 0; i < R.n_jobs; i++)
            if (todo[i]) {
                items[m].path = R.jobs[i].path;
                items[m].user = &R.jobs[i];
                m++;
            }
        R.encode_total = (int64_t)m;
        memset(&pp, 0, sizeof pp);
        pp.model = model;
        pp.n_threads = n_threads;
        pp.batch_size = params->batch_size > 0 ? params->batch_size : 32;
        pp.preprocess = clipsearch_preprocess_default_params();
        pp.preprocess.size = mi->image_size;
        memcpy(pp.preprocess.mean, mi->image_mean, sizeof pp.preprocess.mean);
        memcpy(pp.preprocess.std, mi->image_std, sizeof pp.preprocess.std);
        pp.preprocess.mode = params->preprocess_mode;
        pp.cancel = pipeline_cancel;
        pp.cancel_user = &R;
        sc.R = &R;
        sc.dim = mi->projection_dim;
        R.encode_t0 = now();
        if (m > 0 && progress(&R, CLIPSEARCH_PHASE_ENCODE, 0, R.encode_total)) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INTERRUPTED, "interrupted before encoding");
            goto out;
        }
        r = cs_pipeline_run(&pp, items, m, sink, &sc, &times, err);
        summary->read_decode_seconds = times.decode_seconds;
        summary->encode_seconds = times.encode_seconds;
        summary->decode_wait_seconds = times.wait_seconds;
        if (summary->encode_seconds + times.wait_seconds > 0 && summary->encoded > 0)
            summary->images_per_second = (double)summary->encoded / (now() - R.encode_t0);
        if (r != CLIPSEARCH_OK && r != CLIPSEARCH_ERR_INTERRUPTED)
            goto out;
    }
    if (r == CLIPSEARCH_OK) {
        clipsearch_error e2 = {0};
        if ((r = finish_copies(&R, err)) != CLIPSEARCH_OK)
            goto out;
        if (cs_store_begin_write(lib->store, &e2) == CLIPSEARCH_OK) {
            int64_t id;
            for (int i = 0; i < n_real; i++)
                if (cs_store_root_add(lib->store, real[i], &id, &e2) != CLIPSEARCH_OK ||
                    cs_store_root_mark_indexed(lib->store, id, &e2) != CLIPSEARCH_OK)
                    break;
            cs_store_commit(lib->store, &e2);
        }
    }
    /* Save the vector index, also after an interruption: what is committed
     * is searchable without a rebuild. */
    {
        clipsearch_error e2 = {0};
        clipsearch_status r2;
        double t = now();
        clipsearch_library_model pm;
        progress(&R, CLIPSEARCH_PHASE_SAVE, 0, 1);
        to_public_model(&R.model, &pm);
        r2 = clipsearch_library_sync_index(lib, &pm, &e2);
        summary->index_seconds = now() - t;
        if (r2 != CLIPSEARCH_OK && r == CLIPSEARCH_OK) {
            r = r2;
            if (err)
                *err = e2;
        }
    }
out:
    summary->seconds = now() - R.t0;
    if (summary->images_per_second == 0 && summary->encoded > 0 && summary->seconds > 0)
        summary->images_per_second = (double)summary->encoded / summary->seconds;
    free(items);
    free(todo);
    for (size_t i = 0; i < R.n_jobs; i++)
        free(R.jobs[i].path);
    free(R.jobs);
    for (size_t i = 0; i < R.n_gone; i++)
        free(R.gone[i].path);
    free(R.gone);
    for (size_t i = 0; i < R.n_bad_dirs; i++)
        free(R.bad_dirs[i]);
    free(R.bad_dirs);
    for (int i = 0; i < n_real; i++)
        free(real[i]);
    free(real);
    clipsearch_model_free(model);
    if (lock_fd >= 0)
        close(lock_fd);
    return r;
}

cs_store *cs_library_store(clipsearch_library *lib) { return lib ? lib->store : NULL; }

void cs_library_vindex_path(const clipsearch_library *lib, int64_t model_id, char *buf,
                            size_t size)
{
    vindex_path(lib, model_id, buf, size);
}
