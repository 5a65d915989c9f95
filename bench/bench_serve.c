/* bench_serve — the server's speed (issue 10): text search through HTTP
 * against a library (e.g. 100,000 photos and a full-size ViT-B/32 from
 * bench_search / scripts/bench-serve.sh), the same with C concurrent
 * clients (throughput, p50, p99), and a 12-MP JPEG's thumbnail made the
 * first time (decode with DCT scaling + resize + encode + cache write) and
 * read from the disk cache.
 *
 *   bench_serve --model DIR --db DIR [--queries Q] [--clients C]
 *               [--per-client K] [--threads T] [--work DIR]
 *
 * The server runs in this process on 127.0.0.1 (port 0); clients are
 * threads speaking plain HTTP/1.1 over sockets.  "server" times are the
 * total_ms each response reports (parse to JSON written); "client" times
 * include the HTTP round trip.  Thumbnails are timed in process (the code
 * behind /api/thumb), on a generated 4000x3000 photo. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "clipsearch.h"
#include "thumbs.h"

static int port;

/* GET path; *body gets the malloc'd response body.  Returns the status. */
static int http_get(const char *path, char **body)
{
    struct sockaddr_in a;
    char req[1024], *buf = NULL, *p;
    size_t len = 0, cap = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    *body = NULL;
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto out;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
             path, port);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        goto out;
    for (;;) {
        ssize_t n;
        if (len + 65536 > cap) {
            char *q = realloc(buf, cap = cap * 2 + 65536);
            if (!q)
                goto out;
            buf = q;
        }
        if ((n = read(fd, buf + len, cap - len - 1)) <= 0)
            break;
        len += (size_t)n;
    }
    if (!buf)
        goto out;
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        status = -1;
    if ((p = strstr(buf, "\r\n\r\n")) != NULL)
        *body = strdup(p + 4);
out:
    free(buf);
    close(fd);
    return status;
}

static double total_ms(const char *body)
{
    const char *p = body ? strstr(body, "\"total_ms\":") : NULL;
    return p ? atof(p + 11) : -1;
}

static const char *const words[] = {"dog on a beach", "a red car", "mountains at sunset",
                                    "birthday cake", "a cat sleeping", "city at night",
                                    "people at a wedding", "snow in the forest"};

typedef struct client {
    int k, id;
    double *lat; /* [k] seconds */
    int errors;
} client;

static void *client_main(void *arg)
{
    client *c = arg;
    for (int i = 0; i < c->k; i++) {
        char path[256], *body = NULL, q[128];
        double t0 = bench_now();
        snprintf(q, sizeof q, "%s", words[(c->id + i) % 8]);
        for (char *s = q; *s; s++)
            if (*s == ' ')
                *s = '+';
        snprintf(path, sizeof path, "/api/search?q=%s&n=50", q);
        if (http_get(path, &body) != 200)
            c->errors++;
        c->lat[i] = bench_now() - t0;
        free(body);
    }
    return NULL;
}

