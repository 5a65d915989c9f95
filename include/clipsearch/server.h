/*
 * clipsearch/server.h — the local web server behind `clipsearch serve`: the
 * search page (compiled into the library) and its JSON API (README, "HTTP
 * API"), over one library and its model.
 *
 * The model (both towers) is loaded once, read-only, and shared; each
 * server thread has its own encoding contexts, tokenizer and read-only
 * library handle; the vector index is held once and searched under a lock.
 * An indexer may update the library meanwhile: searches follow its new
 * generation, so new photos show up without a restart.
 *
 * Thread-safety: start and stop a server from one thread; the server's own
 * threads serve requests.  Several servers may run in one process.
 */
#ifndef CLIPSEARCH_SERVER_H
#define CLIPSEARCH_SERVER_H

#include "clipsearch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLIPSEARCH_SERVER_DEFAULT_PORT 8765

typedef struct clipsearch_server clipsearch_server;

typedef struct clipsearch_server_params {
    const char *library;  /* library folder; NULL: clipsearch_library_default_path() */
    const char *model;    /* model folder or installed "ORG/NAME"; NULL: as
                             clipsearch_searcher_open picks it */
    const char *vocab;    /* tokenizer files; NULL: the model folder's */
    const char *listen;   /* IPv4 or IPv6 address to bind; NULL: "127.0.0.1" */
    int port;             /* CLIPSEARCH_SERVER_DEFAULT_PORT; 0: a free port */
    int require_token;    /* -1 (default): only when `listen` is not a loopback
                             address; 0: never; 1: always */
    const char *token;    /* the access token; NULL: 32 random bytes, hex */
    int n_threads;        /* request threads; <= 0: min(4, cores) */
    int connection_timeout; /* seconds a connection may stay silent (30) */
    int max_connections;  /* open connections at once (256); more are refused */
    const char *cache_dir;  /* thumbnail cache; NULL: $XDG_CACHE_HOME/clipsearch/thumbs
                               (else ~/.cache/...); "" disables the cache */
    const char *opener;   /* program run as `opener FOLDER` by POST /api/reveal;
                             NULL: $CLIPSEARCH_OPENER, else "xdg-open" */
    /* appended fields */
    double index_refresh_seconds; /* while an indexer runs, searches follow its
                                     commits at most this often (10; rebuilding the
                                     vector index costs ~1.5 s at 100,000 photos);
                                     otherwise every search sees the current state */
} clipsearch_server_params;

CLIPSEARCH_API
clipsearch_server_params clipsearch_server_default_params(void);

/*
 * Opens the library, picks and loads the model and starts serving on
 * listen:port.  Returns once the socket is bound and listening.  Errors:
 * those of clipsearch_searcher_open (no library, wrong model), model
 * loading, CLIPSEARCH_ERR_INVALID_ARGUMENT (bad address), CLIPSEARCH_ERR_IO
 * (cannot bind: port in use).  On success *out owns the server.
 */
CLIPSEARCH_API
clipsearch_status clipsearch_server_start(const clipsearch_server_params *params,
                                          clipsearch_server **out, clipsearch_error *err);

/* The page's URL, e.g. "http://127.0.0.1:8765/" (with "?token=..." when a
 * token is required); valid as long as the server. */
CLIPSEARCH_API
const char *clipsearch_server_url(const clipsearch_server *srv);

/* The bound port (useful with port 0). */
CLIPSEARCH_API
int clipsearch_server_port(const clipsearch_server *srv);

/* The access token, or NULL when none is required. */
CLIPSEARCH_API
const char *clipsearch_server_token(const clipsearch_server *srv);

/* Stops accepting, finishes or drops open requests, joins the server's
 * threads and frees everything; NULL is allowed. */
CLIPSEARCH_API
void clipsearch_server_stop(clipsearch_server *srv);

#ifdef __cplusplus
}
#endif
#endif /* CLIPSEARCH_SERVER_H */
