/*
 * clipsearch/library.h — photo libraries: indexing folders into a SQLite
 * database plus a FAISS vector index, and searching them.
 *
 * A library is a folder (by default $CLIPSEARCH_DB, else
 * $XDG_DATA_HOME/clipsearch, else ~/.local/share/clipsearch) holding
 *   library.sqlite3        files, EXIF metadata, models, embeddings (WAL mode)
 *   vectors-<model>.faiss  the vector index of one model, rebuilt from the
 *                          database whenever it is missing, stale or damaged.
 *
 * Thread-safety: a clipsearch_library handle is used by one thread at a time
 * (open one per thread).  Any number of processes may open the same library:
 * one indexer writes while searches read committed data.
 */
#ifndef CLIPSEARCH_LIBRARY_H
#define CLIPSEARCH_LIBRARY_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"
#include "clipsearch/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clipsearch_library clipsearch_library;

/* ---- opening ---------------------------------------------------------- */

typedef struct clipsearch_library_params {
    /* 0: create the folder and database if absent, upgrade the schema.
     * 1: never write (a search): fails with CLIPSEARCH_ERR_NOT_FOUND when
     *    there is no library, and rebuilt vector indexes stay in memory. */
    int read_only;
} clipsearch_library_params;

clipsearch_library_params clipsearch_library_default_params(void);

/*
 * Opens the library in folder `path` (NULL = clipsearch_library_default_path).
 * params may be NULL (defaults).  On success *out owns the handle; close it
 * with clipsearch_library_close.
 */
clipsearch_status clipsearch_library_open(const char *path,
                                          const clipsearch_library_params *params,
                                          clipsearch_library **out,
                                          clipsearch_error *err);

/* Closes a library; NULL is allowed.  Nothing uncommitted exists between
 * calls, so closing never loses work. */
void clipsearch_library_close(clipsearch_library *lib);

/* The library's folder, valid as long as the handle. */
const char *clipsearch_library_path(const clipsearch_library *lib);

/* Writes the default library folder to buf[size]: $CLIPSEARCH_DB if set,
 * else $XDG_DATA_HOME/clipsearch, else $HOME/.local/share/clipsearch.
 * CLIPSEARCH_ERR_NOT_FOUND if none of those variables is set. */
clipsearch_status clipsearch_library_default_path(char *buf, size_t size,
                                                  clipsearch_error *err);

/* ---- models ------------------------------------------------------------ */

#define CLIPSEARCH_FINGERPRINT_SIZE 33 /* 32 hex digits + NUL */

/* Fingerprint of a model folder (config.json + model.safetensors): equal
 * fingerprints mean the same weights.  Cheap (reads ~2 MB).  Thread-safe. */
clipsearch_status clipsearch_model_fingerprint(const char *model_dir,
                                               char out[CLIPSEARCH_FINGERPRINT_SIZE],
                                               clipsearch_error *err);

/* A model recorded in a library. */
typedef struct clipsearch_library_model {
    int64_t id;
    char name[128];              /* the model folder's name when indexed */
    int dim;                     /* embedding size */
    char fingerprint[CLIPSEARCH_FINGERPRINT_SIZE];
    char index_type[64];         /* FAISS index factory string, e.g. "Flat" */
    int64_t n_embeddings;        /* photos embedded with it */
    /* appended fields */
    int64_t generation;          /* changes whenever its set of vectors changes
                                    (an indexing run added, moved or removed photos) */
} clipsearch_library_model;

/* Fills models[0..max-1] (ordered by id) and *n with how many the library
 * holds (which may exceed max). */
clipsearch_status clipsearch_library_models(clipsearch_library *lib,
                                            clipsearch_library_model *models, int max,
                                            int *n, clipsearch_error *err);

/* The library's record of the model in model_dir (by fingerprint).
 * CLIPSEARCH_ERR_NOT_FOUND, with a message saying which models the library
 * was built with, when it holds no embeddings from this model. */
clipsearch_status clipsearch_library_find_model(clipsearch_library *lib,
                                                const char *model_dir,
                                                clipsearch_library_model *out,
                                                clipsearch_error *err);

/* ---- indexing ---------------------------------------------------------- */

