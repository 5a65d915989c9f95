/* walk.h — finding photo files under a folder.  Private to libclipsearch.
 *
 * A walk lists regular files that look like photos: a known photo extension
 * (.jpg .jpeg .png .webp .heic .heif .avif ...), or any name whose first
 * bytes are a photo signature.  Hidden entries (".*"), macOS "._*" files and
 * junk folders (@eaDir, .thumbnails, .git, System Volume Information,
 * $RECYCLE.BIN, lost+found, #recycle) are skipped, as is whatever matches an
 * exclude glob (fnmatch on the name and on the whole path).  Symlinks are
 * ignored unless follow_symlinks; then every folder is entered once (by
 * device and inode), which also breaks cycles.  Unreadable entries are listed
 * in `problems`, never fatal. */
#ifndef CS_WALK_H
#define CS_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

typedef struct cs_walk_params {
    const char *const *excludes; /* [n_excludes] fnmatch globs */
    int n_excludes;
    int follow_symlinks;
    /* Polled every few hundred entries; non-zero stops the walk with
     * CLIPSEARCH_ERR_INTERRUPTED.  May be NULL. */
    int (*cancel)(void *user);
    void *user;
} cs_walk_params;

typedef struct cs_walk_entry {
    char *path;       /* absolute, as reached (not resolved) */
    int64_t size;
    int64_t mtime_ns;
} cs_walk_entry;

typedef struct cs_walk_problem {
    char *path;
    char *message;
    int is_dir;       /* a folder: what was under it is unknown, not gone */
} cs_walk_problem;

typedef struct cs_walk_result {
    cs_walk_entry *files;      /* [n_files], sorted by path (byte order) */
    size_t n_files;
    cs_walk_problem *problems; /* [n_problems] */
    size_t n_problems;
} cs_walk_result;

/* Walks root (a folder or a single file).  A root that cannot be opened is
 * an error (ERR_NOT_FOUND / ERR_IO); problems below it are not. */
clipsearch_status cs_walk(const char *root, const cs_walk_params *params,
                          cs_walk_result *out, clipsearch_error *err);
void cs_walk_result_free(cs_walk_result *r);

/* Photo format from the first bytes of a file ("jpeg", "png", "webp",
 * "heif") or NULL.  n may be short. */
const char *cs_sniff_photo(const unsigned char *buf, size_t n);
/* Non-zero when name ends with a photo extension (case-insensitive). */
int cs_has_photo_extension(const char *name);
/* Non-zero when a folder (is_dir) or file of this name is skipped by default. */
int cs_walk_is_junk(const char *name, int is_dir);

#endif
