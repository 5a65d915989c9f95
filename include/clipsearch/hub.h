/*
 * clipsearch/hub.h — getting models: where they live on disk, listing them,
 * and downloading them from the Hugging Face hub.
 *
 * A model folder holds config.json + model.safetensors (the weights) and the
 * tokenizer files vocab.json + merges.txt.  Models are looked for in
 *   1. clipsearch's own folder: $XDG_CACHE_HOME/clipsearch/models, else
 *      ~/.cache/clipsearch/models, one sub-folder per repository named
 *      ORG--NAME (as "laion--CLIP-ViT-B-32-laion2B-s34B-b79K");
 *   2. the Hugging Face hub cache, used in place: $HF_HUB_CACHE, else
 *      $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 *      ~/.cache/huggingface/hub (layout models--ORG--NAME/snapshots/REV/).
 *
 * All functions are thread-safe (they touch no global state but the
 * environment, which they only read).
 */
#ifndef CLIPSEARCH_HUB_H
#define CLIPSEARCH_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The repository `clipsearch model download` fetches by default. */
#define CLIPSEARCH_DEFAULT_MODEL_REPO "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
#define CLIPSEARCH_DEFAULT_HF_ENDPOINT "https://huggingface.co"

/* clipsearch's model folder (1. above) into buf[size].
 * CLIPSEARCH_ERR_NOT_FOUND when neither XDG_CACHE_HOME nor HOME is set. */
CLIPSEARCH_API
clipsearch_status clipsearch_models_dir(char *buf, size_t size, clipsearch_error *err);

/* The Hugging Face hub cache folder (2. above) into buf[size]. */
CLIPSEARCH_API
clipsearch_status clipsearch_hf_cache_dir(char *buf, size_t size, clipsearch_error *err);

typedef enum clipsearch_model_source {
    CLIPSEARCH_SOURCE_CLIPSEARCH = 0, /* clipsearch's model folder */
    CLIPSEARCH_SOURCE_HF_CACHE = 1    /* the Hugging Face hub cache */
} clipsearch_model_source;

/* A model found on disk. */
typedef struct clipsearch_installed_model {
    char repo[256];          /* "ORG/NAME" (from the folder name) */
    char path[4096];         /* the folder holding config.json */
    clipsearch_model_source source;
    int has_tokenizer;       /* vocab.json + merges.txt present */
    int64_t weights_bytes;   /* size of model.safetensors */
} clipsearch_installed_model;

/*
 * Calls fn(model, user) for every complete model (config.json and
 * model.safetensors present) in both places, clipsearch's first, each
 * ordered by name; for the hub cache, the snapshot `refs/main` points to
 * (else the newest snapshot that is complete).  fn returns non-zero to
 * stop.  Folders that do not exist are simply empty.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_models_list(int (*fn)(const clipsearch_installed_model *model,
                                                   void *user),
                                         void *user, clipsearch_error *err);

/*
 * Resolves a model name to a folder into buf[size]: an existing folder
 * holding config.json is taken as is; otherwise "ORG/NAME" (or
 * "ORG--NAME") is looked up in both places, clipsearch's first.
 * CLIPSEARCH_ERR_NOT_FOUND, with a message saying how to get it, if absent.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_model_resolve(const char *name, char *buf, size_t size,
                                           clipsearch_error *err);

/*
 * Finds an installed model whose clipsearch_model_fingerprint equals
 * `fingerprint` (reads ~2 MB per candidate) into buf[size].
 * CLIPSEARCH_ERR_NOT_FOUND if none.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_model_find_by_fingerprint(const char *fingerprint, char *buf,
                                                       size_t size, clipsearch_error *err);

/* ---- downloading ---------------------------------------------------------- */

typedef struct clipsearch_download_progress {
    const char *file;     /* file name in the repository */
    int file_index;       /* 0-based, among n_files */
    int n_files;
    int64_t done;         /* bytes of this file on disk so far (resumed ones included) */
    int64_t total;        /* expected size, 0 if unknown */
    double bytes_per_second; /* rate of this transfer */
    int verifying;        /* 1 while the checksum is computed */
} clipsearch_download_progress;

/* Called often (on the calling thread) during a download; return non-zero
 * to stop (CLIPSEARCH_ERR_INTERRUPTED; the .part file is kept for a resume). */
typedef int (*clipsearch_download_progress_fn)(const clipsearch_download_progress *progress,
                                               void *user);

typedef struct clipsearch_download_params {
    const char *endpoint;     /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *revision;     /* branch, tag or commit; NULL: "main" */
    const char *dest_dir;     /* NULL: clipsearch_models_dir()/ORG--NAME */
    int use_hf_cache;         /* 1 (default): a complete copy in the hub cache is
                                 returned without downloading */
    int allow_unverified;     /* 0 (default): a file for which the server states
                                 no SHA-256 (LFS) or git blob SHA-1 is refused */
    long connect_timeout;     /* seconds to establish a connection (10) */
    long stall_timeout;       /* give up an attempt after this many seconds
                                 below 1 KB/s (30) */
    int max_attempts;         /* tries per file, each resuming the last (4) */
    clipsearch_download_progress_fn progress; /* may be NULL */
    void *user;
} clipsearch_download_params;

CLIPSEARCH_API
clipsearch_download_params clipsearch_download_default_params(void);

/* What a download did. */
typedef struct clipsearch_download_summary {
    int files_downloaded;     /* fetched now (fully or resumed) */
    int files_present;        /* already in place and verified */
    int files_resumed;        /* of the downloaded ones, continued from a .part */
    int files_unverified;     /* accepted without a checksum (allow_unverified) */
    int from_hf_cache;        /* 1: the model was found in the hub cache */
    int64_t bytes;            /* bytes transferred */
    char revision[64];        /* commit the hub reported (X-Repo-Commit), "" if none */
} clipsearch_download_summary;

/*
 * Downloads config.json, model.safetensors, vocab.json and merges.txt (and
 * preprocessor_config.json when the repository has one) of repository
 * `repo` ("ORG/NAME") from $endpoint/REPO/resolve/REVISION/FILE into the
 * destination folder, and writes that folder to out_dir[size].
 *
 * Each file goes to FILE.part first; an interrupted transfer resumes from
 * the .part (HTTP Range) within the call and on a later call.  A file is
 * renamed into place only when whole and its checksum matches what the hub
 * states: the SHA-256 in X-Linked-ETag/ETag for LFS files (the weights),
 * the git blob SHA-1 in ETag for regular git files.  A mismatch deletes the
 * .part and fails.  Files already in place are verified the same way and
 * not fetched again.
 *
 * Errors: CLIPSEARCH_ERR_NETWORK (unreachable host, with how to place the
 * files by hand; HTTP errors such as 404), CLIPSEARCH_ERR_FORMAT (checksum
 * mismatch), CLIPSEARCH_ERR_IO, CLIPSEARCH_ERR_INTERRUPTED.  params and
 * summary may be NULL.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_model_download(const char *repo,
                                            const clipsearch_download_params *params,
                                            char *out_dir, size_t size,
                                            clipsearch_download_summary *summary,
                                            clipsearch_error *err);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_HUB_H */
