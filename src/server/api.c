/* api.c — the JSON API's handlers (server_internal.h): search by words, by
 * a library photo and by an uploaded one, thumbnails, photos, statistics,
 * revealing a photo's folder, and the page's embedded files.  Requests
 * reach here only after server.c's security checks. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assets.h"
#include "error.h"
#include "image_decode.h"
#include "jsonbuf.h"
#include "search_internal.h"
#include "clipsearch/duplicates.h"
#include "server_internal.h"
#include "thumbs.h"

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

void cs_reply_init(cs_reply *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->fd = -1;
    rep->status = 500;
    rep->content_type = "application/json";
}

void cs_reply_error(cs_reply *rep, int status, const char *msg)
{
    cs_buf b = {0};
    free(rep->body);
    if (rep->fd >= 0)
        close(rep->fd);
    cs_reply_init(rep);
    cs_buf_puts(&b, "{\"error\":");
    cs_buf_json_str(&b, msg);
    cs_buf_puts(&b, "}\n");
    rep->status = status;
    rep->body = (uint8_t *)cs_buf_take(&b, &rep->len);
    if (!rep->body) {
        static const char oom[] = "{\"error\":\"out of memory\"}\n";
        rep->status = 503;
        rep->static_body = (const uint8_t *)oom;
        rep->len = sizeof oom - 1;
    }
}

int cs_http_status_for(clipsearch_status st)
{
    switch (st) {
    case CLIPSEARCH_OK:
        return 200;
    case CLIPSEARCH_ERR_INVALID_ARGUMENT:
    case CLIPSEARCH_ERR_FORMAT:
        return 400;
    case CLIPSEARCH_ERR_NOT_FOUND:
        return 404;
    case CLIPSEARCH_ERR_TOO_LARGE:
        return 413;
    case CLIPSEARCH_ERR_UNSUPPORTED:
        return 415;
    case CLIPSEARCH_ERR_OUT_OF_MEMORY:
        return 503;
    default:
        return 500;
    }
}

static void reply_status(cs_reply *rep, clipsearch_status st, const clipsearch_error *err)
{
    cs_reply_error(rep, cs_http_status_for(st),
                   err->message[0] ? err->message : clipsearch_strerror(st));
}

static void reply_json(cs_reply *rep, cs_buf *b)
{
    rep->status = 200;
    rep->content_type = "application/json";
    rep->body = (uint8_t *)cs_buf_take(b, &rep->len);
    if (!rep->body)
        cs_reply_error(rep, 503, "out of memory");
}

/* ---- workers ------------------------------------------------------------------ */

