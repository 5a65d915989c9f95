/* hub.c — model folders on disk: clipsearch's own and the Hugging Face hub
 * cache (clipsearch/hub.h), and the parsing helpers of hub.h. */
#include "clipsearch/hub.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipsearch/library.h"
#include "error.h"
#include "model_internal.h"
#include "hub.h"

/* ---- names ------------------------------------------------------------------ */

static int name_char(int c) { return isalnum(c) || c == '-' || c == '_' || c == '.'; }

clipsearch_status cs_hub_check_repo(const char *repo, char *folder, size_t size,
                                    clipsearch_error *err)
{
    const char *slash;
    size_t part = 0;
    int parts = 1;
    if (!repo || !*repo)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "empty repository name");
    slash = strchr(repo, '/');
    for (const char *p = repo; *p; p++) {
        if (*p == '/') {
            if (part == 0 || ++parts > 2)
                goto bad;
            part = 0;
            continue;
        }
        if (!name_char((unsigned char)*p) || (part == 0 && *p == '.') ||
            (*p == '.' && p[1] == '.') || ++part > 96)
            goto bad;
    }
    if (part == 0)
        goto bad;
    if (folder) {
        int n = slash ? snprintf(folder, size, "%.*s--%s", (int)(slash - repo), repo, slash + 1)
                      : snprintf(folder, size, "%s", repo);
        if (n < 0 || (size_t)n >= size)
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                "repository name too long");
    }
    return CLIPSEARCH_OK;
bad:
    return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                        "'%s' is not a Hugging Face repository name (ORG/NAME: letters, "
                        "digits, '-', '_', '.')",
                        repo);
}

/* ---- headers ------------------------------------------------------------------ */

void cs_hub_headers_reset(cs_hub_headers *h)
{
    memset(h, 0, sizeof *h);
    h->content_length = -1;
    h->linked_size = -1;
    h->range_start = -1;
    h->range_total = -1;
}

static void copy_value(char *dst, size_t size, const char *v, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* ETag as huggingface_hub normalises it: no weak prefix, no quotes. */
static void copy_etag(char *dst, size_t size, const char *v, size_t n)
{
    if (n >= 2 && (v[0] == 'W' || v[0] == 'w') && v[1] == '/')
        v += 2, n -= 2;
    if (n >= 1 && v[0] == '"')
        v++, n--;
    if (n >= 1 && v[n - 1] == '"')
        n--;
    copy_value(dst, size, v, n);
}

/* Parses a decimal int64 from v[0..n); -1 on anything else or overflow. */
static int64_t parse_i64(const char *v, size_t n, size_t *used)
{
    int64_t x = 0;
    size_t i = 0;
    for (; i < n && isdigit((unsigned char)v[i]); i++) {
        if (x > (INT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    if (used)
        *used = i;
    return i ? x : -1;
}

void cs_hub_parse_header(cs_hub_headers *h, const char *line, size_t len)
{
    const char *colon, *v;
    size_t name_len, n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len >= 5 && !memcmp(line, "HTTP/", 5)) {
        const char *sp = memchr(line, ' ', len);
        cs_hub_headers_reset(h);
        if (sp) {
            size_t rest = len - (size_t)(sp + 1 - line), used = 0;
            int64_t code = parse_i64(sp + 1, rest, &used);
            h->status = code >= 100 && code <= 999 && used == 3 ? (int)code : 0;
        }
        return;
    }
    colon = memchr(line, ':', len);
    if (!colon)
        return;
    name_len = (size_t)(colon - line);
    v = colon + 1;
    n = len - name_len - 1;
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
#define IS(name) (name_len == sizeof name - 1 && !strncasecmp(line, name, name_len))
    if (IS("etag"))
        copy_etag(h->etag, sizeof h->etag, v, n);
    else if (IS("x-linked-etag"))
        copy_etag(h->linked_etag, sizeof h->linked_etag, v, n);
    else if (IS("content-length")) {
        size_t used = 0;
        int64_t x = parse_i64(v, n, &used);
        h->content_length = used == n ? x : -1;
    } else if (IS("x-linked-size")) {
        size_t used = 0;
        int64_t x = parse_i64(v, n, &used);
        h->linked_size = used == n ? x : -1;
    } else if (IS("x-repo-commit"))
        copy_value(h->commit, sizeof h->commit, v, n);
    else if (IS("location"))
        copy_value(h->location, sizeof h->location, v, n);
    else if (IS("x-error-code"))
        copy_value(h->error_code, sizeof h->error_code, v, n);
    else if (IS("content-range")) {
        /* "bytes START-END/TOTAL" */
        size_t used = 0, at;
        int64_t start, end;
        if (n < 6 || strncasecmp(v, "bytes ", 6) != 0)
            return;
        at = 6;
        start = parse_i64(v + at, n - at, &used);
        if (start < 0 || (at += used) >= n || v[at] != '-')
            return;
        at++;
        end = parse_i64(v + at, n - at, &used);
        if (end < start || (at += used) >= n || v[at] != '/')
            return;
        at++;
        h->range_start = start;
        h->range_total = parse_i64(v + at, n - at, &used);
        if (used != n - at)
            h->range_total = -1;
    }
#undef IS
}

int cs_hub_etag_kind(const char *etag)
{
    size_t n = strlen(etag);
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)etag[i]))
            return 0;
    return n == 64 ? 2 : n == 40 ? 1 : 0;
}