typedef enum clipsearch_index_phase {
    CLIPSEARCH_PHASE_WALK = 0,   /* listing folders */
    CLIPSEARCH_PHASE_HASH = 1,   /* hashing new and changed files */
    CLIPSEARCH_PHASE_ENCODE = 2, /* decoding + embedding */
    CLIPSEARCH_PHASE_SAVE = 3    /* writing the vector index */
} clipsearch_index_phase;

typedef struct clipsearch_index_progress {
    clipsearch_index_phase phase;
    int64_t done;             /* items finished in this phase */
    int64_t total;            /* items in this phase (0 while walking) */
    double elapsed;           /* seconds since the run started */
    double images_per_second; /* encoding rate so far (ENCODE phase) */
} clipsearch_index_progress;

/* Called on the indexing thread: while walking (every ~256 entries), while
 * hashing, after each committed batch and before saving.  Return non-zero
 * to stop: the current batch is finished and committed, and
 * clipsearch_library_index returns CLIPSEARCH_ERR_INTERRUPTED.  Safe to use
 * with a flag set by a signal handler. */
typedef int (*clipsearch_index_progress_fn)(const clipsearch_index_progress *progress,
                                            void *user);

/* Called on the indexing thread for each file that failed (decode error,
 * unreadable) and each folder that could not be read.  The strings are
 * valid during the call only. */
typedef void (*clipsearch_index_problem_fn)(const char *path, const char *message,
                                            void *user);

typedef struct clipsearch_index_params {
    int n_threads;                /* decode workers and encoder threads; <= 0: all cores */
    int batch_size;               /* photos per encode call and transaction (32) */
    const char *const *excludes;  /* [n_excludes] fnmatch globs on names and paths */
    int n_excludes;
    int follow_symlinks;          /* 0: symlinks are ignored */
    const char *index_type;       /* FAISS factory string ("Flat", "HNSW32",
                                     "IVF1024,PQ32"); NULL keeps the library's
                                     (default "Flat") */
    clipsearch_preprocess_mode preprocess_mode; /* CLIPSEARCH_PREPROCESS_FAST */
    clipsearch_index_progress_fn progress;      /* may be NULL */
    clipsearch_index_problem_fn problem;        /* may be NULL */
    void *user;                   /* passed to both callbacks */
} clipsearch_index_params;

clipsearch_index_params clipsearch_index_default_params(void);

/* What a run did.  Every photo found is counted once in seen and in exactly
 * one of encoded, unchanged, moved, copied, failed. */
typedef struct clipsearch_index_summary {
    int64_t seen;      /* photo files found under the roots */
    int64_t encoded;   /* decoded and embedded */
    int64_t unchanged; /* same size and mtime: skipped without reading */
    int64_t moved;     /* content of a vanished file at a new path: path updated */
    int64_t copied;    /* content identical to an indexed photo: embedding reused */
    int64_t removed;   /* gone from disk: removed from the library */
    int64_t failed;    /* could not be read or decoded (recorded with the reason) */
    int64_t unreadable_folders; /* folders skipped; nothing under them was removed */
    int64_t missing_roots;      /* roots that do not exist: nothing was removed */
    double seconds;             /* whole run */
    double images_per_second;   /* encoded / encode phase time */
    /* Where the time went (seconds; decode and preprocess are summed over
     * worker threads, the others are wall time on the indexing thread). */
    double walk_seconds, hash_seconds, read_decode_seconds, encode_seconds,
        write_seconds, index_seconds;
    /* Wall time the encoder sat idle waiting for decoded photos (mostly the
     * first batch: later ones are decoded while the previous is encoded). */
    double decode_wait_seconds;
} clipsearch_index_summary;

/*
 * Indexes the folders roots[0..n_roots-1] (or single files) with the model
 * in model_dir (vision tower loaded here).  Unchanged files are skipped,
 * moves and copies are recognised by content hash, vanished files are
 * removed, and the vector index is saved at the end.  Each batch is one
 * transaction, so a crash loses at most one batch.
 * Per-file failures do not fail the call.  Returns CLIPSEARCH_OK,
 * CLIPSEARCH_ERR_INTERRUPTED (progress callback asked to stop; work so far
 * is committed), or an error (model, database, disk full...), after which
 * the library is still consistent.  summary (may be NULL) is filled in all
 * cases.  params may be NULL (defaults).
 */
