/* store.h — the SQLite side of a library: schema migrations, files, models,
 * embeddings.  Private to libclipsearch.
 *
 * One cs_store wraps one SQLite connection; it is used by one thread at a
 * time.  Every function returns a status and fills err with a message that
 * names the database file and quotes SQLite's own text. */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

/* One schema file, compiled in by scripts/gen-schema.sh (src/schema_sql.c).
 * The table ends with an entry whose name is NULL. */
typedef struct cs_schema_migration {
    int version;      /* NNNN of schema/NNNN_name.sql: user_version after it */
    const char *name; /* "0001_initial.sql" */
    const char *const *sql_lines; /* NULL-terminated, each ends with "\n" */
} cs_schema_migration;
extern const cs_schema_migration cs_schema_migrations[];

/* Highest version in cs_schema_migrations. */
int cs_schema_latest_version(void);

typedef struct cs_store cs_store;

/* Opens (creating unless read_only) the database at path, sets WAL mode,
 * synchronous=FULL, foreign keys and a busy timeout, and applies missing
 * migrations in one transaction.  A read-only open never writes: it fails
 * with CLIPSEARCH_ERR_UNSUPPORTED if the schema needs migrating. */
clipsearch_status cs_store_open(const char *path, int read_only, cs_store **out,
                                clipsearch_error *err);
void cs_store_close(cs_store *s);
const char *cs_store_path(const cs_store *s);
int cs_store_read_only(const cs_store *s);
struct sqlite3 *cs_store_db(cs_store *s);

/* PRAGMA user_version. */
clipsearch_status cs_store_schema_version(cs_store *s, int *version, clipsearch_error *err);

/* Tables and indexes that the schema at `version` defines and the database
 * lacks (dropped: damage), compared with the migrations up to `version`
 * applied to an empty in-memory database.  Calls fn(type, name, sql) for
 * each ("table"/"index", its name, the CREATE statement; fn returns non-zero
 * to stop; may be NULL) and sets *n_missing. */
clipsearch_status cs_store_schema_missing(cs_store *s, int version,
                                         int (*fn)(const char *type, const char *name,
                                                   const char *sql, void *user),
                                         void *user, int *n_missing, clipsearch_error *err);

/* PRAGMA integrity_check (quick = 0) or quick_check (1, no index contents):
 * *ok = 1 when SQLite says "ok"; else fn(message) for each problem it
 * reports (up to 100; fn may be NULL, returns non-zero to stop).  A
 * database too damaged to be walked at all gives *ok = 0 and SQLite's error
 * as the message, not an error return (that is for I/O errors). */
clipsearch_status cs_store_integrity(cs_store *s, int quick,
                                    int (*fn)(const char *message, void *user), void *user,
                                    int *ok, clipsearch_error *err);

/* Transactions: begin_write takes the write lock at once (BEGIN IMMEDIATE),
 * begin_read opens a snapshot (BEGIN DEFERRED + a first read). */
clipsearch_status cs_store_begin_write(cs_store *s, clipsearch_error *err);
clipsearch_status cs_store_begin_read(cs_store *s, clipsearch_error *err);
clipsearch_status cs_store_commit(cs_store *s, clipsearch_error *err);
void cs_store_rollback(cs_store *s); /* no-op outside a transaction */
clipsearch_status cs_store_exec(cs_store *s, const char *sql, clipsearch_error *err);

/* ---- roots ---- */
clipsearch_status cs_store_root_add(cs_store *s, const char *path, int64_t *id,
                                    clipsearch_error *err);
clipsearch_status cs_store_root_mark_indexed(cs_store *s, int64_t id, clipsearch_error *err);

/* ---- models ---- */
typedef struct cs_model_row {
    int64_t id;
    char name[128];
    int dim;
    char fingerprint[33];
    int64_t generation;
    char index_type[64];
    int64_t n_embeddings;
    char precision[8]; /* "fp32", "bf16", "mixed"; "": no embeddings recorded */
} cs_model_row;

/* Records that embeddings of `precision` ("fp32"/"bf16") were added to the
 * model: it becomes the model's precision, or "mixed" if it had another. */
clipsearch_status cs_store_model_note_precision(cs_store *s, int64_t model_id,
                                               const char *precision, clipsearch_error *err);

/* Finds the model with this fingerprint, or adds it (name, dim, index_type).
 * A known model keeps its stored index type unless index_type is not NULL
 * and differs, in which case it is updated (and its generation bumped). */
clipsearch_status cs_store_model_get_or_add(cs_store *s, const char *name, int dim,
                                            const char *fingerprint,
                                            const char *index_type, cs_model_row *out,
                                            clipsearch_error *err);
/* CLIPSEARCH_ERR_NOT_FOUND when absent. */
clipsearch_status cs_store_model_find(cs_store *s, const char *fingerprint,
                                      cs_model_row *out, clipsearch_error *err);