/* A new worker on S->workers; taken: already the caller's thread's. */
static clipsearch_status worker_new(clipsearch_server *S, int taken, cs_worker **out,
                                    clipsearch_error *err)
{
    clipsearch_library_params lp = clipsearch_library_default_params();
    cs_worker *w = calloc(1, sizeof *w);
    clipsearch_status r;
    if (!w)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    lp.read_only = 1;
    if ((r = clipsearch_library_open(S->library_dir, &lp, &w->lib, err)) != CLIPSEARCH_OK) {
        free(w);
        return r;
    }
    w->taken = taken;
    pthread_mutex_lock(&S->workers_mu);
    w->next = S->workers;
    S->workers = w;
    pthread_mutex_unlock(&S->workers_mu);
    *out = w;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_worker_get(clipsearch_server *S, cs_worker **out, clipsearch_error *err)
{
    cs_worker *w = pthread_getspecific(S->worker_key);
    clipsearch_status r;
    if (w) {
        *out = w;
        return CLIPSEARCH_OK;
    }
    /* A worker made ready at start, else a new one. */
    pthread_mutex_lock(&S->workers_mu);
    for (w = S->workers; w && w->taken; w = w->next)
        ;
    if (w)
        w->taken = 1;
    pthread_mutex_unlock(&S->workers_mu);
    if (!w && (r = worker_new(S, 1, &w, err)) != CLIPSEARCH_OK)
        return r;
    pthread_setspecific(S->worker_key, w);
    *out = w;
    return CLIPSEARCH_OK;
}

static clipsearch_status worker_ctx(clipsearch_server *S, cs_worker *w, int text,
                                    clipsearch_error *err)
{
    clipsearch_context_params cp = clipsearch_context_default_params();
    clipsearch_context **c = text ? &w->text_ctx : &w->vision_ctx;
    clipsearch_status r;
    if (*c)
        return CLIPSEARCH_OK;
    /* One thread per request: the server's threads are the parallelism. */
    cp.n_threads = 1;
    cp.max_batch = 1;
    if ((r = clipsearch_context_new(S->weights, &cp, c, err)) != CLIPSEARCH_OK)
        return r;
    if (text && !w->tok &&
        (r = clipsearch_tokenizer_load(S->tokenizer_path, &w->tok, err)) != CLIPSEARCH_OK)
        return r;
    return CLIPSEARCH_OK;
}

/* ---- embedding queries ----------------------------------------------------------- */

/* query[dim] = normalise(sum w_i normalise(text_i)). */
static clipsearch_status embed_terms(clipsearch_server *S, cs_worker *w,
                                     const clipsearch_query_term *terms, int n, float *query,
                                     clipsearch_error *err)
{
    int dim = S->model.dim, ctx_len = S->mi->context_length;
    float *e = malloc((size_t)dim * sizeof *e);
    int32_t *ids = calloc((size_t)ctx_len, sizeof *ids);
    clipsearch_status r = CLIPSEARCH_OK;
    if (!e || !ids) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    if ((r = worker_ctx(S, w, 1, err)) != CLIPSEARCH_OK)
        goto out;
    memset(query, 0, (size_t)dim * sizeof *query);
    for (int i = 0; i < n; i++) {
        int n_ids = 0;
        memset(ids, 0, (size_t)ctx_len * sizeof *ids);
        if ((r = clipsearch_tokenize(w->tok, terms[i].value, strlen(terms[i].value), ids, ctx_len,
                                     &n_ids, err)) != CLIPSEARCH_OK ||
            (r = clipsearch_encode_text(w->text_ctx, ids, 1, ctx_len, e, err)) != CLIPSEARCH_OK)
            goto out;
        cs_query_add_term(query, e, terms[i].weight, dim);
    }
    r = cs_query_finish(query, dim, err);
out:
    free(e);
    free(ids);
    return r;
}

clipsearch_status cs_workers_prepare(clipsearch_server *S, int n, clipsearch_error *err)
{
    clipsearch_query_term t = {CLIPSEARCH_TERM_TEXT, "a photo", 1.0f};
    float *q = malloc((size_t)S->model.dim * sizeof *q);
    clipsearch_status r = CLIPSEARCH_OK;
    if (!q)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < n && r == CLIPSEARCH_OK; i++) {
        cs_worker *w = NULL;
        if ((r = worker_new(S, 0, &w, err)) != CLIPSEARCH_OK ||
            (r = worker_ctx(S, w, 1, err)) != CLIPSEARCH_OK)
            break;
        if (i == 0)
            r = embed_terms(S, w, &t, 1, q, err); /* pages the text tower in */
    }
    free(q);
    return r;
}

