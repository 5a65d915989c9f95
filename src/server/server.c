/* server.c — the HTTP front end of clipsearch/server.h on libmicrohttpd:
 * the daemon and its thread pool, reading requests (raw URL, upload body
 * under a cap), the security checks (Host, token, Origin, cross-site
 * fetches), and turning cs_reply into responses.  The handlers are api.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "error.h"
#include "server_internal.h"
#include "thumbs.h"

/* One request, from the URI callback to the completion callback. */
typedef struct conn {
    char *uri;       /* raw, as sent: the path is decoded here, not by MHD */
    int started;
    int too_large;   /* the body passed CS_MAX_UPLOAD_BYTES: discarded */
    uint8_t *body;
    size_t len, cap;
} conn;

clipsearch_server_params clipsearch_server_default_params(void)
{
    clipsearch_server_params p;
    memset(&p, 0, sizeof p);
    p.port = CLIPSEARCH_SERVER_DEFAULT_PORT;
    p.require_token = -1;
    p.connection_timeout = 30;
    p.max_connections = 256;
    p.index_refresh_seconds = 10.0;
    return p;
}

const char *clipsearch_server_url(const clipsearch_server *srv) { return srv->url; }
int clipsearch_server_port(const clipsearch_server *srv) { return srv->port; }
const char *clipsearch_server_token(const clipsearch_server *srv)
{
    return srv->require_token ? srv->token : NULL;
}

/* ---- security --------------------------------------------------------------- */

