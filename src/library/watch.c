/* watch.c — folder watching with inotify (see clipsearch/watch.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clipsearch/watch.h"
#include "error.h"
#include "walk.h"

#define CS_WATCH_MASK                                                                        \
    (IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO |      \
     IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

typedef struct wdir {
    int wd;     /* -1: slot free */
    int root;   /* index of its root */
    char *path; /* owned */
} wdir;

typedef struct root {
    char *path;
    int missing; /* not there: polled */
    int wd;      /* the root's own watch, -1 if none */
} root;

struct clipsearch_watch {
    clipsearch_watch_params p;
    int fd;
    root *roots;
    int n_roots;
    wdir *dirs;
    size_t n_dirs, cap_dirs;
    int64_t watching;
    int fallback;      /* the watch limit was reached: periodic rescans */
    double next_rescan;
    int pending;       /* a change is waiting for the quiet time */
    double quiet_until;
    int gone_events;   /* ROOT_GONE seen since the last wait returned */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void notice(clipsearch_watch *w, const char *fmt, const char *a)
{
    char msg[PATH_MAX + 200];
    if (!w->p.notice)
        return;
    snprintf(msg, sizeof msg, fmt, a);
    w->p.notice(msg, w->p.user);
}

clipsearch_watch_params clipsearch_watch_default_params(void)
{
    clipsearch_watch_params p;
    memset(&p, 0, sizeof p);
    p.debounce_ms = 2000;
    p.poll_ms = 5000;
    p.rescan_ms = 300000;
    return p;
}

static wdir *find_wd(clipsearch_watch *w, int wd)
{
    for (size_t i = 0; i < w->n_dirs; i++)
        if (w->dirs[i].wd == wd)
            return &w->dirs[i];
    return NULL;
}

static void enter_fallback(clipsearch_watch *w)
{
    if (w->fallback)
        return;
    w->fallback = 1;
    w->next_rescan = now_s() + w->p.rescan_ms / 1000.0;
    {
        char s[64];
        snprintf(s, sizeof s, "%d", w->p.rescan_ms / 1000);
        notice(w, "the inotify watch limit is reached (raise fs.inotify.max_user_watches): "
                  "new photos are found by a full rescan every %s s instead",
               s);
    }
}

/* Watches one folder; 0, or -1 when the watch limit is reached. */
static int add_one(clipsearch_watch *w, const char *path, int root_index)
{
    int wd;
    uint32_t mask = CS_WATCH_MASK | (w->p.follow_symlinks ? 0 : IN_DONT_FOLLOW);
    if (w->p.max_watches > 0 && w->watching >= w->p.max_watches) {
        enter_fallback(w);
        return -1;
    }
    wd = inotify_add_watch(w->fd, path, mask);
    if (wd < 0) {
        if (errno == ENOSPC) {
            enter_fallback(w);
            return -1;
        }
        return 0; /* vanished or unreadable meanwhile: the indexer reports it */
    }
    if (find_wd(w, wd))
        return 0; /* already watched (a folder seen twice) */
    if (w->n_dirs == w->cap_dirs) {
        size_t cap = w->cap_dirs ? w->cap_dirs * 2 : 64;
        wdir *d = realloc(w->dirs, cap * sizeof *d);
        if (!d) {
            inotify_rm_watch(w->fd, wd);
            return 0;
        }
        w->dirs = d, w->cap_dirs = cap;
    }
    w->dirs[w->n_dirs].wd = wd;
    w->dirs[w->n_dirs].root = root_index;
    w->dirs[w->n_dirs].path = strdup(path);
    if (!w->dirs[w->n_dirs].path) {
        inotify_rm_watch(w->fd, wd);
        return 0;
    }
    w->n_dirs++;
    w->watching++;
    if (!strcmp(path, w->roots[root_index].path))
        w->roots[root_index].wd = wd;
    return 0;
}

/* Watches path and every folder under it (depth-first, bounded depth). */
static int add_tree(clipsearch_watch *w, const char *path, int root_index, int depth)
{
    DIR *d;
    struct dirent *e;
    if (add_one(w, path, root_index) < 0)
        return -1;
    if (depth > 64 || !(d = opendir(path)))
        return 0;
    while ((e = readdir(d))) {
        char child[PATH_MAX];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || cs_walk_is_junk(e->d_name, 1))
            continue;
        if (snprintf(child, sizeof child, "%s/%s", path, e->d_name) >= (int)sizeof child)
            continue;
        if ((w->p.follow_symlinks ? stat(child, &st) : lstat(child, &st)) != 0 ||
            !S_ISDIR(st.st_mode))
            continue;
        if (add_tree(w, child, root_index, depth + 1) < 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

clipsearch_status clipsearch_watch_open(const char *const *roots, int n_roots,
                                        const clipsearch_watch_params *params,
                                        clipsearch_watch **out, clipsearch_error *err)
{
    clipsearch_watch *w;
    if (!out || (!roots && n_roots > 0) || n_roots < 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "watch: bad argument");
    *out = NULL;
    w = calloc(1, sizeof *w);
    if (!w)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    w->p = params ? *params : clipsearch_watch_default_params();
    if (w->p.debounce_ms < 0)
        w->p.debounce_ms = 0;
    if (w->p.poll_ms <= 0)
        w->p.poll_ms = 5000;
    if (w->p.rescan_ms <= 0)
        w->p.rescan_ms = 300000;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    w->roots = calloc((size_t)(n_roots ? n_roots : 1), sizeof *w->roots);
    if (w->fd < 0 || !w->roots) {
        clipsearch_status st = w->fd < 0 ? cs_error_set(err, CLIPSEARCH_ERR_IO,
                                                        "inotify is unavailable: %s",
                                                        strerror(errno))
                                         : cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY,
                                                        "out of memory");
        clipsearch_watch_close(w);
        return st;
    }
    w->n_roots = n_roots;
    for (int i = 0; i < n_roots; i++) {
        char real[PATH_MAX];
        w->roots[i].wd = -1;
        w->roots[i].path = strdup(realpath(roots[i], real) ? real : roots[i]);
        if (!w->roots[i].path) {
            clipsearch_watch_close(w);
            return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        }
        if (!is_dir(w->roots[i].path)) {
            w->roots[i].missing = 1;
            notice(w, "%s is not there (deleted, moved or unmounted): watching for it to "
                      "come back",
                   w->roots[i].path);
        } else if (!w->fallback) {
            add_tree(w, w->roots[i].path, i, 0);
        }
    }
    *out = w;
    return CLIPSEARCH_OK;
}

int64_t clipsearch_watch_count(const clipsearch_watch *w) { return w ? w->watching : 0; }

static void drop_wd(clipsearch_watch *w, int wd)
{
    wdir *d = find_wd(w, wd);
    if (!d)
        return;
    for (int i = 0; i < w->n_roots; i++)
        if (w->roots[i].wd == wd)
            w->roots[i].wd = -1;
    free(d->path);
    *d = w->dirs[--w->n_dirs];
    w->watching--;
}

static void root_gone(clipsearch_watch *w, int r)
{
    if (w->roots[r].missing)
        return;
    w->roots[r].missing = 1;
    w->gone_events = 1;
    notice(w, "%s is gone (deleted, moved or unmounted): its photos stay in the library; "
              "watching for it to come back",
           w->roots[r].path);
    /* Its remaining watches are of no use (a moved root's would follow it). */
    for (size_t i = 0; i < w->n_dirs;) {
        if (w->dirs[i].root == r) {
            inotify_rm_watch(w->fd, w->dirs[i].wd);
            drop_wd(w, w->dirs[i].wd);
        } else {
            i++;
        }
    }
}

/* Reads every queued event; returns 1 when one matters for the library. */
static int drain(clipsearch_watch *w)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    int changed = 0;
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            wdir *d = find_wd(w, ev->wd);
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                changed = 1; /* events were lost: a rescan finds everything */
                continue;
            }
            if (!d)
                continue;
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
                int r = d->root;
                if (w->roots[r].wd == ev->wd) {
                    root_gone(w, r);
                    changed = 1;
                    continue;
                }
            }
            if (ev->mask & IN_IGNORED) {
                drop_wd(w, ev->wd);
                continue;
            }
            if (ev->len && cs_walk_is_junk(ev->name, 0))
                continue; /* hidden files: editors' temporaries, .thumbnails */
            if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->len) {
                char child[PATH_MAX];
                if (snprintf(child, sizeof child, "%s/%s", d->path, ev->name) <
                        (int)sizeof child &&
                    !w->fallback)
                    add_tree(w, child, d->root, 0);
            }
            changed = 1;
        }
    }
    return changed;
}