clipsearch_status cs_upload_embed(const clipsearch_model_info *mi, clipsearch_context *ctx,
                                  const uint8_t *data, size_t len, int64_t max_pixels,
                                  float *out, int *http_status, clipsearch_error *err)
{
    clipsearch_preprocess_params pp = clipsearch_preprocess_default_params();
    float *pixels = NULL;
    clipsearch_status r;
    *http_status = 500;
    if (len == 0) {
        *http_status = 400;
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "no photo in the request body");
    }
    if (cs_image_sniff(data, len) == CS_FORMAT_UNKNOWN) {
        *http_status = 415;
        return cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED,
                            "the request body is not a JPEG, PNG, WebP or HEIC photo");
    }
    pp.size = mi->image_size;
    memcpy(pp.mean, mi->image_mean, sizeof pp.mean);
    memcpy(pp.std, mi->image_std, sizeof pp.std);
    pp.mode = CLIPSEARCH_PREPROCESS_FAST; /* as the indexer does */
    pp.max_pixels = max_pixels;
    if (!(pixels = malloc((size_t)3 * (size_t)pp.size * (size_t)pp.size * sizeof *pixels))) {
        *http_status = 503;
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    }
    r = clipsearch_preprocess_memory(data, len, &pp, pixels, NULL, err);
    if (r == CLIPSEARCH_OK && ctx) {
        r = clipsearch_encode_images(ctx, pixels, 1, out, err);
        if (r == CLIPSEARCH_OK)
            clipsearch_normalize(out, 1, mi->projection_dim);
    }
    if (r != CLIPSEARCH_OK) {
        *http_status = cs_http_status_for(r);
        if (r == CLIPSEARCH_ERR_IO)
            *http_status = 400;
        cs_error_prefix(err, "the uploaded photo");
    }
    free(pixels);
    return r;
}

/* ---- results ---------------------------------------------------------------------- */

static void json_result(cs_buf *b, const clipsearch_search_result *it)
{
    cs_buf_printf(b, "{\"id\":%lld,\"path\":", (long long)it->file_id);
    cs_buf_json_str(b, it->path);
    cs_buf_puts(b, ",\"score\":");
    cs_buf_json_num(b, it->score);
    cs_buf_printf(b, ",\"width\":%d,\"height\":%d,\"taken\":", it->width, it->height);
    if (it->taken[0])
        cs_buf_json_str(b, it->taken);
    else
        cs_buf_puts(b, "null");
    cs_buf_puts(b, ",\"camera\":");
    if (it->camera[0])
        cs_buf_json_str(b, it->camera);
    else
        cs_buf_puts(b, "null");
    cs_buf_puts(b, "}");
}

/* Searches with query[dim] and answers the results offset..offset+n-1
 * (without `exclude`, a photo searched by itself). */
static void search_and_reply(clipsearch_server *S, const cs_search_request *sr,
                             const float *query, int64_t exclude, double t0, cs_reply *rep)
{
    clipsearch_search_params p = clipsearch_search_default_params();
    clipsearch_search_results *res = NULL;
    clipsearch_error err = {0};
    clipsearch_status r;
    cs_buf b = {0};
    int shown = 0, skipped = 0, more = 0;
    double t_search = now_ms(), t_wait = 0;
    /* One more than asked for tells whether there are more. */
    p.limit = sr->offset + sr->n + 1 + (exclude ? 1 : 0);
    if (sr->has_threshold)
        p.min_score = sr->threshold;
    p.under = sr->under;
    p.taken_after = sr->after[0] ? sr->after : NULL;
    p.taken_before = sr->before[0] ? sr->before : NULL;
    pthread_mutex_lock(&S->search_mu);
    t_wait = now_ms() - t_search;
    {
        clipsearch_library *lib = clipsearch_searcher_library(S->searcher);
        double t = now_ms() / 1e3;
        /* An indexer commits every batch: follow it only every few seconds. */
        p.reuse_stale_index =
            t - S->last_fresh < S->index_refresh_seconds && clipsearch_library_indexing(lib);
        r = clipsearch_library_search(lib, &S->model, query, &p, &res, &err);
        if (r == CLIPSEARCH_OK && !p.reuse_stale_index)
            S->last_fresh = t;
    }
    pthread_mutex_unlock(&S->search_mu);
    if (r != CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        return;
    }
    cs_buf_puts(&b, "{\"results\":[");
    for (int i = 0; i < res->n; i++) {
        if (res->items[i].file_id == exclude)
            continue;
        if (skipped < sr->offset) {
            skipped++;
            continue;
        }
        if (shown == sr->n) {
            more = 1;
            break;
        }
        if (shown++)
            cs_buf_puts(&b, ",");
        json_result(&b, &res->items[i]);
    }
    cs_buf_printf(&b, "],\"offset\":%d,\"has_more\":%s,\"total_ms\":", sr->offset,
                  more ? "true" : "false");
    cs_buf_json_num(&b, now_ms() - t0);
    /* Where the time went: embedding the query, waiting for the index
     * (other searches), searching it. */
    cs_buf_puts(&b, ",\"embed_ms\":");
    cs_buf_json_num(&b, t_search - t0);
    cs_buf_puts(&b, ",\"wait_ms\":");
    cs_buf_json_num(&b, t_wait);
    cs_buf_puts(&b, ",\"search_ms\":");
    cs_buf_json_num(&b, now_ms() - t_search - t_wait);
    cs_buf_puts(&b, "}\n");
    clipsearch_search_results_free(res);
    reply_json(rep, &b);
}