clipsearch_status clipsearch_library_index(clipsearch_library *lib, const char *model_dir,
                                           const char *const *roots, int n_roots,
                                           const clipsearch_index_params *params,
                                           clipsearch_index_summary *summary,
                                           clipsearch_error *err);

/* ---- searching ----------------------------------------------------------- */

typedef struct clipsearch_search_params {
    int limit;                /* results wanted (10) */
    float min_score;          /* drop results below (default -1: none) */
    const char *under;        /* only photos under this folder (absolute); NULL = all */
    const char *taken_after;  /* "YYYY-MM-DD[ HH:MM:SS]" inclusive; NULL = no bound.
                                 Photos without a capture time are dropped when
                                 either bound is set. */
    const char *taken_before; /* exclusive */
    /* appended fields */
    int reuse_stale_index;    /* 1: search the vector index this handle already holds
                                 even if the library changed since (while an indexer
                                 runs, rebuilding it for every committed batch would
                                 cost seconds per search): photos added meanwhile are
                                 missed, removed ones are left out.  0 (default):
                                 always the current state. */
} clipsearch_search_params;

clipsearch_search_params clipsearch_search_default_params(void);

typedef struct clipsearch_search_result {
    int64_t file_id;
    float score;              /* inner product of normalised vectors (cosine) */
    const char *path;         /* absolute; owned by the results */
    int width, height;        /* upright size, 0 if unknown */
    char taken[20];           /* EXIF capture time, "" if unknown */
    /* appended fields */
    char camera[128];         /* EXIF make + model, "" if unknown */
} clipsearch_search_result;

typedef struct clipsearch_search_results {
    int n;
    clipsearch_search_result *items; /* [n], best first */
} clipsearch_search_results;

/*
 * Nearest photos to query[dim] (dim = model->dim; normalised here, need not
 * be) among the embeddings of `model` (from clipsearch_library_find_model).
 * Loads the model's vector index on first use and keeps it in the handle;
 * a missing, stale or damaged index file is rebuilt from the database (and
 * saved unless read-only).  Results reflect one committed state even while
 * an indexer runs.  On success *out owns the results: free with
 * clipsearch_search_results_free.
 */
clipsearch_status clipsearch_library_search(clipsearch_library *lib,
                                            const clipsearch_library_model *model,
                                            const float *query,
                                            const clipsearch_search_params *params,
                                            clipsearch_search_results **out,
                                            clipsearch_error *err);

void clipsearch_search_results_free(clipsearch_search_results *results);

/*
 * Starts reading `model`'s vector index file on a background thread, so that
 * a search issued after the query is embedded finds it in memory: a search
 * process can load the model and the index at the same time.  Optional; the
 * index is still checked against the database when the search adopts it,
 * and a missing or stale file is rebuilt then, as without a prefetch.  The
 * next call on `lib` that needs the index (or clipsearch_library_close) waits
 * for the thread.  Same thread rules as the other calls.
 */
clipsearch_status clipsearch_library_prefetch_index(clipsearch_library *lib,
                                                    const clipsearch_library_model *model,
                                                    clipsearch_error *err);

/* Embedding of an indexed photo (by absolute path) into out[model->dim].
 * CLIPSEARCH_ERR_NOT_FOUND if the photo is not in the library. */
clipsearch_status clipsearch_library_get_embedding(clipsearch_library *lib,
                                                   const clipsearch_library_model *model,
                                                   const char *path, float *out,
                                                   clipsearch_error *err);

/* Every embedding of a model: *ids [n] file ids, *vectors [n][dim],
 * normalised.  Both are malloc'd: release with clipsearch_free. */
clipsearch_status clipsearch_library_get_embeddings(clipsearch_library *lib,
                                                    const clipsearch_library_model *model,
                                                    int64_t **ids, float **vectors,
                                                    int64_t *n, clipsearch_error *err);

/* Makes sure the model's index file matches the database (rebuilding and
 * saving it if not).  Not allowed on a read-only handle. */
clipsearch_status clipsearch_library_sync_index(clipsearch_library *lib,
                                                const clipsearch_library_model *model,
                                                clipsearch_error *err);

/* ---- single photos (what a server showing results needs) --------------- */

#define CLIPSEARCH_PATH_SIZE 4096

