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
#include "clipsearch/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clipsearch_library clipsearch_library;

/* ---- opening ---------------------------------------------------------- */

typedef struct clipsearch_library_params {
    /* 0: create the folder and database if absent, upgrade the schema.
     * 1: never write the database (a search): fails with
     *    CLIPSEARCH_ERR_NOT_FOUND when there is no library.  A vector index
     *    rebuilt because its file was missing or stale is still saved when
     *    the folder is writable and no indexer is running (else
     *    clipsearch_library_note says why not). */
    int read_only;
} clipsearch_library_params;

CLIPSEARCH_API
clipsearch_library_params clipsearch_library_default_params(void);

/*
 * Opens the library in folder `path` (NULL = clipsearch_library_default_path).
 * params may be NULL (defaults).  On success *out owns the handle; close it
 * with clipsearch_library_close.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_library_open(const char *path,
                                          const clipsearch_library_params *params,
                                          clipsearch_library **out,
                                          clipsearch_error *err);

/* Closes a library; NULL is allowed.  Nothing uncommitted exists between
 * calls, so closing never loses work. */
CLIPSEARCH_API
void clipsearch_library_close(clipsearch_library *lib);

/* The library's folder, valid as long as the handle. */
CLIPSEARCH_API
const char *clipsearch_library_path(const clipsearch_library *lib);

/* Writes the default library folder to buf[size]: $CLIPSEARCH_DB if set,
 * else $XDG_DATA_HOME/clipsearch, else $HOME/.local/share/clipsearch.
 * CLIPSEARCH_ERR_NOT_FOUND if none of those variables is set. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_default_path(char *buf, size_t size,
                                                  clipsearch_error *err);

/* ---- models ------------------------------------------------------------ */

#define CLIPSEARCH_FINGERPRINT_SIZE 33 /* 32 hex digits + NUL */

/* Fingerprint of a model folder (config.json + model.safetensors): equal
 * fingerprints mean the same weights.  Cheap (reads ~2 MB).  Thread-safe. */
CLIPSEARCH_API
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
    char precision[8];           /* number format of the image tower that made the
                                    embeddings: "fp32", "bf16", "mixed" (runs of
                                    both), or "" (none yet) */
} clipsearch_library_model;

/* Fills models[0..max-1] (ordered by id) and *n with how many the library
 * holds (which may exceed max). */
CLIPSEARCH_API
clipsearch_status clipsearch_library_models(clipsearch_library *lib,
                                            clipsearch_library_model *models, int max,
                                            int *n, clipsearch_error *err);

/* The library's record of the model in model_dir (by fingerprint).
 * CLIPSEARCH_ERR_NOT_FOUND, with a message saying which models the library
 * was built with, when it holds no embeddings from this model. */
CLIPSEARCH_API
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
    /* appended fields */
    clipsearch_precision precision; /* image tower's products (model.h); default AUTO */
    int wait;                     /* another indexer (or a repair) holds the library:
                                     0 (default): fail at once with CLIPSEARCH_ERR_BUSY;
                                     1: wait until it is done (the progress callback is
                                     called meanwhile, phase WALK, and may stop it) */
} clipsearch_index_params;

CLIPSEARCH_API
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
    /* appended fields */
    char precision[8];          /* "fp32" / "bf16": the image tower's, this run */
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
CLIPSEARCH_API
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
    int exact;                /* 1: score every photo (an approximate index is scanned
                                 in full, or, when its codes cannot rank exactly (PQ,
                                 HNSW), a float32 index is built in memory for this
                                 search).  0 (default): the index's own setting. */
    int nprobe;               /* > 0: lists of an IVF index to scan, instead of the
                                 index's own setting (benchmarks, tuning); 0: default */
} clipsearch_search_params;

CLIPSEARCH_API
clipsearch_search_params clipsearch_search_default_params(void);