static int parse_request(const cs_request *req, cs_search_request *sr, cs_reply *rep)
{
    clipsearch_error err = {0};
    clipsearch_status r = cs_search_request_parse(req->query, sr, &err);
    if (r != CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        return 0;
    }
    return 1;
}

/* A query vector of the model's dimension, or NULL after replying 503. */
static float *new_query(const clipsearch_server *S, cs_reply *rep)
{
    float *q = malloc((size_t)S->model.dim * sizeof *q);
    if (!q)
        cs_reply_error(rep, 503, "out of memory");
    return q;
}

static void api_search_text(clipsearch_server *S, cs_worker *w, const cs_request *req,
                            cs_reply *rep, double t0)
{
    cs_search_request sr;
    clipsearch_query_term terms[CS_QS_MAX_TERMS];
    clipsearch_error err = {0};
    clipsearch_status r;
    char *buf = NULL;
    float *q = NULL;
    int n = 0;
    if (!parse_request(req, &sr, rep))
        return;
    if (!sr.text || !*sr.text) {
        cs_reply_error(rep, 400, "missing parameter 'q' (the words to search for)");
        return;
    }
    if (!(q = new_query(S, rep)))
        return;
    if (!(buf = malloc(strlen(sr.text) + 1))) {
        cs_reply_error(rep, 503, "out of memory");
        goto out;
    }
    if ((r = cs_parse_terms(sr.text, buf, terms, CS_QS_MAX_TERMS, &n, &err)) != CLIPSEARCH_OK ||
        (r = embed_terms(S, w, terms, n, q, &err)) != CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        goto out;
    }
    search_and_reply(S, &sr, q, 0, t0, rep);
out:
    free(buf);
    free(q);
}

static void api_search_upload(clipsearch_server *S, cs_worker *w, const cs_request *req,
                              cs_reply *rep, double t0)
{
    cs_search_request sr;
    clipsearch_error err = {0};
    clipsearch_status r;
    float *q = NULL;
    int status = 500;
    if (!parse_request(req, &sr, rep))
        return;
    if (!(q = new_query(S, rep)))
        return;
    if ((r = worker_ctx(S, w, 0, &err)) != CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        goto out;
    }
    if (cs_upload_embed(S->mi, w->vision_ctx, req->body, req->body_len, S->max_pixels, q,
                        &status, &err) != CLIPSEARCH_OK) {
        cs_reply_error(rep, status, err.message);
        goto out;
    }
    search_and_reply(S, &sr, q, 0, t0, rep);
out:
    free(q);
}