clipsearch_status clipsearch_watch_wait(clipsearch_watch *w, int stop_fd, int *events,
                                        clipsearch_error *err)
{
    if (!w || !events)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "watch: bad argument");
    *events = 0;
    for (;;) {
        struct pollfd fds[2];
        int nf = 0, timeout = -1, missing = 0, rc;
        double t = now_s();
        for (int i = 0; i < w->n_roots; i++)
            missing |= w->roots[i].missing;
        if (w->pending)
            timeout = (int)((w->quiet_until - t) * 1000) + 1;
        if (missing && (timeout < 0 || timeout > w->p.poll_ms))
            timeout = w->p.poll_ms;
        if (w->fallback) {
            int due = (int)((w->next_rescan - t) * 1000) + 1;
            if (timeout < 0 || due < timeout)
                timeout = due;
        }
        if (timeout < 0 && w->pending)
            timeout = 0;
        fds[nf].fd = w->fd, fds[nf].events = POLLIN, fds[nf++].revents = 0;
        if (stop_fd >= 0)
            fds[nf].fd = stop_fd, fds[nf].events = POLLIN, fds[nf++].revents = 0;
        rc = poll(fds, (nfds_t)nf, timeout < 0 ? -1 : timeout);
        if (rc < 0 && errno != EINTR)
            return cs_error_set(err, CLIPSEARCH_ERR_IO, "watch: poll failed: %s",
                                strerror(errno));
        if (stop_fd >= 0 && nf > 1 && (fds[1].revents & (POLLIN | POLLHUP))) {
            *events |= CLIPSEARCH_WATCH_STOPPED;
            return CLIPSEARCH_OK;
        }
        t = now_s();
        if (rc > 0 && (fds[0].revents & POLLIN) && drain(w)) {
            w->pending = 1;
            w->quiet_until = t + w->p.debounce_ms / 1000.0;
        }
        if (w->gone_events) {
            w->gone_events = 0;
            *events |= CLIPSEARCH_WATCH_ROOT_GONE;
        }
        for (int i = 0; i < w->n_roots; i++)
            if (w->roots[i].missing && is_dir(w->roots[i].path)) {
                w->roots[i].missing = 0;
                notice(w, "%s is back: watching it again", w->roots[i].path);
                if (!w->fallback)
                    add_tree(w, w->roots[i].path, i, 0);
                *events |= CLIPSEARCH_WATCH_ROOT_BACK;
                w->pending = 1;
                w->quiet_until = t; /* no need to wait: rescan now */
            }
        if (w->fallback && t >= w->next_rescan) {
            w->next_rescan = t + w->p.rescan_ms / 1000.0;
            w->pending = 0;
            *events |= CLIPSEARCH_WATCH_CHANGED | CLIPSEARCH_WATCH_FALLBACK;
            return CLIPSEARCH_OK;
        }
        if (w->pending && t >= w->quiet_until) {
            w->pending = 0;
            *events |= CLIPSEARCH_WATCH_CHANGED | (w->fallback ? CLIPSEARCH_WATCH_FALLBACK : 0);
            return CLIPSEARCH_OK;
        }
    }
}

void clipsearch_watch_close(clipsearch_watch *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->n_dirs; i++)
        free(w->dirs[i].path);
    free(w->dirs);
    for (int i = 0; i < w->n_roots && w->roots; i++)
        free(w->roots[i].path);
    free(w->roots);
    free(w);
}