/* Constant-time comparison: the token must not leak through timing. */
static int same_secret(const char *a, const char *b)
{
    size_t n = strlen(b);
    unsigned char d = 0;
    if (!a || strlen(a) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static int is_ip_literal(const char *h)
{
    unsigned char buf[16];
    char tmp[64];
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']' && n - 2 < sizeof tmp) {
        memcpy(tmp, h + 1, n - 2);
        tmp[n - 2] = '\0';
        return inet_pton(AF_INET6, tmp, buf) == 1;
    }
    return inet_pton(AF_INET, h, buf) == 1;
}

/*
 * DNS rebinding defence: the Host header must name this server — localhost,
 * a loopback address, or the listen address (with a wildcard listen
 * address, any IP literal or this machine's host name) — and, if it has a
 * port, the bound one.
 */
static int host_allowed(const clipsearch_server *S, const char *host)
{
    char name[300];
    const char *colon;
    size_t n;
    if (!host || !*host || strlen(host) >= sizeof name)
        return 0;
    snprintf(name, sizeof name, "%s", host);
    /* Split off ":port" (after "]" for IPv6 literals). */
    colon = strrchr(name, ':');
    if (colon && (name[0] != '[' || colon > strchr(name, ']'))) {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (*end || end == colon + 1 || port != S->port)
            return 0;
        name[colon - name] = '\0';
    }
    n = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
            name[i] = (char)(name[i] - 'A' + 'a');
    if (n && name[n - 1] == '.')
        name[--n] = '\0';
    if (!strcmp(name, "localhost") || !strcmp(name, "127.0.0.1") || !strcmp(name, "[::1]"))
        return 1;
    if (S->ipv6) {
        char br[80];
        snprintf(br, sizeof br, "[%s]", S->listen);
        if (!strcmp(name, br))
            return 1;
    } else if (!strcmp(name, S->listen)) {
        return 1;
    }
    if (S->wildcard) {
        char local[300];
        if (is_ip_literal(name))
            return 1;
        if (S->hostname[0]) {
            snprintf(local, sizeof local, "%s.local", S->hostname);
            if (!strcmp(name, S->hostname) || !strcmp(name, local))
                return 1;
        }
    }
    return 0;
}

/* ---- responses --------------------------------------------------------------- */

static enum MHD_Result send_reply(struct MHD_Connection *c, const clipsearch_server *S,
                                  cs_reply *rep, int set_cookie)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    if (rep->status == 304) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        free(rep->body);
        rep->body = NULL;
    } else if (rep->fd >= 0) {
        resp = MHD_create_response_from_fd64((uint64_t)rep->fd_size, rep->fd);
        if (!resp)
            close(rep->fd);
    } else if (rep->body) {
        resp = MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(rep->body);
    } else {
        resp = MHD_create_response_from_buffer(rep->len, (void *)rep->static_body,
                                               MHD_RESPMEM_PERSISTENT);
    }
    rep->body = NULL;
    rep->fd = -1;
    if (!resp)
        return MHD_NO;
    if (rep->status != 304)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            rep->cache_control ? rep->cache_control : "no-store");
    if (rep->etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, rep->etag);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    if (rep->is_page)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' blob: data:; "
                                "style-src 'self' 'unsafe-inline'; script-src 'self'; "
                                "connect-src 'self'; object-src 'none'; base-uri 'none'; "
                                "frame-ancestors 'none'; form-action 'self'");
    if (set_cookie && S->require_token) {
        char cookie[200];
        /* Cookies ignore ports: the port in the name keeps two servers on one
         * machine from overwriting each other's token. */
        snprintf(cookie, sizeof cookie,
                 "clipsearch_token_%d=%s; Path=/; HttpOnly; SameSite=Strict", S->port, S->token);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    }
    ret = MHD_queue_response(c, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, const clipsearch_server *S,
                                  int status, const char *msg)
{
    cs_reply rep;
    cs_reply_init(&rep);
    cs_reply_error(&rep, status, msg);
    return send_reply(c, S, &rep, 0);
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------ */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    conn *k = calloc(1, sizeof *k);
    (void)cls;
    (void)c;
    if (k && !(k->uri = strdup(uri ? uri : ""))) {
        free(k);
        k = NULL;
    }
    return k;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    conn *k = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (!k)
        return;
    free(k->uri);
    free(k->body);
    free(k);
    *con_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    clipsearch_server *S = cls;
    conn *k = *con_cls;
    clipsearch_error err = {0};
    /* A connection taken between the daemon's start and the port being
     * known (port 0) waits the few microseconds until it is. */
    while (!__atomic_load_n(&S->ready, __ATOMIC_ACQUIRE)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    cs_query query;
    cs_request req;
    cs_reply rep;
    const char *qmark, *host, *tok, *v;
    char *path = NULL;
    size_t plen;
    int post = !strcmp(method, "POST"), token_ok = 0, token_in_url = 0;
    enum MHD_Result ret;
    (void)url;
    (void)version;
    if (!k)
        return MHD_NO; /* out of memory in on_uri: drop the connection */
    if (!k->started) {
        k->started = 1;
        if (strcmp(method, "GET") && strcmp(method, "HEAD") && !post)
            return send_error(c, S, 405, "method not allowed");
        if (post && (v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH)) &&
            strtoull(v, NULL, 10) > CS_MAX_UPLOAD_BYTES)
            return send_error(c, S, 413, "the upload is larger than 32 MB");
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!post || k->too_large)
            return MHD_YES;
        if (k->len + n > CS_MAX_UPLOAD_BYTES) {
            k->too_large = 1;
            free(k->body);
            k->body = NULL;
            k->len = k->cap = 0;
            return MHD_YES;
        }
        if (k->len + n > k->cap) {
            size_t cap = k->cap ? k->cap * 2 : 65536;
            uint8_t *p;
            while (cap < k->len + n)
                cap *= 2;
            if (cap > CS_MAX_UPLOAD_BYTES)
                cap = CS_MAX_UPLOAD_BYTES;
            if (!(p = realloc(k->body, cap))) {
                k->too_large = 1; /* answered as 413 below: no memory to hold it */
                free(k->body);
                k->body = NULL;
                k->len = k->cap = 0;
                return MHD_YES;
            }
            k->body = p;
            k->cap = cap;
        }
        memcpy(k->body + k->len, upload_data, n);
        k->len += n;
        return MHD_YES;
    }

    /* The whole request is here: check it, then answer. */
    qmark = strchr(k->uri, '?');
    plen = qmark ? (size_t)(qmark - k->uri) : strlen(k->uri);
    {
        const char *hash = memchr(k->uri, '#', plen);
        if (hash)
            plen = (size_t)(hash - k->uri);
    }
    memset(&query, 0, sizeof query);
    if (!(path = malloc(plen + 1)))
        return send_error(c, S, 503, "out of memory");
    if (cs_url_decode(k->uri, plen, 0, path, NULL, &err) != CLIPSEARCH_OK || path[0] != '/') {
        free(path);
        return send_error(c, S, 400, err.message[0] ? err.message : "malformed URL");
    }
    if (qmark && cs_query_parse(qmark + 1, strcspn(qmark + 1, "#"), &query, &err) !=
                     CLIPSEARCH_OK) {
        free(path);
        return send_error(c, S, err.status == CLIPSEARCH_ERR_TOO_LARGE ? 414 : 400, err.message);
    }
    host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host_allowed(S, host)) {
        ret = send_error(c, S, 403, "this server answers only to its own address "
                                    "(the Host header names another)");
        goto out;
    }
    if ((tok = cs_query_get(&query, "token")) != NULL && same_secret(tok, S->token))
        token_ok = token_in_url = 1;
    else if (same_secret(MHD_lookup_connection_value(c, MHD_COOKIE_KIND, S->cookie_name),
                         S->token) ||
             same_secret(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Clipsearch-Token"),
                         S->token))
        token_ok = 1;
    if (S->require_token && !token_ok) {
        ret = send_error(c, S, 401, "access token required: open the URL the server printed "
                                    "(with ?token=...)");
        goto out;
    }
    /* Another page (another site, or another port of localhost: "same-site")
     * may make the browser fetch from us; it gets nothing from the API.
     * Top-level navigation to the page stays possible. */
    if (!strncmp(path, "/api/", 5) &&
        (v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site")) &&
        strcmp(v, "same-origin") && strcmp(v, "none")) {
        ret = send_error(c, S, 403, "cross-site requests are refused");
        goto out;
    }
    /* State-changing requests need the token or a same-origin Origin. */
    if (post && !token_ok) {
        const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        char want[400];
        snprintf(want, sizeof want, "http://%s", host);
        if (!origin || strcmp(origin, want)) {
            ret = send_error(c, S, 403, "POST requests need a same-origin Origin header");
            goto out;
        }
    }
    if (k->too_large) {
        ret = send_error(c, S, 413, "the upload is larger than 32 MB");
        goto out;
    }
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.query = &query;
    req.if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_IF_NONE_MATCH);
    req.body = k->body;
    req.body_len = k->len;
    cs_api_handle(S, &req, &rep);
    ret = send_reply(c, S, &rep, token_in_url);