static void api_similar(clipsearch_server *S, cs_worker *w, const cs_request *req,
                        cs_reply *rep, double t0)
{
    cs_search_request sr;
    clipsearch_error err = {0};
    clipsearch_status r;
    float *q = NULL;
    if (!parse_request(req, &sr, rep))
        return;
    if (!sr.id) {
        cs_reply_error(rep, 400, "missing parameter 'id' (a photo's id from a search)");
        return;
    }
    if (!(q = new_query(S, rep)))
        return;
    r = clipsearch_library_get_embedding_by_id(w->lib, &S->model, sr.id, q, &err);
    if (r != CLIPSEARCH_OK)
        reply_status(rep, r, &err);
    else
        search_and_reply(S, &sr, q, sr.id, t0, rep);
    free(q);
}

/* ---- photos ------------------------------------------------------------------------- */

/*
 * Opens the photo with this id for reading, only if it is still in the
 * library, its real path (symlinks resolved) is under one of the library's
 * folders and it is a regular file: the fd, or -1 with rep filled.
 * real[PATH_MAX] gets the real path.
 */
static int open_photo(cs_worker *w, int64_t id, clipsearch_library_file *f, struct stat *st,
                      char *real, cs_reply *rep)
{
    clipsearch_error err = {0};
    clipsearch_status r;
    int inside = 0, fd;
    if (id <= 0) {
        cs_reply_error(rep, 400, "missing parameter 'id' (a photo's id from a search)");
        return -1;
    }
    if ((r = clipsearch_library_get_file(w->lib, id, f, &err)) != CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        return -1;
    }
    if (f->failed) {
        cs_reply_error(rep, 404, "this photo could not be indexed");
        return -1;
    }
    if (!realpath(f->path, real)) {
        cs_reply_error(rep, 404, "the photo is no longer on disk");
        return -1;
    }
    if ((r = clipsearch_library_path_in_roots(w->lib, real, &inside, &err)) != CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        return -1;
    }
    if (!inside) {
        cs_reply_error(rep, 403, "the photo's file lies outside the library's folders");
        return -1;
    }
    if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
        cs_reply_error(rep, errno == ENOENT ? 404 : 403, "cannot open the photo");
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        cs_reply_error(rep, 403, "the photo is not a regular file");
        return -1;
    }
    return fd;
}

