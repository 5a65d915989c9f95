/* download.c — fetching a model from the Hugging Face hub with libcurl
 * (clipsearch_model_download in clipsearch/hub.h).
 *
 * Per file: a HEAD on $ENDPOINT/REPO/resolve/REV/FILE (following only
 * relative redirects, as huggingface_hub does, so the hub's own headers are
 * seen: X-Linked-Etag / X-Linked-Size for LFS files, ETag otherwise), then a
 * GET following redirects into FILE.part, resumed with a Range request from
 * whatever the .part holds, then the checksum, then rename into place. */
#include "download.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clipsearch/hub.h"
#include "error.h"
#include "hub.h"
#include "sha.h"

/* No model file is larger (the biggest CLIP checkpoints are a few GB); an
 * error page is small. */
#define CS_MAX_DOWNLOAD_BYTES ((int64_t)64 << 30)
#define CS_MAX_ERROR_BODY ((int64_t)1 << 20)

const cs_model_file cs_model_files[] = {
    {"config.json", 1},
    {"preprocessor_config.json", 0},
    {"vocab.json", 1},
    {"merges.txt", 1},
    {"model.safetensors", 1},
};
const int cs_n_model_files = (int)(sizeof cs_model_files / sizeof cs_model_files[0]);

clipsearch_download_params clipsearch_download_default_params(void)
{
    clipsearch_download_params p;
    memset(&p, 0, sizeof p);
    p.use_hf_cache = 1;
    p.connect_timeout = 10;
    p.stall_timeout = 30;
    p.max_attempts = 4;
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct remote_file {
    const cs_model_file *f;
    int present;           /* 0: optional and absent (404) */
    int64_t size;          /* -1 unknown */
    char checksum[80];     /* normalised ETag stating the content hash */
    int kind;              /* cs_hub_etag_kind(checksum) */
} remote_file;

typedef struct dl {
    const clipsearch_download_params *p;
    const char *repo, *endpoint, *revision;
    char dir[PATH_MAX];
    CURL *curl;
    struct curl_slist *headers;
    clipsearch_download_summary *sum;
    /* the transfer in progress */
    cs_hub_headers h;
    int fd;
    int64_t offset;       /* bytes in the .part when the request was sent */
    int64_t written;      /* bytes written by this request */
    int decided;          /* status checked and file positioned */
    int write_error;      /* errno of a failed write */
    int stopped;          /* the progress callback asked to stop */
    int too_long;         /* the body went past the size stated (or the cap) */
    int64_t discarded;    /* bytes of an error page read */
    int file_index;
    const remote_file *rf;
    double started;
} dl;

/* ---- curl callbacks ----------------------------------------------------------- */

static size_t on_header(char *line, size_t size, size_t n, void *user)
{
    dl *d = user;
    cs_hub_parse_header(&d->h, line, size * n);
    return size * n;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    dl *d = user;
    size_t len = size * n, at = 0;
    if (!d->decided) {
        /* Headers of the final response are complete at the first byte. */
        d->decided = 1;
        if (d->h.status == 206 && d->h.range_start == d->offset) {
            /* append: the descriptor is at the end already */
        } else if (d->h.status == 200) {
            /* The server ignored the Range: start over. */
            if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0) {
                d->write_error = errno;
                return 0;
            }
            d->offset = 0;
        } else {
            d->decided = 2; /* an error page or a mismatched range: discard */
        }
    }
    if (d->decided == 2) {
        /* An error page is read to the end, but not an endless one. */
        d->discarded += (int64_t)len;
        if (d->discarded > CS_MAX_ERROR_BODY) {
            d->too_long = 1;
            return 0;
        }
        return len;
    }
    /* More than the hub announced (or, with no size stated, more than any
     * model file): a broken or hostile server; stop before the disk fills. */
    if (d->offset + d->written + (int64_t)len >
        (d->rf && d->rf->size >= 0 ? d->rf->size : CS_MAX_DOWNLOAD_BYTES)) {
        d->too_long = 1;
        return 0;
    }
    while (at < len) {
        ssize_t w = write(d->fd, data + at, len - at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            d->write_error = errno;
            return 0;
        }
        at += (size_t)w;
    }
    d->written += (int64_t)len;
    return len;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    dl *d = user;
    clipsearch_download_progress pr;
    double t;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (!d->p->progress || !d->rf)
        return 0;
    t = now() - d->started;
    memset(&pr, 0, sizeof pr);
    pr.file = d->rf->f->name;
    pr.file_index = d->file_index;
    pr.n_files = cs_n_model_files;
    pr.done = d->offset + d->written;
    pr.total = d->rf->size > 0 ? d->rf->size : 0;
    pr.bytes_per_second = t > 0 ? (double)d->written / t : 0;
    if (d->p->progress(&pr, d->p->user)) {
        d->stopped = 1;
        return 1;
    }
    return 0;
}

