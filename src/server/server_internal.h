/* server_internal.h — private: what the HTTP front end (server.c) and the
 * API handlers (api.c) share.  server.c owns the daemon, routing and the
 * security checks; api.c turns a checked request into a reply and knows
 * nothing of libmicrohttpd. */
#ifndef CS_SERVER_INTERNAL_H
#define CS_SERVER_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clipsearch/library.h"
#include "clipsearch/model.h"
#include "clipsearch/search.h"
#include "clipsearch/server.h"
#include "clipsearch/tokenizer.h"
#include "querystring.h"

/* Largest upload accepted by POST /api/search (413 beyond). */
#define CS_MAX_UPLOAD_BYTES (32u * 1024u * 1024u)

/* One server thread's own state, made at its first request. */
typedef struct cs_worker {
    clipsearch_library *lib;      /* read-only handle: photo records, embeddings */
    clipsearch_context *text_ctx; /* made on first use */
    clipsearch_context *vision_ctx;
    clipsearch_tokenizer *tok;
    int taken;                    /* a thread's (workers_mu) */
    struct cs_worker *next;       /* all workers, for freeing at stop */
} cs_worker;

struct clipsearch_server {
    /* 1 once port, cookie_name and url are set after the daemon started
     * (its threads may take a connection before): requests wait for it.
     * Written with release, read with acquire (__atomic builtins). */
    int ready;
    /* The searcher picks the model and owns the one library handle that
     * holds the vector index; it is used under search_mu only. */
    clipsearch_searcher *searcher;
    pthread_mutex_t search_mu;
    double index_refresh_seconds;
    double last_fresh;                /* when a search last followed the library (search_mu) */
    clipsearch_library_model model;   /* the library's record (copy, read-only) */
    char model_dir[PATH_MAX];
    char tokenizer_path[PATH_MAX];
    char library_dir[PATH_MAX];
    clipsearch_model *weights;        /* both towers, shared read-only */
    const clipsearch_model_info *mi;

    pthread_key_t worker_key;
    int worker_key_made;
    pthread_mutex_t workers_mu;
    cs_worker *workers;

    struct MHD_Daemon *daemon;
    char listen[64];                  /* as given ("127.0.0.1", "::") */
    int ipv6, loopback, wildcard;
    int port;
    char hostname[256];               /* gethostname(), accepted as Host when wildcard */
    int require_token;
    char token[65];
    char cookie_name[32];             /* "clipsearch_token_PORT" */
    char url[200];
    char cache_dir[PATH_MAX];
    char opener[PATH_MAX];
    int64_t max_pixels;               /* decode budget for uploads and thumbnails */
};

/* A request that passed the security checks. */
typedef struct cs_request {
    const char *method;               /* "GET", "HEAD" or "POST" */
    const char *path;                 /* decoded, without the query */
    cs_query *query;
    const char *if_none_match;        /* NULL if absent */
    const uint8_t *body;              /* POST body [body_len] */
    size_t body_len;
} cs_request;

/* What to answer. */
typedef struct cs_reply {
    int status;
    const char *content_type;
    uint8_t *body;                    /* malloc'd [len], or */
    const uint8_t *static_body;       /* not owned [len] */
    size_t len;
    int fd;                           /* >= 0: send this file's fd_size bytes (closed by the sender) */
    int64_t fd_size;
    char etag[100];                   /* "" for none */
    const char *cache_control;        /* NULL: "no-store" */
    int is_page;                      /* the HTML page: add the Content-Security-Policy */
} cs_reply;

void cs_reply_init(cs_reply *rep);
/* A JSON error {"error": msg} with this status. */
void cs_reply_error(cs_reply *rep, int status, const char *msg);
/* The HTTP status for a library status code. */
int cs_http_status_for(clipsearch_status st);

/* Handles /api/... (and the page's assets); never fails to fill rep. */
void cs_api_handle(clipsearch_server *S, const cs_request *req, cs_reply *rep);

/* The calling thread's worker: one prepared at start, else made now. */
clipsearch_status cs_worker_get(clipsearch_server *S, cs_worker **out, clipsearch_error *err);

/* Makes n workers ready (library handle, text context, tokenizer) so that
 * no thread's first search pays for them, and runs one text query. */
clipsearch_status cs_workers_prepare(clipsearch_server *S, int n, clipsearch_error *err);

/*
 * Upload handling (fuzzed): the bytes of an example photo -> decoded under
 * the pixel budget, preprocessed as the indexer does -> embedded with ctx
 * (vision tower of a model with info mi) into out[mi->projection_dim],
 * normalised.  ctx may be NULL to stop after preprocessing (out untouched).
 * *http_status gets the status to answer on failure (400 damaged, 413 over
 * the budget, 415 not an image, 500/503 otherwise).
 */
clipsearch_status cs_upload_embed(const clipsearch_model_info *mi, clipsearch_context *ctx,
                                  const uint8_t *data, size_t len, int64_t max_pixels,
                                  float *out, int *http_status, clipsearch_error *err);

#endif