typedef struct clipsearch_search_result {
    int64_t file_id;
    float score;              /* inner product of normalised vectors (cosine): always
                                 computed from the stored float32 embeddings, also
                                 when an approximate index found the photo */
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
CLIPSEARCH_API
clipsearch_status clipsearch_library_search(clipsearch_library *lib,
                                            const clipsearch_library_model *model,
                                            const float *query,
                                            const clipsearch_search_params *params,
                                            clipsearch_search_results **out,
                                            clipsearch_error *err);

CLIPSEARCH_API
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
CLIPSEARCH_API
clipsearch_status clipsearch_library_prefetch_index(clipsearch_library *lib,
                                                    const clipsearch_library_model *model,
                                                    clipsearch_error *err);

/* Embedding of an indexed photo (by absolute path) into out[model->dim].
 * CLIPSEARCH_ERR_NOT_FOUND if the photo is not in the library. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_get_embedding(clipsearch_library *lib,
                                                   const clipsearch_library_model *model,
                                                   const char *path, float *out,
                                                   clipsearch_error *err);

/* Every embedding of a model: *ids [n] file ids, *vectors [n][dim],
 * normalised.  Both are malloc'd: release with clipsearch_free. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_get_embeddings(clipsearch_library *lib,
                                                    const clipsearch_library_model *model,
                                                    int64_t **ids, float **vectors,
                                                    int64_t *n, clipsearch_error *err);

/* Makes sure the model's index file matches the database (rebuilding and
 * saving it if not).  Not allowed on a read-only handle. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_sync_index(clipsearch_library *lib,
                                                const clipsearch_library_model *model,
                                                clipsearch_error *err);

/* Rebuilds the model's vector index from the embeddings in the database,
 * whatever the state of its file (missing, stale, damaged), and saves it
 * atomically (what a repair runs).  The index type is the model's setting
 * (models.index_type, "auto" by default); the trained coarse quantizer of a
 * readable file of the same type is reused, otherwise it is trained anew.
 * Allowed on a read-only handle when the library folder is writable: the
 * index file is derived data and the database is only read.  Never replaces
 * a file built from a newer state of the database (an indexer saving at
 * the same time wins).  Errors: CLIPSEARCH_ERR_IO (cannot write the file),
 * ERR_INDEX (FAISS), database errors. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_rebuild_index(clipsearch_library *lib,
                                                   const clipsearch_library_model *model,
                                                   clipsearch_error *err);

/* The vector index of a model as it is on disk, for `clipsearch stats`. */
typedef struct clipsearch_index_info {
    char setting[64];   /* the model's index type: "auto" (chosen by library size) or
                           the FAISS factory string --index-type forced */
    char built[64];     /* the factory string of the index file ("Flat",
                           "IVF256,SQfp16"...); "" when there is no readable file */
    int nlist;          /* IVF lists (0: not an IVF) */
    int nprobe;         /* lists a search scans (0: all of them) */
    int exact;          /* 1: a search scores every photo (results are exact) */
    int64_t count;      /* vectors in the file */
    int current;        /* 1: the file matches the database (else the next search or
                           indexing run rebuilds it) */
    int64_t file_bytes; /* size of the file */
} clipsearch_index_info;

/* Reads the header of the model's index file (cheap).  A missing or
 * unreadable file is not an error: built is "" and current 0. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_index_info(clipsearch_library *lib,
                                                const clipsearch_library_model *model,
                                                clipsearch_index_info *info,
                                                clipsearch_error *err);

/* What the last search on this handle wants the user to know, "" if
 * nothing: that the vector index was rebuilt but could not be saved (and
 * why), or that an indexer is running and the index searched is the one it
 * saved last.  Valid until the next call on the handle. */
CLIPSEARCH_API
const char *clipsearch_library_note(const clipsearch_library *lib);

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
CLIPSEARCH_API
clipsearch_status clipsearch_library_get_file(clipsearch_library *lib, int64_t file_id,
                                              clipsearch_library_file *out,
                                              clipsearch_error *err);

/* Embedding of the photo with this id into out[model->dim].
 * CLIPSEARCH_ERR_NOT_FOUND if it has none with this model. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_get_embedding_by_id(clipsearch_library *lib,
                                                         const clipsearch_library_model *model,
                                                         int64_t file_id, float *out,
                                                         clipsearch_error *err);

/* *inside = 1 when `path` (absolute, symlinks already resolved by the
 * caller) is one of the library's roots (the folders given to the indexer,
 * resolved) or under one, else 0. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_path_in_roots(clipsearch_library *lib, const char *path,
                                                   int *inside, clipsearch_error *err);

/* Re-reads model->generation and model->n_embeddings from the database
 * (they change while an indexer runs).  CLIPSEARCH_ERR_NOT_FOUND if the
 * model was removed. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_refresh_model(clipsearch_library *lib,
                                                   clipsearch_library_model *model,
                                                   clipsearch_error *err);

/* 1 while an indexing run (clipsearch_library_index, in any process) or a
 * repair (clipsearch_library_check) works on this library, else 0.  The run
 * holds an exclusive flock(2) on the file "indexer.lock" in the library
 * folder for its whole duration; the kernel drops it when the process dies,
 * so a crashed run never leaves the flag set.  Only one run at a time: a
 * second one fails with CLIPSEARCH_ERR_BUSY or waits (params.wait).
 * Thread-safe (touches no handle state). */
CLIPSEARCH_API
int clipsearch_library_indexing(const clipsearch_library *lib);

/* Frees memory returned by this API; NULL is allowed. */
CLIPSEARCH_API
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

CLIPSEARCH_API
clipsearch_status clipsearch_library_get_stats(clipsearch_library *lib,
                                               clipsearch_library_stats *stats,
                                               clipsearch_error *err);

/* Calls fn(path, reason, user) for each recorded failure, ordered by path;
 * fn returns non-zero to stop early. */
CLIPSEARCH_API
clipsearch_status clipsearch_library_list_failures(
    clipsearch_library *lib, int (*fn)(const char *path, const char *reason, void *user),
    void *user, clipsearch_error *err);

/* ---- export ------------------------------------------------------------------ */

typedef enum clipsearch_export_format {
    /* The layout clip-retrieval writes and autofaiss reads:
     *   DIR/img_emb/img_emb_0.npy         float32 [N, dim] (NumPy format 1.0,
     *                                     little endian, C order), L2-normalised
     *   DIR/metadata/metadata_0.jsonl     N lines {"id", "path", "width",
     *                                     "height", "taken" (null if unknown)},
     *                                     line i describing row i */
    CLIPSEARCH_EXPORT_NPY = 0,
    /* DIR/embeddings.jsonl: N lines, the same fields plus "embedding": [dim
     * numbers] (%.9g: each reads back as the exact float32). */
    CLIPSEARCH_EXPORT_JSONL = 1
} clipsearch_export_format;

/*
 * Writes every photo embedded with `model` (ordered by file id) to folder
 * dir (created if absent) in `format`, from one snapshot of the database
 * (an indexer may run meanwhile).  Each file is written under a temporary
 * name and renamed when complete.  *n_out (may be NULL) gets the number of
 * rows.  Paths are written as stored: bytes that are not valid UTF-8 are
 * passed through.  Errors: CLIPSEARCH_ERR_IO (cannot write), database
 * errors.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_library_export(clipsearch_library *lib,
                                            const clipsearch_library_model *model,
                                            clipsearch_export_format format, const char *dir,
                                            int64_t *n_out, clipsearch_error *err);

/* ---- checking and repairing (clipsearch check) --------------------------- */

/* How bad what a check found is. */
typedef enum clipsearch_check_severity {
    CLIPSEARCH_CHECK_NOTE = 0,       /* worth knowing, nothing to fix (a root that is gone:
                                        its photos are kept, as the indexer keeps them) */
    CLIPSEARCH_CHECK_REPAIRABLE = 1, /* params.repair would fix it (not asked to) */
    CLIPSEARCH_CHECK_REPAIRED = 2,   /* fixed by this call */
    CLIPSEARCH_CHECK_DAMAGE = 3      /* cannot be fixed here (restore a backup or re-index
                                        into a new library) */
} clipsearch_check_severity;

/* The overall verdict, worst first wins. */
typedef enum clipsearch_check_verdict {
    CLIPSEARCH_CHECK_HEALTHY = 0,    /* nothing (but notes) found */
    CLIPSEARCH_CHECK_NEEDS_REPAIR = 1, /* only repairable problems, repair not asked */
    CLIPSEARCH_CHECK_WAS_REPAIRED = 2, /* problems found and all of them fixed */
    CLIPSEARCH_CHECK_DAMAGED = 3     /* damage beyond repair */
} clipsearch_check_verdict;

/* Called once per finding, on the calling thread; message valid during the
 * call only. */
typedef void (*clipsearch_check_fn)(clipsearch_check_severity severity, const char *message,
                                    void *user);

typedef struct clipsearch_check_params {
    int repair;            /* 0 (default): only look, never write */
    int check_files;       /* 1 (default): stat every photo; 0 skips (fast) */
    clipsearch_check_fn report; /* may be NULL */
    void *user;
} clipsearch_check_params;

CLIPSEARCH_API
clipsearch_check_params clipsearch_check_default_params(void);

typedef struct clipsearch_check_report {
    clipsearch_check_verdict verdict;
    int database_ok;          /* PRAGMA integrity_check said ok (at the end) */
    int schema_version;       /* the library's (0 if unreadable) */
    int schema_latest;        /* the newest this program knows */
    int64_t roots, files, models, embeddings; /* rows found */
    int64_t missing_roots;    /* roots gone from disk (their files are kept) */
    int64_t missing_files;    /* photos gone from disk under existing roots */
    int64_t bad_embeddings;   /* vector not dim finite floats of norm 1 */
    int64_t orphan_rows;      /* embeddings, tags, classifier rows pointing at nothing */
    int64_t missing_indexes;  /* SQLite indexes dropped (tables dropped are damage) */
    int64_t index_files_bad;  /* vector index files missing, stale, damaged or stray */
    int64_t rows_removed;     /* by the repair (files + embeddings + other rows) */
    int64_t indexes_rebuilt;  /* vector index files rebuilt by the repair */
    char message[CLIPSEARCH_ERROR_MESSAGE_SIZE]; /* the worst finding, "" if healthy */
} clipsearch_check_report;

/*
 * Checks the library in folder `path` (NULL = the default folder): SQLite's
 * integrity_check, the schema version and its tables and indexes, each
 * embedding's size, values and norm against its model, rows that point at
 * no file or model, roots and photos gone from disk, and each model's
 * vector index file (header, payload hash, generation, count and, for exact
 * indexes, a sample of self-searches).  With params->repair it then:
 * recreates dropped SQLite indexes (REINDEX when integrity_check reports
 * index damage only), removes photos gone from disk under existing roots and
 * rows pointing at nothing, removes vectors that are not a valid embedding
 * (the next indexing run re-embeds their photos), rebuilds the vector index
 * files and removes stray ones.  It never removes the embedding of a photo
 * that still exists on disk (nor of one under a root that is gone, as on an
 * unmounted disk).  Repair refuses to run while an indexer works on the
 * library.
 * Returns CLIPSEARCH_OK when the check ran, whatever it found (the verdict
 * is in *report); an error when it could not (no library: ERR_NOT_FOUND; a
 * newer schema than this program knows: ERR_UNSUPPORTED; an indexer is
 * running during a repair: ERR_BUSY; I/O...).  A repair holds the indexer
 * lock (see clipsearch_library_indexing) while it writes.  A library too
 * damaged to open is a DAMAGED verdict, not an error.  params may be NULL.
 * Not thread-safe with other handles of this process writing the library.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_library_check(const char *path,
                                           const clipsearch_check_params *params,
                                           clipsearch_check_report *report,
                                           clipsearch_error *err);

/* A short reason that groups failures, from a failure's path and message
 * (as clipsearch_library_list_failures gives them): "unsupported format:
 * .psd" (the extension, lower case), "truncated file", "empty file", "over
 * the pixel budget", "unreadable file", "out of memory", "damaged PNG
 * file", "unsupported feature of TIFF file", else "other error".  Writes a
 * NUL-terminated string of at most cap bytes to out.  NULL path/message are
 * treated as empty.  Thread-safe. */
CLIPSEARCH_API
void clipsearch_failure_group(const char *path, const char *message, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_LIBRARY_H */