/* ---- helpers --------------------------------------------------------------------- */

static clipsearch_status make_dirs(const char *path, clipsearch_error *err)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "path too long");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot create folder: %s", p,
                                    strerror(errno));
            *s = c;
            if (c == '\0')
                break;
        }
    }
    return CLIPSEARCH_OK;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void url_of(const dl *d, const char *file, char *buf, size_t size)
{
    size_t n = strlen(d->endpoint);
    while (n > 0 && d->endpoint[n - 1] == '/')
        n--;
    snprintf(buf, size, "%.*s/%s/resolve/%s/%s", (int)n, d->endpoint, d->repo, d->revision,
             file);
}

static clipsearch_status offline(const dl *d, CURLcode c, clipsearch_error *err)
{
    if (c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE)
        return cs_error_set(err, CLIPSEARCH_ERR_NETWORK,
                            "%s: its TLS certificate could not be verified (%s): nothing was "
                            "downloaded (a proxy intercepting TLS?)",
                            d->endpoint, curl_easy_strerror(c));
    /* libcurl refuses a header over its 100 KB limit as "out of memory". */
    if (c == CURLE_OUT_OF_MEMORY || c == CURLE_WEIRD_SERVER_REPLY || c == CURLE_RECV_ERROR)
        return cs_error_set(err, CLIPSEARCH_ERR_NETWORK,
                            "%s: the server's answer is malformed or oversized (%s: a header "
                            "over 100 KB?): download stopped",
                            d->endpoint, curl_easy_strerror(c));
    return cs_error_set(err, CLIPSEARCH_ERR_NETWORK,
                        "cannot reach %s (%s). To install the model by hand, get "
                        "config.json, model.safetensors, vocab.json and merges.txt from "
                        "%s/%s (on a machine with network) and put them in %s, or pass "
                        "--model DIR / set CLIPSEARCH_MODEL to a folder holding them",
                        d->endpoint, curl_easy_strerror(c), d->endpoint, d->repo, d->dir);
}