/* ---- folders ---------------------------------------------------------------- */

static clipsearch_status env_dir(char *buf, size_t size, const char *var, const char *xdg_sub,
                                 const char *home_sub, clipsearch_error *err)
{
    const char *v;
    int n;
    if (var && (v = getenv(var)) && *v)
        n = snprintf(buf, size, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v)
        n = snprintf(buf, size, "%s/%s", v, xdg_sub);
    else if ((v = getenv("HOME")) && *v)
        n = snprintf(buf, size, "%s/%s", v, home_sub);
    else
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                            "no cache location: set XDG_CACHE_HOME or HOME");
    if (n < 0 || (size_t)n >= size)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "cache path too long");
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_models_dir(char *buf, size_t size, clipsearch_error *err)
{
    return env_dir(buf, size, NULL, "clipsearch/models", ".cache/clipsearch/models", err);
}

clipsearch_status clipsearch_hf_cache_dir(char *buf, size_t size, clipsearch_error *err)
{
    const char *home = getenv("HF_HOME");
    if (!(getenv("HF_HUB_CACHE") && *getenv("HF_HUB_CACHE")) && home && *home) {
        int n = snprintf(buf, size, "%s/hub", home);
        if (n < 0 || (size_t)n >= size)
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "cache path too long");
        return CLIPSEARCH_OK;
    }
    return env_dir(buf, size, "HF_HUB_CACHE", "huggingface/hub", ".cache/huggingface/hub",
                   err);
}

static int is_file(const char *dir, const char *name, int64_t *size)
{
    char p[PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p || stat(p, &st) != 0 ||
        !S_ISREG(st.st_mode))
        return 0;
    if (size)
        *size = st.st_size;
    return 1;
}

/* A model folder: a config (Hugging Face's config.json or OpenCLIP's
 * open_clip_config.json) and weights the loader reads.  Fills *m (but
 * repo/source). */
static int complete_model(const char *dir, clipsearch_installed_model *m)
{
    int64_t size = 0;
    char weights[PATH_MAX];
    struct stat st;
    if (!is_file(dir, "config.json", NULL) && !is_file(dir, "open_clip_config.json", NULL))
        return 0;
    if (!cs_model_weights_path(dir, weights, sizeof weights) || stat(weights, &st) != 0)
        return 0;
    size = st.st_size;
    if (m) {
        snprintf(m->path, sizeof m->path, "%s", dir);
        m->weights_bytes = size;
        m->has_tokenizer = is_file(dir, "vocab.json", NULL) && is_file(dir, "merges.txt", NULL);
    }
    return 1;
}

