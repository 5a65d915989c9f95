/* walk.c — finding photo files under a folder (see walk.h). */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "error.h"
#include "image_decode.h"

const char *cs_sniff_photo(const unsigned char *b, size_t n)
{
    static const char *const names[] = {NULL, "jpeg", "png", "webp", "heif", "tiff",
                                        "gif", "bmp", "avif", "jxl", "raw"};
    cs_image_format f = cs_image_sniff(b, n);
    return (size_t)f < sizeof names / sizeof *names ? names[f] : NULL;
}

int cs_has_photo_extension(const char *name)
{
    static const char *const exts[] = {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".heic", ".heif", ".hif", ".avif",
        ".tif", ".tiff", ".gif", ".bmp", ".dib", ".jxl",
        /* camera RAW, as LibRaw reads them */
        ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf",
        ".rw2", ".rwl", ".pef", ".srw", ".x3f", ".3fr", ".fff", ".iiq", ".erf", ".kdc", ".dcr",
        ".mrw", ".mos", ".mef", ".raw"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && !strcasecmp(name + n - e, exts[i]))
            return 1;
    }
    return 0;
}

int cs_walk_is_junk(const char *name, int is_dir)
{
    static const char *const dirs[] = {"@eaDir", "System Volume Information", "$RECYCLE.BIN",
                                       "lost+found", "#recycle", "#snapshot"};
    if (name[0] == '.') /* hidden, incl. .thumbnails, .git, ._* */
        return 1;
    if (is_dir)
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
            if (!strcmp(name, dirs[i]))
                return 1;
    return 0;
}

/* ---- a set of (dev, ino), for folders already entered ---- */
typedef struct dirset {
    uint64_t *keys; /* pairs: dev, ino; dev = ino = 0 marks an empty slot */
    size_t cap, len;
} dirset;

static size_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + (a << 6));
    h ^= h >> 29;
    return (size_t)(h * 0xBF58476D1CE4E5B9ull);
}