static void reset_common(dl *d)
{
    curl_easy_reset(d->curl);
    curl_easy_setopt(d->curl, CURLOPT_USERAGENT, "clipsearch/" "0.1");
    curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT, d->p->connect_timeout);
    curl_easy_setopt(d->curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(d->curl, CURLOPT_LOW_SPEED_TIME, d->p->stall_timeout);
    curl_easy_setopt(d->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(d->curl, CURLOPT_HEADERDATA, d);
    curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(d->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (d->headers)
        curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, d->headers);
}

/* HEAD a file; follows relative redirects only (renamed repositories), so
 * the hub's X-Linked-* headers are those of the hub, not of its CDN. */
static clipsearch_status head(dl *d, const cs_model_file *f, remote_file *rf,
                              clipsearch_error *err)
{
    char url[PATH_MAX + 512], origin[512];
    const char *slash;
    size_t olen;
    memset(rf, 0, sizeof *rf);
    rf->f = f;
    rf->size = -1;
    url_of(d, f->name, url, sizeof url);
    /* scheme://host[:port] of the endpoint, for relative Locations */
    slash = strstr(d->endpoint, "://");
    slash = slash ? strchr(slash + 3, '/') : NULL;
    olen = slash ? (size_t)(slash - d->endpoint) : strlen(d->endpoint);
    snprintf(origin, sizeof origin, "%.*s", (int)(olen < sizeof origin ? olen : 0), d->endpoint);
    for (int hop = 0;; hop++) {
        CURLcode c;
        reset_common(d);
        cs_hub_headers_reset(&d->h);
        curl_easy_setopt(d->curl, CURLOPT_URL, url);
        curl_easy_setopt(d->curl, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(d->curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(d->curl, CURLOPT_TIMEOUT, d->p->connect_timeout + d->p->stall_timeout);
        if ((c = curl_easy_perform(d->curl)) != CURLE_OK)
            return offline(d, c, err);
        if (d->h.status >= 300 && d->h.status < 400 && d->h.location[0] == '/' && hop < 5) {
            snprintf(url, sizeof url, "%s%s", origin, d->h.location);
            continue;
        }
        break;
    }
    if (d->h.status == 404 && !f->required)
        return CLIPSEARCH_OK;
    if (d->h.status == 401 || d->h.status == 403)
        return cs_error_set(err, CLIPSEARCH_ERR_NETWORK,
                            "%s: %s: access denied (HTTP %d%s%s): the repository is gated "
                            "or private; accept its terms on the hub and set HF_TOKEN",
                            d->repo, f->name, d->h.status, d->h.error_code[0] ? ", " : "",
                            d->h.error_code);
    if (d->h.status == 404)
        return cs_error_set(err, CLIPSEARCH_ERR_NETWORK, "%s: %s not found (HTTP 404%s%s) at %s",
                            d->repo, f->name, d->h.error_code[0] ? ", " : "",
                            d->h.error_code, url);
    if (d->h.status != 200 && !(d->h.status >= 300 && d->h.status < 400))
        return cs_error_set(err, CLIPSEARCH_ERR_NETWORK, "%s: %s: HTTP %d from %s", d->repo,
                            f->name, d->h.status, url);
    rf->present = 1;
    rf->size = d->h.linked_size >= 0 ? d->h.linked_size
               : d->h.status == 200  ? d->h.content_length
                                     : -1;
    snprintf(rf->checksum, sizeof rf->checksum, "%s",
             d->h.linked_etag[0] ? d->h.linked_etag : d->h.etag);
    rf->kind = cs_hub_etag_kind(rf->checksum);
    if (d->h.commit[0] && d->sum && !d->sum->revision[0])
        snprintf(d->sum->revision, sizeof d->sum->revision, "%s", d->h.commit);
    return CLIPSEARCH_OK;
}

/* 1: the file's content matches rf (size and checksum); 0: it does not
 * (*got gets the digest seen); -1: unverifiable (no checksum stated). */
static int matches(const char *path, const remote_file *rf, char *got, size_t got_size,
                   clipsearch_error *err, clipsearch_status *r)
{
    char s256[CS_SHA256_HEX_SIZE], s1[CS_SHA1_HEX_SIZE];
    struct stat st;
    *r = CLIPSEARCH_OK;
    if (stat(path, &st) != 0)
        return 0;
    if (rf->size >= 0 && st.st_size != rf->size) {
        snprintf(got, got_size, "%lld bytes instead of %lld", (long long)st.st_size,
                 (long long)rf->size);
        return 0;
    }
    if (rf->kind == 0)
        return -1;
    if ((*r = cs_sha_file(path, rf->kind == 2 ? s256 : NULL, rf->kind == 1 ? s1 : NULL, err)) !=
        CLIPSEARCH_OK)
        return 0;
    snprintf(got, got_size, "%s %s", rf->kind == 2 ? "sha256" : "git-sha1",
             rf->kind == 2 ? s256 : s1);
    return !strcasecmp(rf->kind == 2 ? s256 : s1, rf->checksum);
}

static clipsearch_status verify_and_place(dl *d, const remote_file *rf, const char *part,
                                          const char *final, clipsearch_error *err)
{
    char got[160] = "";
    clipsearch_status r;
    clipsearch_download_progress pr;
    int m;
    if (d->p->progress) {
        memset(&pr, 0, sizeof pr);
        pr.file = rf->f->name;
        pr.file_index = d->file_index;
        pr.n_files = cs_n_model_files;
        pr.done = pr.total = rf->size > 0 ? rf->size : 0;
        pr.verifying = 1;
        d->p->progress(&pr, d->p->user);
    }
    m = matches(part, rf, got, sizeof got, err, &r);
    if (r != CLIPSEARCH_OK)
        return r;
    if (m == 0) {
        unlink(part);
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s: %s: checksum mismatch: the hub states %s%s, the download has "
                            "%s; the file was deleted, run the download again",
                            d->repo, rf->f->name, rf->kind == 2 ? "sha256 " : rf->kind == 1 ? "git-sha1 " : "",
                            rf->kind ? rf->checksum : "its size", got);
    }
    if (m < 0) {
        if (!d->p->allow_unverified) {
            return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                                "%s: %s: the server states no checksum (ETag \"%s\"); "
                                "refusing an unverified file (the .part is kept)",
                                d->repo, rf->f->name, rf->checksum);
        }
        if (d->sum)
            d->sum->files_unverified++;
    }
    {
        int fd = open(part, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    if (rename(part, final) != 0)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot rename into place: %s", final,
                            strerror(errno));
    fsync_dir(d->dir);
    return CLIPSEARCH_OK;
}

static int retryable(CURLcode c)
{
    return c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING ||
           c == CURLE_OPERATION_TIMEDOUT || c == CURLE_SEND_ERROR ||
           c == CURLE_COULDNT_CONNECT || c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM;
}

static clipsearch_status fetch(dl *d, const remote_file *rf, clipsearch_error *err)
{
    char url[PATH_MAX + 512], part[PATH_MAX + 300], final[PATH_MAX + 300], range[64];
    clipsearch_status r = CLIPSEARCH_OK;
    struct stat st;
    int resumed = 0;
    snprintf(final, sizeof final, "%s/%s", d->dir, rf->f->name);
    snprintf(part, sizeof part, "%s/%s.part", d->dir, rf->f->name);
    url_of(d, rf->f->name, url, sizeof url);

    /* Already in place and intact? */
    if (stat(final, &st) == 0) {
        char got[160];
        int m = matches(final, rf, got, sizeof got, err, &r);
        if (r != CLIPSEARCH_OK)
            return r;
        if (m > 0 || (m < 0 && d->p->allow_unverified)) {
            if (d->sum)
                d->sum->files_present++;
            return CLIPSEARCH_OK;
        }
    }
    d->fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (d->fd < 0)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot create: %s", part,
                            strerror(errno));
    for (int attempt = 1;; attempt++) {
        CURLcode c;
        long code = 0;
        if (fstat(d->fd, &st) != 0) {
            r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: %s", part, strerror(errno));
            break;
        }
        d->offset = st.st_size;
        if (rf->size >= 0 && d->offset > rf->size) {
            if (ftruncate(d->fd, 0) != 0) {
                r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: %s", part, strerror(errno));
                break;
            }
            d->offset = 0;
        }
        if (rf->size >= 0 && d->offset == rf->size)
            break; /* whole already: verify */
        if (d->offset > 0)
            resumed = 1;
        d->written = 0;
        d->too_long = 0;
        d->discarded = 0;
        d->decided = 0;
        d->write_error = 0;
        d->started = now();
        reset_common(d);
        cs_hub_headers_reset(&d->h);
        curl_easy_setopt(d->curl, CURLOPT_URL, url);
        curl_easy_setopt(d->curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(d->curl, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, d);
        curl_easy_setopt(d->curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(d->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(d->curl, CURLOPT_XFERINFODATA, d);
        if (d->offset > 0) {
            snprintf(range, sizeof range, "%lld-", (long long)d->offset);
            curl_easy_setopt(d->curl, CURLOPT_RANGE, range);
        }
        c = curl_easy_perform(d->curl);
        curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
        if (d->sum)
            d->sum->bytes += d->written;
        if (d->stopped) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INTERRUPTED,
                             "%s: download interrupted; run it again to resume", rf->f->name);
            break;
        }
        if (d->write_error) {
            r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: write error: %s", part,
                             strerror(d->write_error));
            break;
        }
        if (d->too_long) {
            /* The bytes up to the stated size may be fine, the rest is not
             * trusted: start over rather than resume from a bad tail. */
            if (ftruncate(d->fd, 0) != 0) {
                r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: %s", part, strerror(errno));
                break;
            }
            r = cs_error_set(err, CLIPSEARCH_ERR_NETWORK,
                             "%s: %s: the server sent more than the %lld bytes it announced: "
                             "download stopped",
                             d->repo, rf->f->name,
                             (long long)(rf->size >= 0 ? rf->size : CS_MAX_DOWNLOAD_BYTES));
            break;
        }
        if (c == CURLE_OK && code == 416) {
            /* Our .part does not fit what the server has: start over. */
            if (ftruncate(d->fd, 0) != 0) {
                r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: %s", part, strerror(errno));
                break;
            }
            if (attempt < d->p->max_attempts)
                continue;
        }
        if (c == CURLE_OK && (code == 200 || code == 206) && d->decided == 1)
            break;
        if (c == CURLE_OK && code == 206 && d->decided == 2) {
            r = cs_error_set(err, CLIPSEARCH_ERR_NETWORK,
                             "%s: the server answered a different byte range than asked",
                             rf->f->name);
            break;
        }
        if (c == CURLE_OK && (code == 200 || code == 206) && !d->decided && rf->size == 0)
            break; /* an empty file */
        if (c == CURLE_OK && code >= 400) {
            r = cs_error_set(err, CLIPSEARCH_ERR_NETWORK, "%s: %s: HTTP %ld from %s", d->repo,
                             rf->f->name, code, url);
            break;
        }
        if (attempt >= d->p->max_attempts || !(retryable(c) || c == CURLE_OK)) {
            r = cs_error_set(err, CLIPSEARCH_ERR_NETWORK,
                             "%s: %s: download failed after %d attempt%s: %s; the partial file "
                             "%s is kept and a new run resumes it",
                             d->repo, rf->f->name, attempt, attempt > 1 ? "s" : "",
                             c != CURLE_OK ? curl_easy_strerror(c) : "incomplete response",
                             part);
            break;
        }
        {
            struct timespec ts = {0, 200000000L * attempt};
            nanosleep(&ts, NULL);
        }
    }
    close(d->fd);
    d->fd = -1;
    if (r != CLIPSEARCH_OK)
        return r;
    if ((r = verify_and_place(d, rf, part, final, err)) != CLIPSEARCH_OK)
        return r;
    if (d->sum) {
        d->sum->files_downloaded++;
        d->sum->files_resumed += resumed;
    }
    return CLIPSEARCH_OK;
}

clipsearch_status clipsearch_model_download(const char *repo,
                                            const clipsearch_download_params *params,
                                            char *out_dir, size_t size,
                                            clipsearch_download_summary *summary,
                                            clipsearch_error *err)
{
    clipsearch_download_params dp = clipsearch_download_default_params();
    clipsearch_download_summary local;
    remote_file files[8];
    char folder[256];
    clipsearch_status r;
    dl d;
    const char *v;
    memset(&d, 0, sizeof d);
    d.fd = -1;
    if (!summary)
        summary = &local;
    memset(summary, 0, sizeof *summary);
    if (!params)
        params = &dp;
    if (!repo || !*repo)
        repo = CLIPSEARCH_DEFAULT_MODEL_REPO;
    if ((r = cs_hub_check_repo(repo, folder, sizeof folder, err)) != CLIPSEARCH_OK)
        return r;
    if (!strchr(repo, '/'))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "'%s': give the repository as ORG/NAME", repo);
    d.p = params;
    d.repo = repo;
    d.sum = summary;
    d.revision = params->revision && *params->revision ? params->revision : "main";
    d.endpoint = params->endpoint && *params->endpoint ? params->endpoint
                 : (v = getenv("HF_ENDPOINT")) && *v ? v
                                                     : CLIPSEARCH_DEFAULT_HF_ENDPOINT;
    if (params->dest_dir && *params->dest_dir) {
        snprintf(d.dir, sizeof d.dir, "%s", params->dest_dir);
    } else {
        char base[PATH_MAX];
        if ((r = clipsearch_models_dir(base, sizeof base, err)) != CLIPSEARCH_OK)
            return r;
        if (snprintf(d.dir, sizeof d.dir, "%s/%s", base, folder) >= (int)sizeof d.dir)
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "model path too long");
    }
    if (params->use_hf_cache && !(params->dest_dir && *params->dest_dir)) {
        char found[PATH_MAX];
        if (cs_hub_cache_snapshot(folder, 1, found, sizeof found)) {
            summary->from_hf_cache = 1;
            if (out_dir && snprintf(out_dir, size, "%s", found) >= (int)size)
                return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "path too long");
            return CLIPSEARCH_OK;
        }
    }
    if (out_dir && snprintf(out_dir, size, "%s", d.dir) >= (int)size)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "path too long");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(d.curl = curl_easy_init()))
        return cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "libcurl failed to initialise");
    if ((v = getenv("HF_TOKEN")) && *v) {
        char auth[512];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", v);
        d.headers = curl_slist_append(NULL, auth);
    }
    /* Every HEAD first: a missing file fails before gigabytes are fetched. */
    for (int i = 0; i < cs_n_model_files; i++)
        if ((r = head(&d, &cs_model_files[i], &files[i], err)) != CLIPSEARCH_OK)
            goto out;
    if ((r = make_dirs(d.dir, err)) != CLIPSEARCH_OK)
        goto out;
    for (int i = 0; i < cs_n_model_files; i++) {
        if (!files[i].present)
            continue;
        d.file_index = i;
        d.rf = &files[i];
        if ((r = fetch(&d, &files[i], err)) != CLIPSEARCH_OK)
            goto out;
    }
out:
    curl_slist_free_all(d.headers);
    curl_easy_cleanup(d.curl);
    return r;
}