/* "ORG--NAME" -> "ORG/NAME" (the first "--" only). */
static void folder_to_repo(const char *folder, char *repo, size_t size)
{
    const char *dd = strstr(folder, "--");
    if (dd)
        snprintf(repo, size, "%.*s/%s", (int)(dd - folder), folder, dd + 2);
    else
        snprintf(repo, size, "%s", folder);
}

/* The snapshot of a hub-cache repository folder to use: refs/main's if
 * complete, else the most recently modified complete one. */
static int hf_snapshot(const char *repo_dir, clipsearch_installed_model *m)
{
    char p[PATH_MAX], ref[128] = "";
    FILE *f;
    DIR *d;
    struct dirent *e;
    time_t best_time = 0;
    int found = 0;
    clipsearch_installed_model cand;
    snprintf(p, sizeof p, "%s/refs/main", repo_dir);
    if ((f = fopen(p, "r")) != NULL) {
        if (fgets(ref, sizeof ref, f))
            ref[strcspn(ref, "\r\n")] = '\0';
        fclose(f);
        if (ref[0] && !strchr(ref, '/')) {
            snprintf(p, sizeof p, "%s/snapshots/%s", repo_dir, ref);
            if (complete_model(p, m))
                return 1;
        }
    }
    snprintf(p, sizeof p, "%s/snapshots", repo_dir);
    if (!(d = opendir(p)))
        return 0;
    while ((e = readdir(d)) != NULL) {
        char s[PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(s, sizeof s, "%s/snapshots/%s", repo_dir, e->d_name) >= (int)sizeof s)
            continue;
        memset(&cand, 0, sizeof cand);
        if (stat(s, &st) == 0 && complete_model(s, &cand) &&
            (!found || st.st_mtime > best_time)) {
            *m = cand;
            best_time = st.st_mtime;
            found = 1;
        }
    }
    closedir(d);
    return found;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the sub-folders of dir (prefix filter); NULL-terminated. */
static char **list_dir(const char *dir, const char *prefix, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t n = 0, cap = 0, plen = strlen(prefix);
    *count = 0;
    if (!d)
        return NULL;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, plen) != 0)
            continue;
        if (n + 1 >= cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        if (!(v[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (v)
        qsort(v, n, sizeof *v, cmp_names);
    *count = n;
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

clipsearch_status clipsearch_models_list(int (*fn)(const clipsearch_installed_model *model,
                                                   void *user),
                                         void *user, clipsearch_error *err)
{
    char base[PATH_MAX];
    clipsearch_installed_model m;
    int stop = 0;
    if (clipsearch_models_dir(base, sizeof base, NULL) == CLIPSEARCH_OK) {
        size_t n = 0;
        char **names = list_dir(base, "", &n);
        for (size_t i = 0; i < n && !stop; i++) {
            char p[PATH_MAX];
            memset(&m, 0, sizeof m);
            if (snprintf(p, sizeof p, "%s/%s", base, names[i]) >= (int)sizeof p ||
                !complete_model(p, &m))
                continue;
            folder_to_repo(names[i], m.repo, sizeof m.repo);
            m.source = CLIPSEARCH_SOURCE_CLIPSEARCH;
            stop = fn(&m, user);
        }
        free_list(names, n);
    }
    if (!stop && clipsearch_hf_cache_dir(base, sizeof base, NULL) == CLIPSEARCH_OK) {
        size_t n = 0;
        char **names = list_dir(base, "models--", &n);
        for (size_t i = 0; i < n && !stop; i++) {
            char p[PATH_MAX];
            memset(&m, 0, sizeof m);
            if (snprintf(p, sizeof p, "%s/%s", base, names[i]) >= (int)sizeof p ||
                !hf_snapshot(p, &m))
                continue;
            folder_to_repo(names[i] + 8, m.repo, sizeof m.repo);
            m.source = CLIPSEARCH_SOURCE_HF_CACHE;
            stop = fn(&m, user);
        }
        free_list(names, n);
    }
    (void)err;
    return CLIPSEARCH_OK;
}

static clipsearch_status put(char *buf, size_t size, const char *path, clipsearch_error *err)
{
    int n = snprintf(buf, size, "%s", path);
    if (n < 0 || (size_t)n >= size)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "model path too long");
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_model_resolve(const char *name, char *buf, size_t size,
                                           clipsearch_error *err)
{
    char folder[256], base[PATH_MAX], p[PATH_MAX], repo[256];
    clipsearch_installed_model m;
    struct stat st;
    const char *dd;
    if (!name || !*name)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "empty model name");
    if (stat(name, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!is_file(name, "config.json", NULL) && !cs_model_weights_path(name, p, sizeof p))
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                "%s: not a model folder (no config.json, no "
                                "model.safetensors or open_clip_*.safetensors)",
                                name);
        return put(buf, size, name, err);
    }
    /* Accept the folder spelling ORG--NAME too. */
    if (!strchr(name, '/') && (dd = strstr(name, "--")) != NULL)
        snprintf(repo, sizeof repo, "%.*s/%s", (int)(dd - name), name, dd + 2);
    else
        snprintf(repo, sizeof repo, "%s", name);
    if (cs_hub_check_repo(repo, folder, sizeof folder, NULL) != CLIPSEARCH_OK)
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND, "%s: no such model folder", name);
    if (clipsearch_models_dir(base, sizeof base, NULL) == CLIPSEARCH_OK &&
        snprintf(p, sizeof p, "%s/%s", base, folder) < (int)sizeof p && complete_model(p, NULL))
        return put(buf, size, p, err);
    memset(&m, 0, sizeof m);
    if (clipsearch_hf_cache_dir(base, sizeof base, NULL) == CLIPSEARCH_OK &&
        snprintf(p, sizeof p, "%s/models--%s", base, folder) < (int)sizeof p &&
        hf_snapshot(p, &m))
        return put(buf, size, m.path, err);
    return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                        "model %s is not installed: run 'clipsearch model download %s'", repo,
                        repo);
}