/* Returns 1 if added, 0 if already there, -1 out of memory. */
static int dirset_add(dirset *s, uint64_t dev, uint64_t ino)
{
    if (dev == 0 && ino == 0)
        ino = 1; /* keep 0/0 free as the empty marker */
    if ((s->len + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        uint64_t *nk = calloc(nc * 2, sizeof *nk);
        if (!nk)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            uint64_t d = s->keys[2 * i], n = s->keys[2 * i + 1];
            if (d || n) {
                size_t j = mix(d, n) & (nc - 1);
                while (nk[2 * j] || nk[2 * j + 1])
                    j = (j + 1) & (nc - 1);
                nk[2 * j] = d;
                nk[2 * j + 1] = n;
            }
        }
        free(s->keys);
        s->keys = nk;
        s->cap = nc;
    }
    size_t j = mix(dev, ino) & (s->cap - 1);
    while (s->keys[2 * j] || s->keys[2 * j + 1]) {
        if (s->keys[2 * j] == dev && s->keys[2 * j + 1] == ino)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->keys[2 * j] = dev;
    s->keys[2 * j + 1] = ino;
    s->len++;
    return 1;
}

typedef struct walker {
    const cs_walk_params *p;
    cs_walk_result *res;
    size_t cap_files, cap_problems;
    dirset seen;
    unsigned long ticks;
    clipsearch_error *err;
} walker;

static clipsearch_status oom(walker *w)
{
    return cs_error_set(w->err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory while walking");
}

static clipsearch_status add_problem(walker *w, const char *path, int is_dir, const char *msg)
{
    cs_walk_result *r = w->res;
    if (!cs_array_reserve(&r->problems, &w->cap_problems, r->n_problems, sizeof *r->problems,
                          16))
        return oom(w);
    r->problems[r->n_problems].path = strdup(path);
    r->problems[r->n_problems].message = strdup(msg);
    r->problems[r->n_problems].is_dir = is_dir;
    if (!r->problems[r->n_problems].path || !r->problems[r->n_problems].message) {
        free(r->problems[r->n_problems].path);
        free(r->problems[r->n_problems].message);
        return oom(w);
    }
    r->n_problems++;
    return CLIPSEARCH_OK;
}

static clipsearch_status add_file(walker *w, const char *path, const struct stat *st)
{
    cs_walk_result *r = w->res;
    if (!cs_array_reserve(&r->files, &w->cap_files, r->n_files, sizeof *r->files, 256))
        return oom(w);
    if (!(r->files[r->n_files].path = strdup(path)))
        return oom(w);
    r->files[r->n_files].size = st->st_size;
    r->files[r->n_files].mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    r->n_files++;
    return CLIPSEARCH_OK;
}

static int excluded(const walker *w, const char *path, const char *name)
{
    for (int i = 0; i < w->p->n_excludes; i++) {
        const char *g = w->p->excludes[i];
        if (fnmatch(g, name, 0) == 0 || fnmatch(g, path, 0) == 0)
            return 1;
    }
    return 0;
}

/* A candidate photo: photo extension, or a photo signature in its first bytes. */
static int looks_like_photo(const char *path, const char *name)
{
    unsigned char buf[16];
    ssize_t n;
    int fd;
    if (cs_has_photo_extension(name))
        return 1;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 && cs_sniff_photo(buf, (size_t)n) != NULL;
}

static clipsearch_status walk_dir(walker *w, const char *dir);

static clipsearch_status visit(walker *w, const char *path, const char *name, int top)
{
    struct stat st;
    char msg[300];
    if (!top && (cs_walk_is_junk(name, 1) && name[0] == '.'))
        return CLIPSEARCH_OK;
    if (lstat(path, &st) != 0) {
        snprintf(msg, sizeof msg, "cannot stat: %s", strerror(errno));
        return top ? cs_error_set(w->err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND
                                                          : CLIPSEARCH_ERR_IO,
                                  "%s: %s", path, msg)
                   : add_problem(w, path, 0, msg);
    }
    if (S_ISLNK(st.st_mode)) {
        if (!w->p->follow_symlinks && !top)
            return CLIPSEARCH_OK;
        if (stat(path, &st) != 0) {
            if (top)
                return cs_error_set(w->err, CLIPSEARCH_ERR_NOT_FOUND, "%s: broken symlink: %s",
                                    path, strerror(errno));
            return CLIPSEARCH_OK; /* dangling link: nothing there */
        }
    }
    if (!top && excluded(w, path, name))
        return CLIPSEARCH_OK;
    if (S_ISDIR(st.st_mode)) {
        int added;
        if (!top && cs_walk_is_junk(name, 1))
            return CLIPSEARCH_OK;
        added = dirset_add(&w->seen, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
        if (added < 0)
            return oom(w);
        if (added == 0)
            return CLIPSEARCH_OK; /* entered already: a cycle or a second link */
        return walk_dir(w, path);
    }
    if (!S_ISREG(st.st_mode))
        return CLIPSEARCH_OK;
    if (!top && cs_walk_is_junk(name, 0))
        return CLIPSEARCH_OK;
    if (!top && !looks_like_photo(path, name))
        return CLIPSEARCH_OK;
    return add_file(w, path, &st);
}

static clipsearch_status walk_dir(walker *w, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t dl = strlen(dir);
    char *path = NULL;
    size_t cap = 0;
    clipsearch_status r = CLIPSEARCH_OK;
    if (!d) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot open folder: %s", strerror(errno));
        return add_problem(w, dir, 1, msg);
    }
    for (;;) {
        size_t nl;
        errno = 0;
        e = readdir(d);
        if (!e) {
            if (errno) {
                char msg[300];
                snprintf(msg, sizeof msg, "cannot read folder: %s", strerror(errno));
                r = add_problem(w, dir, 1, msg);
            }
            break;
        }
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (w->p->cancel && (++w->ticks % 256) == 0 && w->p->cancel(w->p->user)) {
            r = cs_error_set(w->err, CLIPSEARCH_ERR_INTERRUPTED, "interrupted while walking %s",
                             dir);
            break;
        }
        nl = strlen(e->d_name);
        if (dl + nl + 2 > cap) {
            char *np = realloc(path, dl + nl + 64);
            if (!np) {
                r = oom(w);
                break;
            }
            path = np;
            cap = dl + nl + 64;
        }
        memcpy(path, dir, dl);
        /* The root "/" already ends with a slash. */
        if (dl > 0 && dir[dl - 1] == '/')
            memcpy(path + dl, e->d_name, nl + 1);
        else {
            path[dl] = '/';
            memcpy(path + dl + 1, e->d_name, nl + 1);
        }
        if ((r = visit(w, path, e->d_name, 0)) != CLIPSEARCH_OK)
            break;
    }
    free(path);
    closedir(d);
    return r;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const cs_walk_entry *)a)->path, ((const cs_walk_entry *)b)->path);
}

clipsearch_status cs_walk(const char *root, const cs_walk_params *params,
                          cs_walk_result *out, clipsearch_error *err)
{
    static const cs_walk_params defaults = {0};
    walker w;
    clipsearch_status r;
    memset(out, 0, sizeof *out);
    memset(&w, 0, sizeof w);
    w.p = params ? params : &defaults;
    w.res = out;
    w.err = err;
    r = visit(&w, root, root, 1);
    free(w.seen.keys);
    if (r != CLIPSEARCH_OK) {
        cs_walk_result_free(out);
        return r;
    }
    if (out->n_files > 1)
        qsort(out->files, out->n_files, sizeof *out->files, cmp_entry);
    return CLIPSEARCH_OK;
}

void cs_walk_result_free(cs_walk_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_files; i++)
        free(r->files[i].path);
    for (size_t i = 0; i < r->n_problems; i++) {
        free(r->problems[i].path);
        free(r->problems[i].message);
    }
    free(r->files);
    free(r->problems);
    memset(r, 0, sizeof *r);
}