clipsearch_status cs_store_model_by_id(cs_store *s, int64_t id, cs_model_row *out,
                                       clipsearch_error *err);
/* The same without counting the model's embeddings (n_embeddings = -1):
 * the count walks an index of every embedding. */
clipsearch_status cs_store_model_find_light(cs_store *s, const char *fingerprint,
                                            cs_model_row *out, clipsearch_error *err);
clipsearch_status cs_store_model_by_id_light(cs_store *s, int64_t id, cs_model_row *out,
                                             clipsearch_error *err);
/* All models, ordered by id; *rows is malloc'd (free()).  counts = 0:
 * n_embeddings = -1 (not counted). */
clipsearch_status cs_store_models(cs_store *s, cs_model_row **rows, size_t *n, int counts,
                                  clipsearch_error *err);
/* generation += 1 for one model (model_id > 0) or all (model_id == 0). */
clipsearch_status cs_store_model_bump(cs_store *s, int64_t model_id, clipsearch_error *err);

/* ---- files ---- */
typedef struct cs_file_row {
    int64_t id;
    char *path;          /* owned by the array, see cs_file_rows_free */
    int64_t size;
    int64_t mtime_ns;
    char hash[33];       /* "" when unknown */
    int has_embedding;   /* for the model asked about */
    int has_error;
} cs_file_row;
void cs_file_rows_free(cs_file_row *rows, size_t n);

/* Files whose path is `dir` itself or under `dir`/ (absolute, no trailing
 * slash except for "/"), sorted by path (byte order). */
clipsearch_status cs_store_files_under(cs_store *s, const char *dir, int64_t model_id,
                                       cs_file_row **rows, size_t *n,
                                       clipsearch_error *err);

/* What is written for a file after reading it. */
typedef struct cs_file_meta {
    const char *path;
    int64_t size;
    int64_t mtime_ns;
    const char *hash;        /* may be NULL */
    const char *format;      /* NULL/"" = unknown */
    int width, height, orientation; /* 0 = unknown */
    const char *taken;       /* NULL/"" = unknown */
    const char *camera;
    const char *error;       /* NULL when fine */
} cs_file_meta;

/* Inserts or updates (by path) a file row; *id gets its id. */
clipsearch_status cs_store_file_put(cs_store *s, const cs_file_meta *m, int64_t *id,
                                    clipsearch_error *err);
/* Changes a file's path (a move), keeping its id, metadata and embeddings. */
clipsearch_status cs_store_file_move(cs_store *s, int64_t id, const char *new_path,
                                     int64_t size, int64_t mtime_ns, clipsearch_error *err);
/* Removes a file and its embeddings. */
clipsearch_status cs_store_file_delete(cs_store *s, int64_t id, clipsearch_error *err);
/* Copies metadata (format, size of picture, EXIF) of file `from` to `to`. */
clipsearch_status cs_store_file_copy_meta(cs_store *s, int64_t from, int64_t to,
                                          clipsearch_error *err);
/* A file with this hash that has an embedding for model_id and no error,
 * other than `except` (0 = none); *id = 0 when there is none. */
clipsearch_status cs_store_file_with_hash(cs_store *s, const char *hash, int64_t model_id,
                                          int64_t except, int64_t *id,
                                          clipsearch_error *err);

/* ---- embeddings ---- */
/* vec: [dim] float32, stored as given (callers normalise). */
clipsearch_status cs_store_embedding_put(cs_store *s, int64_t file_id, int64_t model_id,
                                         const float *vec, int dim, clipsearch_error *err);
clipsearch_status cs_store_embedding_copy(cs_store *s, int64_t from_file, int64_t to_file,
                                          int64_t model_id, clipsearch_error *err);
clipsearch_status cs_store_embedding_delete(cs_store *s, int64_t file_id, int64_t model_id,
                                            clipsearch_error *err);
/* vec: [dim]; CLIPSEARCH_ERR_NOT_FOUND when absent. */
clipsearch_status cs_store_embedding_get(cs_store *s, int64_t file_id, int64_t model_id,
                                         float *vec, int dim, clipsearch_error *err);
/* Every embedding of a model: *ids [n], *vecs [n][dim], both malloc'd.
 * Rows whose blob is not dim floats are an error (a damaged database). */
clipsearch_status cs_store_embeddings_all(cs_store *s, int64_t model_id, int dim,
                                          int64_t **ids, float **vecs, size_t *n,
                                          clipsearch_error *err);

/* Sets err from the connection's last error, prefixed by `what`.  Disk full
 * and I/O errors map to CLIPSEARCH_ERR_IO, the rest to ERR_DATABASE. */
clipsearch_status cs_store_error(cs_store *s, clipsearch_error *err, const char *what);

#endif