out:
    cs_query_free(&query);
    free(path);
    return ret;
}

/* ---- start and stop ------------------------------------------------------------------ */

static void free_worker(cs_worker *w)
{
    clipsearch_context_free(w->text_ctx);
    clipsearch_context_free(w->vision_ctx);
    clipsearch_tokenizer_free(w->tok);
    clipsearch_library_close(w->lib);
    free(w);
}

void clipsearch_server_stop(clipsearch_server *S)
{
    if (!S)
        return;
    if (S->daemon)
        MHD_stop_daemon(S->daemon); /* joins the threads */
    while (S->workers) {
        cs_worker *w = S->workers;
        S->workers = w->next;
        free_worker(w);
    }
    if (S->worker_key_made)
        pthread_key_delete(S->worker_key);
    clipsearch_model_free(S->weights);
    clipsearch_searcher_close(S->searcher);
    pthread_mutex_destroy(&S->search_mu);
    pthread_mutex_destroy(&S->workers_mu);
    free(S);
}

static clipsearch_status make_token(char out[65], clipsearch_error *err)
{
    unsigned char raw[32];
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "/dev/urandom: %s", strerror(errno));
    while (got < sizeof raw) {
        ssize_t n = read(fd, raw + got, sizeof raw - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != sizeof raw)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "/dev/urandom: short read");
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return CLIPSEARCH_OK;
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

