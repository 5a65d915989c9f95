/*
 * clipsearch/watch.h — waiting for photo folders to change (Linux inotify),
 * so that an indexer can keep a library in step with them
 * (`clipsearch-index --watch`).  The watcher only says *when* to re-run
 * clipsearch_library_index over the roots (which skips unchanged files
 * without reading them, recognises moves by content hash without
 * re-encoding and removes deleted files); it never touches the library.
 *
 *  - every folder under each root is watched; new subfolders are added as
 *    they appear (hidden folders are skipped, as the indexer skips them);
 *  - changes are debounced: a wait returns once no event has arrived for
 *    debounce_ms, so a photo still being copied is waited for;
 *  - a root that is deleted, moved away or unmounted is reported and then
 *    polled (every poll_ms); when it is back it is watched again and a
 *    rescan is asked for;
 *  - when the kernel's watch limit (fs.inotify.max_user_watches) is reached,
 *    it says so and falls back to asking for a rescan every rescan_ms;
 *  - idle, it sleeps in poll(2): no CPU.
 *
 * Thread-safety: a watcher is used by one thread at a time.
 */
#ifndef CLIPSEARCH_WATCH_H
#define CLIPSEARCH_WATCH_H

#include <stdint.h>

#include "clipsearch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clipsearch_watch clipsearch_watch;

typedef struct clipsearch_watch_params {
    int debounce_ms;     /* quiet time before a change is reported (default 2000) */
    int poll_ms;         /* how often a missing root is looked for (default 5000) */
    int rescan_ms;       /* periodic rescan once the watch limit is hit (default 300000) */
    int follow_symlinks; /* watch folders reached through symbolic links */
    int max_watches;     /* > 0: add at most this many watches (as if the kernel's
                            limit were reached there); 0: no limit of ours */
    /* Messages for the user (a root gone or back, the watch limit), one line
     * each, without a trailing newline; may be NULL. */
    void (*notice)(const char *message, void *user);
    void *user;
} clipsearch_watch_params;

CLIPSEARCH_API
clipsearch_watch_params clipsearch_watch_default_params(void);

/* What a wait saw (a bit set). */
enum {
    CLIPSEARCH_WATCH_CHANGED = 1,   /* something changed: re-run the indexer */
    CLIPSEARCH_WATCH_STOPPED = 2,   /* stop_fd became readable */
    CLIPSEARCH_WATCH_ROOT_GONE = 4, /* a root disappeared (reported via notice) */
    CLIPSEARCH_WATCH_ROOT_BACK = 8, /* a missing root came back (then CHANGED too) */
    CLIPSEARCH_WATCH_FALLBACK = 16  /* periodic rescans (watch limit reached) */
};

/* Starts watching roots[0..n_roots-1] (folders; a missing one is reported
 * and polled for).  params may be NULL.  CLIPSEARCH_ERR_IO when inotify is
 * unavailable.  On success *out owns the watcher. */
CLIPSEARCH_API
clipsearch_status clipsearch_watch_open(const char *const *roots, int n_roots,
                                        const clipsearch_watch_params *params,
                                        clipsearch_watch **out, clipsearch_error *err);

/* Blocks until a change has settled (debounced), a missing root is back,
 * a periodic rescan is due (fallback mode), or stop_fd (>= 0; e.g. the read
 * end of a self-pipe written by a signal handler) is readable; EINTR is
 * retried.  *events receives the CLIPSEARCH_WATCH_* bits. */
CLIPSEARCH_API
clipsearch_status clipsearch_watch_wait(clipsearch_watch *w, int stop_fd, int *events,
                                        clipsearch_error *err);

/* Number of folders watched now. */
CLIPSEARCH_API
int64_t clipsearch_watch_count(const clipsearch_watch *w);

/* Stops watching; NULL is allowed. */
CLIPSEARCH_API
void clipsearch_watch_close(clipsearch_watch *w);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_WATCH_H */