static int read_fd(int fd, size_t size, uint8_t **out)
{
    uint8_t *p = malloc(size ? size : 1);
    size_t got = 0;
    if (!p)
        return -1;
    while (got < size) {
        ssize_t n = pread(fd, p + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != size) {
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* The file is what was indexed: same size and modification time. */
static int unchanged(const clipsearch_library_file *f, const struct stat *st)
{
    int64_t mtime = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    return f->hash[0] && f->size == (int64_t)st->st_size && f->mtime_ns == mtime;
}

static int etag_matches(const char *header, const char *etag)
{
    /* If-None-Match: "a", "b" or *; a weak W/ prefix compares equal. */
    const char *p = header;
    size_t n = strlen(etag);
    if (!header || !*etag)
        return 0;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (!strncmp(p, etag, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

static void api_thumb(clipsearch_server *S, cs_worker *w, const cs_request *req, cs_reply *rep)
{
    cs_search_request sr;
    clipsearch_library_file *f = NULL;
    clipsearch_error err = {0};
    clipsearch_status r;
    struct stat st;
    char real[PATH_MAX], key[64] = "";
    uint8_t *data = NULL, *jpeg = NULL;
    size_t jpeg_len = 0;
    int fd = -1, tw, th;
    if (!parse_request(req, &sr, rep))
        return;
    if (!(f = malloc(sizeof *f))) {
        cs_reply_error(rep, 503, "out of memory");
        return;
    }
    if ((fd = open_photo(w, sr.id, f, &st, real, rep)) < 0)
        goto out;
    /* Cached by content and size; a file changed since it was indexed is
     * rendered afresh and neither cached nor tagged. */
    if (unchanged(f, &st)) {
        snprintf(key, sizeof key, "%s-%d", f->hash, sr.size);
        snprintf(rep->etag, sizeof rep->etag, "\"%s\"", key);
        if (etag_matches(req->if_none_match, rep->etag)) {
            rep->status = 304;
            rep->cache_control = "private, max-age=604800";
            goto out;
        }
        if (cs_thumb_cache_read(S->cache_dir, key, &jpeg, &jpeg_len))
            goto send;
    }
    if (read_fd(fd, (size_t)st.st_size, &data) != 0) {
        cs_reply_error(rep, 500, "cannot read the photo");
        goto out;
    }
    if ((r = cs_thumb_render(data, (size_t)st.st_size, sr.size, S->max_pixels, &jpeg, &jpeg_len,
                             &tw, &th, &err)) != CLIPSEARCH_OK) {
        cs_reply_error(rep, r == CLIPSEARCH_ERR_OUT_OF_MEMORY ? 503 : 500, err.message);
        goto out;
    }
    if (key[0])
        cs_thumb_cache_write(S->cache_dir, key, jpeg, jpeg_len);
send:
    rep->status = 200;
    rep->content_type = "image/jpeg";
    rep->body = jpeg;
    rep->len = jpeg_len;
    rep->cache_control = "private, max-age=604800";
    jpeg = NULL;
out:
    if (fd >= 0)
        close(fd);
    free(data);
    free(jpeg);
    free(f);
}

static const char *content_type_of(int fd)
{
    uint8_t head[32];
    ssize_t n = pread(fd, head, sizeof head, 0);
    switch (n > 0 ? cs_image_sniff(head, (size_t)n) : CS_FORMAT_UNKNOWN) {
    case CS_FORMAT_JPEG:
        return "image/jpeg";
    case CS_FORMAT_PNG:
        return "image/png";
    case CS_FORMAT_WEBP:
        return "image/webp";
    case CS_FORMAT_HEIF:
        return "image/heic";
    default:
        return "application/octet-stream";
    }
}

static void api_photo(cs_worker *w, const cs_request *req, cs_reply *rep)
{
    cs_search_request sr;
    clipsearch_library_file *f = NULL;
    struct stat st;
    char real[PATH_MAX];
    int fd;
    if (!parse_request(req, &sr, rep))
        return;
    if (!(f = malloc(sizeof *f))) {
        cs_reply_error(rep, 503, "out of memory");
        return;
    }
    if ((fd = open_photo(w, sr.id, f, &st, real, rep)) >= 0) {
        if (unchanged(f, &st))
            snprintf(rep->etag, sizeof rep->etag, "\"%s\"", f->hash);
        if (rep->etag[0] && etag_matches(req->if_none_match, rep->etag)) {
            close(fd);
            rep->status = 304;
        } else {
            rep->status = 200;
            rep->content_type = content_type_of(fd);
            rep->fd = fd;
            rep->fd_size = (int64_t)st.st_size;
        }
        rep->cache_control = "private, max-age=3600";
    }
    free(f);
}

static void api_reveal(clipsearch_server *S, cs_worker *w, const cs_request *req,
                       cs_reply *rep)
{
    cs_search_request sr;
    clipsearch_library_file *f = NULL;
    struct stat st;
    char real[PATH_MAX], folder[PATH_MAX];
    char *argv[3];
    cs_buf b = {0};
    pid_t pid;
    int fd, status = 0, e;
    if (!parse_request(req, &sr, rep))
        return;
    if (!(f = malloc(sizeof *f))) {
        cs_reply_error(rep, 503, "out of memory");
        return;
    }
    if ((fd = open_photo(w, sr.id, f, &st, real, rep)) < 0)
        goto out;
    close(fd);
    {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", real);
        snprintf(folder, sizeof folder, "%s", dirname(tmp)); /* dirname writes into tmp */
    }
    argv[0] = S->opener;
    argv[1] = folder;
    argv[2] = NULL;
    if ((e = posix_spawnp(&pid, S->opener, NULL, NULL, argv, environ)) != 0) {
        char msg[PATH_MAX + 64];
        snprintf(msg, sizeof msg, "cannot run %s: %s", S->opener, strerror(e));
        cs_reply_error(rep, 500, msg);
        goto out;
    }
    /* xdg-open hands the folder to the file manager and returns. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cs_reply_error(rep, 500, "the program opening the folder failed");
        goto out;
    }
    cs_buf_puts(&b, "{\"ok\":true,\"folder\":");
    cs_buf_json_str(&b, folder);
    cs_buf_puts(&b, "}\n");
    reply_json(rep, &b);
out:
    free(f);
}

static void api_stats(clipsearch_server *S, cs_worker *w, cs_reply *rep)
{
    clipsearch_library_stats st;
    clipsearch_library_model m = S->model;
    clipsearch_error err = {0};
    clipsearch_status r;
    cs_buf b = {0};
    if ((r = clipsearch_library_get_stats(w->lib, &st, &err)) != CLIPSEARCH_OK ||
        (r = clipsearch_library_refresh_model(w->lib, &m, &err)) != CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        return;
    }
    cs_buf_printf(&b, "{\"photos\":%lld,\"files\":%lld,\"failures\":%lld,\"embeddings\":%lld,",
                  (long long)m.n_embeddings, (long long)st.files, (long long)st.failures,
                  (long long)st.embeddings);
    cs_buf_puts(&b, "\"model\":");
    cs_buf_json_str(&b, m.name);
    cs_buf_printf(&b, ",\"dim\":%d,\"fingerprint\":", m.dim);
    cs_buf_json_str(&b, m.fingerprint);
    cs_buf_puts(&b, ",\"index_type\":");
    cs_buf_json_str(&b, m.index_type);
    cs_buf_printf(&b, ",\"generation\":%lld,\"indexing\":%s,\"library\":",
                  (long long)m.generation,
                  clipsearch_library_indexing(w->lib) ? "true" : "false");
    cs_buf_json_str(&b, S->library_dir);
    cs_buf_printf(&b, ",\"database_bytes\":%lld,\"index_bytes\":%lld,\"version\":",
                  (long long)st.database_bytes, (long long)st.index_bytes);
    cs_buf_json_str(&b, clipsearch_version());
    cs_buf_puts(&b, "}\n");
    reply_json(rep, &b);
}

/* GET /api/duplicates?threshold=S&exact=1&limit=N: the duplicate groups
 * (clipsearch_library_find_duplicates), best first, at most N groups
 * (default 100). */
static void api_duplicates(clipsearch_server *S, cs_worker *w, const cs_request *req,
                           cs_reply *rep)
{
    clipsearch_duplicates_params dp = clipsearch_duplicates_default_params();
    clipsearch_duplicates *d = NULL;
    clipsearch_error err = {0};
    clipsearch_status r;
    const char *t = cs_query_get(req->query, "threshold");
    int64_t limit = 100, exact = 0;
    cs_buf b = {0};
    if (t) {
        char *end = NULL;
        dp.threshold = strtof(t, &end);
        if (!*t || *end || !(dp.threshold > 0 && dp.threshold <= 1)) {
            cs_reply_error(rep, 400, "parameter 'threshold' must be a similarity in (0, 1]");
            return;
        }
    }
    if (cs_query_int(req->query, "limit", 100, 1, 10000, &limit, &err) != CLIPSEARCH_OK ||
        cs_query_int(req->query, "exact", 0, 0, 1, &exact, &err) != CLIPSEARCH_OK) {
        cs_reply_error(rep, 400, err.message);
        return;
    }
    dp.exact_only = (int)exact;
    if ((r = clipsearch_library_find_duplicates(w->lib, &S->model, &dp, &d, &err)) !=
        CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        return;
    }
    cs_buf_printf(&b, "{\"threshold\":%.4f,\"photos_compared\":%lld,\"total_groups\":%zu,"
                      "\"groups\":[",
                  (double)dp.threshold, (long long)d->photos_compared, d->n_groups);
    for (size_t g = 0; g < d->n_groups && (int64_t)g < limit; g++) {
        const clipsearch_duplicate_group *gr = &d->groups[g];
        cs_buf_printf(&b, "%s{\"bytes\":%lld,\"photos\":[", g ? "," : "", (long long)gr->bytes);
        for (size_t k = 0; k < gr->n; k++) {
            const clipsearch_duplicate_photo *ph = &gr->photos[k];
            cs_buf_printf(&b, "%s{\"id\":%lld,\"path\":", k ? "," : "", (long long)ph->file.id);
            cs_buf_json_str(&b, ph->file.path);
            cs_buf_printf(&b, ",\"size\":%lld,\"width\":%d,\"height\":%d,\"taken\":",
                          (long long)ph->file.size, ph->file.width, ph->file.height);
            cs_buf_json_str(&b, ph->file.taken);
            cs_buf_printf(&b, ",\"similarity\":%.4f,\"identical\":%s}", (double)ph->similarity,
                          k && ph->identical ? "true" : "false");
        }
        cs_buf_puts(&b, "]}");
    }
    cs_buf_puts(&b, "]}\n");
    clipsearch_duplicates_free(d);
    reply_json(rep, &b);
}

/* ---- routing ---------------------------------------------------------------------------- */

static int serve_asset(const char *path, cs_reply *rep)
{
    if (!strcmp(path, "/"))
        path = "/index.html";
    for (const cs_web_asset *a = cs_web_assets; a->path; a++) {
        if (strcmp(a->path, path))
            continue;
        rep->status = 200;
        rep->content_type = a->content_type;
        rep->static_body = a->data;
        rep->len = a->size;
        rep->is_page = strlen(path) > 5 && !strcmp(path + strlen(path) - 5, ".html");
        /* The page changes only with the binary: revalidate each load. */
        rep->cache_control = "no-cache";
        return 1;
    }
    return 0;
}

void cs_api_handle(clipsearch_server *S, const cs_request *req, cs_reply *rep)
{
    const char *p = req->path;
    int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    int post = !strcmp(req->method, "POST");
    double t0 = now_ms();
    cs_worker *w = NULL;
    clipsearch_error err = {0};
    clipsearch_status r;
    cs_reply_init(rep);
    if (strncmp(p, "/api/", 5) != 0) {
        if (get && serve_asset(p, rep))
            return;
        cs_reply_error(rep, 404, "no such page");
        return;
    }
    if ((r = cs_worker_get(S, &w, &err)) != CLIPSEARCH_OK) {
        reply_status(rep, r, &err);
        return;
    }
    if (!strcmp(p, "/api/search")) {
        if (get)
            api_search_text(S, w, req, rep, t0);
        else if (post)
            api_search_upload(S, w, req, rep, t0);
        else
            cs_reply_error(rep, 405, "use GET or POST");
    } else if (!strcmp(p, "/api/similar") || !strcmp(p, "/api/thumb") ||
               !strcmp(p, "/api/photo") || !strcmp(p, "/api/stats")) {
        if (!get)
            cs_reply_error(rep, 405, "use GET");
        else if (p[5] == 's' && p[6] == 'i')
            api_similar(S, w, req, rep, t0);
        else if (p[5] == 't')
            api_thumb(S, w, req, rep);
        else if (p[5] == 'p')
            api_photo(w, req, rep);
        else
            api_stats(S, w, rep);
    } else if (!strcmp(p, "/api/duplicates")) {
        if (!get)
            cs_reply_error(rep, 405, "use GET");
        else
            api_duplicates(S, w, req, rep);
    } else if (!strcmp(p, "/api/reveal")) {
        if (!post)
            cs_reply_error(rep, 405, "use POST");
        else
            api_reveal(S, w, req, rep);
    } else {
        cs_reply_error(rep, 404, "no such API endpoint");
    }
}