/* What the library records about one photo file. */
typedef struct clipsearch_library_file {
    int64_t id;
    char path[CLIPSEARCH_PATH_SIZE]; /* absolute, as indexed */
    int64_t size;                    /* bytes when indexed */
    int64_t mtime_ns;
    char hash[CLIPSEARCH_FINGERPRINT_SIZE]; /* XXH3-128 of the content, hex; "" if unknown */
    char format[16];                 /* as clipsearch_image_info.format; "" if unknown */
    int width, height;               /* upright size, 0 if unknown */
    int orientation;                 /* EXIF orientation 1..8, 0 if unknown */
    char taken[20];                  /* "YYYY-MM-DD HH:MM:SS", "" if unknown */
    char camera[128];                /* "" if unknown */
    int failed;                      /* 1: recorded with an error (not searchable) */
} clipsearch_library_file;

/* The record of the file with this id (a search result's file_id).
 * CLIPSEARCH_ERR_NOT_FOUND if there is none (never indexed, or removed by a
 * later indexing run). */
clipsearch_status clipsearch_library_get_file(clipsearch_library *lib, int64_t file_id,
                                              clipsearch_library_file *out,
                                              clipsearch_error *err);

/* Embedding of the photo with this id into out[model->dim].
 * CLIPSEARCH_ERR_NOT_FOUND if it has none with this model. */
clipsearch_status clipsearch_library_get_embedding_by_id(clipsearch_library *lib,
                                                         const clipsearch_library_model *model,
                                                         int64_t file_id, float *out,
                                                         clipsearch_error *err);

/* *inside = 1 when `path` (absolute, symlinks already resolved by the
 * caller) is one of the library's roots (the folders given to the indexer,
 * resolved) or under one, else 0. */
clipsearch_status clipsearch_library_path_in_roots(clipsearch_library *lib, const char *path,
                                                   int *inside, clipsearch_error *err);

/* Re-reads model->generation and model->n_embeddings from the database
 * (they change while an indexer runs).  CLIPSEARCH_ERR_NOT_FOUND if the
 * model was removed. */
clipsearch_status clipsearch_library_refresh_model(clipsearch_library *lib,
                                                   clipsearch_library_model *model,
                                                   clipsearch_error *err);

/* 1 while an indexing run (clipsearch_library_index, in any process) works
 * on this library, else 0.  The run holds an exclusive flock(2) on the
 * file "indexer.lock" in the library folder for its whole duration; the
 * kernel drops it when the process dies, so a crashed run never leaves the
 * flag set.  Thread-safe (touches no handle state). */
int clipsearch_library_indexing(const clipsearch_library *lib);

/* Frees memory returned by this API; NULL is allowed. */
void clipsearch_free(void *p);

/* ---- statistics ---------------------------------------------------------- */

typedef struct clipsearch_library_stats {
    int64_t roots;        /* folders ever indexed */
    int64_t files;        /* photo files recorded */
    int64_t photos;       /* of which indexed without error */
    int64_t failures;     /* of which failed (with a reason) */
    int64_t models;
    int64_t embeddings;   /* all models together */
    int64_t database_bytes; /* library.sqlite3 + its WAL */
    int64_t index_bytes;    /* all vectors-*.faiss files */
} clipsearch_library_stats;

clipsearch_status clipsearch_library_get_stats(clipsearch_library *lib,
                                               clipsearch_library_stats *stats,
                                               clipsearch_error *err);

/* Calls fn(path, reason, user) for each recorded failure, ordered by path;
 * fn returns non-zero to stop early. */
clipsearch_status clipsearch_library_list_failures(
    clipsearch_library *lib, int (*fn)(const char *path, const char *reason, void *user),
    void *user, clipsearch_error *err);

/* A short reason that groups failures, from a failure's path and message
 * (as clipsearch_library_list_failures gives them): "unsupported format:
 * .psd" (the extension, lower case), "truncated file", "empty file", "over
 * the pixel budget", "unreadable file", "out of memory", "damaged PNG
 * file", "unsupported feature of TIFF file", else "other error".  Writes a
 * NUL-terminated string of at most cap bytes to out.  NULL path/message are
 * treated as empty.  Thread-safe. */
void clipsearch_failure_group(const char *path, const char *message, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_LIBRARY_H */
