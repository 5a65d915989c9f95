/* library_internal.h — what other layers of libclipsearch (classify/) may
 * reach inside a clipsearch_library handle.  Private. */
#ifndef CS_LIBRARY_INTERNAL_H
#define CS_LIBRARY_INTERNAL_H
#include <sqlite3.h>

#include "clipsearch/library.h"
#include "store.h"
/* The handle's database connection (same thread rules as the handle). */
cs_store *cs_library_store(clipsearch_library *lib);
/* One search result from the current row of a statement that selects
 * "path, width, height, taken[, camera] FROM files" (camera is read when the
 * statement has a fifth column), when the photo passes params' folder (under)
 * and date (taken_after/taken_before) filters.  Returns 1 when *it is filled
 * (it->path is a strdup the caller owns), 0 when the photo is filtered out,
 * -1 when out of memory (err set). */
int cs_library_result_from_row(sqlite3_stmt *row, const clipsearch_search_params *params,
                               int64_t file_id, float score, clipsearch_search_result *it,
                               clipsearch_error *err);
/* Takes the library's writer lock (flock on <dir>/indexer.lock): returns its
 * fd (close it to release), -1 when there is no lock to take (a read-only
 * folder: go on), -2 with err set when another process holds it and wait is
 * 0 (CLIPSEARCH_ERR_BUSY) or cancel(user) returned non-zero while waiting
 * (CLIPSEARCH_ERR_INTERRUPTED). */
int cs_library_lock(const char *dir, int wait, int (*cancel)(void *user), void *user,
                    clipsearch_error *err);
/* The vector index file of a model: "<library>/vectors-<id>.faiss". */
void cs_library_vindex_path(const clipsearch_library *lib, int64_t model_id, char *buf,
                            size_t size);
#endif