clipsearch_status clipsearch_server_start(const clipsearch_server_params *params,
                                          clipsearch_server **out, clipsearch_error *err)
{
    clipsearch_server_params dp = clipsearch_server_default_params();
    clipsearch_searcher_params sp = clipsearch_searcher_default_params();
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_server *S = NULL;
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    const struct sockaddr *addr;
    const union MHD_DaemonInfo *info;
    const char *env;
    clipsearch_status r;
    unsigned flags;
    int n_threads;
    if (!out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!params)
        params = &dp;
    if (params->port < 0 || params->port > 65535)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "port %d is not 0..65535",
                            params->port);
    if (!(S = calloc(1, sizeof *S)))
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    pthread_mutex_init(&S->search_mu, NULL);
    pthread_mutex_init(&S->workers_mu, NULL);
    S->max_pixels = CLIPSEARCH_DEFAULT_MAX_PIXELS;
    S->index_refresh_seconds = params->index_refresh_seconds >= 0 ? params->index_refresh_seconds
                                                                  : 10.0;

    /* The address first: a typo should fail before the model loads. */
    snprintf(S->listen, sizeof S->listen, "%s", params->listen ? params->listen : "127.0.0.1");
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, S->listen, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)params->port);
        addr = (const struct sockaddr *)&a4;
        S->loopback = (ntohl(a4.sin_addr.s_addr) >> 24) == 127;
        S->wildcard = a4.sin_addr.s_addr == htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET6, S->listen, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)params->port);
        addr = (const struct sockaddr *)&a6;
        S->ipv6 = 1;
        S->loopback = IN6_IS_ADDR_LOOPBACK(&a6.sin6_addr);
        S->wildcard = IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr);
    } else {
        r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                         "'%s' is not an IPv4 or IPv6 address", S->listen);
        goto fail;
    }
    if (gethostname(S->hostname, sizeof S->hostname - 1) != 0)
        S->hostname[0] = '\0';
    S->require_token = params->require_token < 0 ? !S->loopback : params->require_token != 0;
    if (params->token && *params->token) {
        if (strlen(params->token) > 64 || strspn(params->token,
                                                 "0123456789abcdefghijklmnopqrstuvwxyz"
                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") !=
                                                  strlen(params->token)) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                             "the token must be 1 to 64 letters, digits, '-' or '_'");
            goto fail;
        }
        snprintf(S->token, sizeof S->token, "%s", params->token);
    } else if ((r = make_token(S->token, err)) != CLIPSEARCH_OK) {
        goto fail;
    }
    if (params->cache_dir)
        snprintf(S->cache_dir, sizeof S->cache_dir, "%s", params->cache_dir);
    else
        cs_thumb_cache_dir(S->cache_dir, sizeof S->cache_dir);
    env = getenv("CLIPSEARCH_OPENER");
    snprintf(S->opener, sizeof S->opener, "%s",
             params->opener ? params->opener : env && *env ? env : "xdg-open");

    /* Library and model, as a search picks them; then both towers, once. */
    sp.library = params->library;
    sp.model = params->model;
    sp.vocab = params->vocab;
    if ((r = clipsearch_searcher_open(&sp, &S->searcher, err)) != CLIPSEARCH_OK)
        goto fail;
    S->model = *clipsearch_searcher_model(S->searcher);
    snprintf(S->model_dir, sizeof S->model_dir, "%s", clipsearch_searcher_model_dir(S->searcher));
    snprintf(S->tokenizer_path, sizeof S->tokenizer_path, "%s",
             params->vocab ? params->vocab : S->model_dir);
    {
        const char *dir = clipsearch_library_path(clipsearch_searcher_library(S->searcher));
        if (!realpath(dir, S->library_dir))
            snprintf(S->library_dir, sizeof S->library_dir, "%s", dir);
    }
    mp.towers = CLIPSEARCH_TOWER_BOTH;
    if ((r = clipsearch_model_load(S->model_dir, &mp, &S->weights, err)) != CLIPSEARCH_OK)
        goto fail;
    S->mi = clipsearch_model_get_info(S->weights);
    if (S->mi->projection_dim != S->model.dim) {
        r = cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                         "%s: embedding size %d differs from the library's %d", S->model_dir,
                         S->mi->projection_dim, S->model.dim);
        goto fail;
    }
    /* The tokenizer now, so that a missing one fails here, not per request. */
    {
        clipsearch_tokenizer *t = NULL;
        if ((r = clipsearch_tokenizer_load(S->tokenizer_path, &t, err)) != CLIPSEARCH_OK) {
            cs_error_prefix(err, "the model folder has no usable tokenizer (vocab.json + "
                                 "merges.txt); pass --vocab PATH");
            goto fail;
        }
        clipsearch_tokenizer_free(t);
    }
    /* Load the vector index now: the first search should not pay for it. */
    {
        float *q = calloc((size_t)S->model.dim, sizeof *q);
        clipsearch_search_params p = clipsearch_search_default_params();
        clipsearch_search_results *res = NULL;
        if (!q) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        q[0] = 1.0f;
        p.limit = 1;
        r = clipsearch_library_search(clipsearch_searcher_library(S->searcher), &S->model, q, &p,
                                      &res, err);
        clipsearch_search_results_free(res);
        free(q);
        if (r != CLIPSEARCH_OK)
            goto fail;
    }
    if (pthread_key_create(&S->worker_key, NULL) != 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "pthread_key_create failed");
        goto fail;
    }
    S->worker_key_made = 1;

    n_threads = params->n_threads > 0 ? params->n_threads : default_threads();
    if ((r = cs_workers_prepare(S, n_threads, err)) != CLIPSEARCH_OK)
        goto fail;
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (S->ipv6)
        flags |= MHD_USE_IPv6;
    S->daemon = MHD_start_daemon(
        flags, (uint16_t)params->port, NULL, NULL, on_request, S, MHD_OPTION_SOCK_ADDR, addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)n_threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(params->connection_timeout > 0 ? params->connection_timeout : 30),
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(params->max_connections > 0 ? params->max_connections : 256),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, S, MHD_OPTION_END);
    if (!S->daemon) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO,
                         "cannot listen on %s port %d (in use, or not an address of this "
                         "machine)",
                         S->listen, params->port);
        goto fail;
    }
    info = MHD_get_daemon_info(S->daemon, MHD_DAEMON_INFO_BIND_PORT);
    S->port = info ? info->port : params->port;
    snprintf(S->cookie_name, sizeof S->cookie_name, "clipsearch_token_%d", S->port);
    {
        const char *h = S->wildcard ? (S->ipv6 ? "[::1]" : "127.0.0.1") : S->listen;
        char br[80];
        if (S->ipv6 && !S->wildcard) {
            snprintf(br, sizeof br, "[%s]", S->listen);
            h = br;
        }
        if (S->require_token)
            snprintf(S->url, sizeof S->url, "http://%s:%d/?token=%s", h, S->port, S->token);
        else
            snprintf(S->url, sizeof S->url, "http://%s:%d/", h, S->port);
    }
    __atomic_store_n(&S->ready, 1, __ATOMIC_RELEASE); /* found by ThreadSanitizer */
    *out = S;
    return CLIPSEARCH_OK;
fail:
    clipsearch_server_stop(S);
    return r;
}