typedef struct fp_search {
    const char *want;
    char found[PATH_MAX];
} fp_search;

static int match_fp(const clipsearch_installed_model *m, void *user)
{
    fp_search *s = user;
    char fp[CLIPSEARCH_FINGERPRINT_SIZE];
    if (clipsearch_model_fingerprint(m->path, fp, NULL) == CLIPSEARCH_OK &&
        !strcmp(fp, s->want)) {
        snprintf(s->found, sizeof s->found, "%s", m->path);
        return 1;
    }
    return 0;
}

clipsearch_status clipsearch_model_find_by_fingerprint(const char *fingerprint, char *buf,
                                                       size_t size, clipsearch_error *err)
{
    fp_search s;
    clipsearch_status r;
    memset(&s, 0, sizeof s);
    s.want = fingerprint;
    if ((r = clipsearch_models_list(match_fp, &s, err)) != CLIPSEARCH_OK)
        return r;
    if (!s.found[0])
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                            "no installed model has fingerprint %s", fingerprint);
    return put(buf, size, s.found, err);
}

int cs_hub_cache_snapshot(const char *folder, int need_tokenizer, char *out, size_t size)
{
    char base[PATH_MAX], p[PATH_MAX];
    clipsearch_installed_model m;
    memset(&m, 0, sizeof m);
    if (clipsearch_hf_cache_dir(base, sizeof base, NULL) != CLIPSEARCH_OK ||
        snprintf(p, sizeof p, "%s/models--%s", base, folder) >= (int)sizeof p ||
        !hf_snapshot(p, &m) || (need_tokenizer && !m.has_tokenizer))
        return 0;
    return snprintf(out, size, "%s", m.path) < (int)size;
}