static double pct(double *v, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

int main(int argc, char **argv)
{
    const char *model = NULL, *db = NULL, *work = "/tmp/clipsearch-bench-serve";
    int queries = 20, clients = 50, per_client = 4, threads = 0;
    clipsearch_server_params sp = clipsearch_server_default_params();
    clipsearch_server *srv = NULL;
    clipsearch_error err = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
            queries = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
            clients = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--per-client") && i + 1 < argc)
            per_client = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--work") && i + 1 < argc)
            work = argv[++i];
        else {
            fprintf(stderr, "usage: bench_serve --model DIR --db DIR [--queries Q] "
                            "[--clients C] [--per-client K] [--threads T] [--work DIR]\n");
            return 2;
        }
    }
    if (queries < 1 || clients < 1 || per_client < 1) {
        fprintf(stderr, "bench_serve: counts must be positive\n");
        return 2;
    }
    mkdir(work, 0755);

    /* ---- thumbnails of a 12-MP JPEG, in process ---- */
    {
        int w = 4000, h = 3000, reps = 5, tw, th;
        uint8_t *rgb = malloc((size_t)w * h * 3), *jpeg, *thumb = NULL, *cached = NULL;
        unsigned long jlen = 0;
        size_t tlen = 0, clen = 0;
        double first[5], hit[50];
        char cache[4200];
        uint64_t r = 88172645463325252ull;
        if (!rgb)
            return 1;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = rgb + ((size_t)y * w + x) * 3;
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                p[0] = (uint8_t)(x * 255 / w), p[1] = (uint8_t)(y * 255 / h);
                p[2] = (uint8_t)((x ^ y) + (int)(r & 31));
            }
        jpeg = bench_encode_jpeg(rgb, w, h, 90, &jlen);
        free(rgb);
        snprintf(cache, sizeof cache, "%s/thumbs", work);
        for (int i = 0; i < reps; i++) {
            char key[64];
            double t0 = bench_now();
            snprintf(key, sizeof key, "0123456789abcdef0123456789abcdef-%d", 256 + i);
            if (cs_thumb_render(jpeg, jlen, 256, 0, &thumb, &tlen, &tw, &th, &err) !=
                    CLIPSEARCH_OK ||
                cs_thumb_cache_write(cache, key, thumb, tlen) != 0) {
                fprintf(stderr, "bench_serve: thumbnail: %s\n", err.message);
                return 1;
            }
            first[i] = bench_now() - t0;
            free(thumb);
        }
        for (int i = 0; i < 50; i++) {
            double t0 = bench_now();
            if (!cs_thumb_cache_read(cache, "0123456789abcdef0123456789abcdef-256", &cached,
                                     &clen))
                return 1;
            hit[i] = bench_now() - t0;
            free(cached);
        }
        qsort(first, (size_t)reps, sizeof *first, bench_cmp_double);
        qsort(hit, 50, sizeof *hit, bench_cmp_double);
        printf("thumbnail of a 4000x3000 JPEG (%.1f MB) to %dx%d: first time median %.1f ms "
               "(min %.1f), cached median %.3f ms\n",
               jlen / 1e6, tw, th, first[reps / 2] * 1e3, first[0] * 1e3, hit[25] * 1e3);
        free(jpeg);
    }
    if (!model || !db) {
        printf("(no --model/--db: search not measured)\n");
        return 0;
    }

    /* ---- the server ---- */
    sp.library = db;
    sp.model = model;
    sp.port = 0;
    sp.n_threads = threads;
    sp.cache_dir = "";
    sp.max_connections = clients * 2 + 16;
    {
        double t0 = bench_now();
        if (clipsearch_server_start(&sp, &srv, &err) != CLIPSEARCH_OK) {
            fprintf(stderr, "bench_serve: %s\n", err.message);
            return 1;
        }
        port = clipsearch_server_port(srv);
        printf("server started in %.2f s (model + vector index loaded) on port %d\n",
               bench_now() - t0, port);
    }
    {
        double *srv_ms = calloc((size_t)queries, sizeof *srv_ms);
        double *cli_ms = calloc((size_t)queries, sizeof *cli_ms);
        char *body = NULL;
        if (!srv_ms || !cli_ms)
            return 1;
        /* One warm-up query: the worker threads make their contexts. */
        http_get("/api/search?q=warm+up&n=50", &body);
        free(body);
        for (int i = 0; i < queries; i++) {
            char path[256], q[128];
            double t0 = bench_now();
            snprintf(q, sizeof q, "%s", words[i % 8]);
            for (char *s = q; *s; s++)
                if (*s == ' ')
                    *s = '+';
            snprintf(path, sizeof path, "/api/search?q=%s&n=50", q);
            if (http_get(path, &body) != 200) {
                fprintf(stderr, "bench_serve: search failed: %s\n", body ? body : "");
                return 1;
            }
            cli_ms[i] = (bench_now() - t0) * 1e3;
            srv_ms[i] = total_ms(body);
            free(body);
        }
        qsort(srv_ms, (size_t)queries, sizeof *srv_ms, bench_cmp_double);
        qsort(cli_ms, (size_t)queries, sizeof *cli_ms, bench_cmp_double);
        printf("text search, one at a time (%d queries, n=50): server p50 %.1f ms, min %.1f, "
               "max %.1f; client p50 %.1f ms\n",
               queries, pct(srv_ms, queries, 0.5), srv_ms[0], srv_ms[queries - 1],
               pct(cli_ms, queries, 0.5));
        free(srv_ms);
        free(cli_ms);
    }
    {
        pthread_t *tid = calloc((size_t)clients, sizeof *tid);
        client *cs = calloc((size_t)clients, sizeof *cs);
        double *all = calloc((size_t)clients * per_client, sizeof *all), t0, wall;
        int n = clients * per_client, errors = 0;
        if (!tid || !cs || !all)
            return 1;
        for (int i = 0; i < clients; i++) {
            cs[i].k = per_client;
            cs[i].id = i;
            cs[i].lat = all + (size_t)i * per_client;
        }
        t0 = bench_now();
        for (int i = 0; i < clients; i++)
            pthread_create(&tid[i], NULL, client_main, &cs[i]);
        for (int i = 0; i < clients; i++) {
            pthread_join(tid[i], NULL);
            errors += cs[i].errors;
        }
        wall = bench_now() - t0;
        qsort(all, (size_t)n, sizeof *all, bench_cmp_double);
        printf("%d concurrent clients x %d searches: %.1f searches/s, latency p50 %.1f ms, "
               "p99 %.1f ms, max %.1f ms, %d errors\n",
               clients, per_client, n / wall, pct(all, n, 0.5) * 1e3, pct(all, n, 0.99) * 1e3,
               all[n - 1] * 1e3, errors);
        free(tid);
        free(cs);
        free(all);
    }
    clipsearch_server_stop(srv);
    return 0;
}
