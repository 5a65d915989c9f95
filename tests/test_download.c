/* test_download.c — the model downloader and model folders (hub.h):
 * SHA-256/SHA-1 against FIPS 180 vectors, header parsing, repository names,
 * then downloads from tests/hub_server.py on 127.0.0.1 serving the tiny
 * fixture model: fresh, already present, cut mid-file (resumed in the
 * same call), resumed from a previous run's .part, a damaged .part, wrong
 * SHA-256, wrong git SHA-1, a server ignoring Range, 404, unreachable,
 * interrupted, and the Hugging Face cache used in place; hostile servers:
 * the token only to the hub's host, an endless body, a body longer than
 * announced, a huge header. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clipsearch.h"
#include "download.h"
#include "hub.h"
#include "sha.h"
#include "testutil.h"

static char g_endpoint[128];
static char g_log[4096];
static char g_files[4096];

static void sha256_str(const void *data, size_t n, char out[CS_SHA256_HEX_SIZE])
{
    cs_sha256 s;
    cs_sha256_init(&s);
    cs_sha256_update(&s, data, n);
    cs_sha256_hex(&s, out);
}

static void test_sha(void)
{
    char h[CS_SHA256_HEX_SIZE], h1[CS_SHA1_HEX_SIZE], g[CS_SHA1_HEX_SIZE];
    char path[4200];
    cs_sha256 s;
    cs_sha1 s1;
    char *million = malloc(1000000);
    sha256_str("", 0, h);
    CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "%s", h);
    sha256_str("abc", 3, h);
    CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "%s", h);
    sha256_str("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
    CHECK(!strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "%s", h);
    memset(million, 'a', 1000000);
    /* in odd pieces, to exercise the buffering */
    cs_sha256_init(&s);
    for (size_t at = 0; at < 1000000;) {
        size_t n = at % 7 == 0 ? 1 : 97 + at % 200;
        if (n > 1000000 - at)
            n = 1000000 - at;
        cs_sha256_update(&s, million + at, n);
        at += n;
    }
    cs_sha256_hex(&s, h);
    CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "%s", h);
    cs_sha1_init(&s1);
    cs_sha1_update(&s1, "abc", 3);
    cs_sha1_hex(&s1, h1);
    CHECK(!strcmp(h1, "a9993e364706816aba3e25717850c26c9cd0d89d"), "%s", h1);
    cs_sha1_init(&s1);
    cs_sha1_update(&s1, million, 1000000);
    cs_sha1_hex(&s1, h1);
    CHECK(!strcmp(h1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"), "%s", h1);
    /* git blob id: `printf hello | git hash-object --stdin` */
    snprintf(path, sizeof path, "%s/hello", tu_tmpdir());
    tu_write_file(path, "hello", 5);
    CHECK(cs_sha_file(path, h, g, NULL) == CLIPSEARCH_OK, "sha file");
    CHECK(!strcmp(g, "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"), "%s", g);
    CHECK(!strcmp(h, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"), "%s", h);
    free(million);
}

static void feed(cs_hub_headers *h, const char *line)
{
    cs_hub_parse_header(h, line, strlen(line));
}

static void test_headers(void)
{
    cs_hub_headers h;
    cs_hub_headers_reset(&h);
    feed(&h, "HTTP/1.1 302 Found\r\n");
    feed(&h, "x-linked-etag: \"3f4a5b59f1a670689f7617c843d466ba5d01e9b9cd890e48ebd6ff340b9c3729\"\r\n");
    feed(&h, "X-Linked-Size: 14310580\r\n");
    feed(&h, "ETag: W/\"abc\"\r\n");
    feed(&h, "Location: /api/x\r\n");
    feed(&h, "X-Repo-Commit:   deadbeef  \r\n");
    CHECK(h.status == 302, "%d", h.status);
    CHECK(cs_hub_etag_kind(h.linked_etag) == 2, "%s", h.linked_etag);
    CHECK(h.linked_size == 14310580, "%lld", (long long)h.linked_size);
    CHECK(!strcmp(h.etag, "abc") && cs_hub_etag_kind(h.etag) == 0, "%s", h.etag);
    CHECK(!strcmp(h.location, "/api/x"), "%s", h.location);
    CHECK(!strcmp(h.commit, "deadbeef"), "'%s'", h.commit);
    /* A new status line forgets the previous response. */
    feed(&h, "HTTP/2 206\r\n");
    feed(&h, "content-range: bytes 100-199/200\r\n");
    feed(&h, "Content-Length: 100");
    CHECK(h.status == 206 && !h.linked_etag[0] && h.linked_size == -1, "reset");
    CHECK(h.range_start == 100 && h.range_total == 200, "%lld %lld", (long long)h.range_start,
          (long long)h.range_total);
    CHECK(h.content_length == 100, "%lld", (long long)h.content_length);
    feed(&h, "Content-Length: 12x");
    CHECK(h.content_length == -1, "bad length");
    feed(&h, "Content-Length: 99999999999999999999999");
    CHECK(h.content_length == -1, "overflow");
    feed(&h, "content-range: bytes */200");
    feed(&h, "no colon here");
    feed(&h, "HTTP/1.1 abc");
    CHECK(h.status == 0, "bad status");
    CHECK(cs_hub_etag_kind("3563644617bbf203b4ad7e0025e977b63e88e1ae") == 1, "sha1 kind");
}

static void test_repo_names(void)
{
    char f[256];
    CHECK(cs_hub_check_repo("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", f, sizeof f, NULL) ==
                  CLIPSEARCH_OK &&
              !strcmp(f, "laion--CLIP-ViT-B-32-laion2B-s34B-b79K"),
          "%s", f);
    CHECK(cs_hub_check_repo("../etc", f, sizeof f, NULL) != CLIPSEARCH_OK, "..");
    CHECK(cs_hub_check_repo("a/../b", f, sizeof f, NULL) != CLIPSEARCH_OK, "a/../b");
    CHECK(cs_hub_check_repo("a/b/c", f, sizeof f, NULL) != CLIPSEARCH_OK, "a/b/c");
    CHECK(cs_hub_check_repo("/abs", f, sizeof f, NULL) != CLIPSEARCH_OK, "/abs");
    CHECK(cs_hub_check_repo("a/", f, sizeof f, NULL) != CLIPSEARCH_OK, "a/");
    CHECK(cs_hub_check_repo("a b/c", f, sizeof f, NULL) != CLIPSEARCH_OK, "space");
    CHECK(cs_hub_check_repo("", f, sizeof f, NULL) != CLIPSEARCH_OK, "empty");
}

/* ---- the server --------------------------------------------------------------- */

static pid_t start_server(void)
{
    char port_file[4200], port[32] = "";
    pid_t pid;
    snprintf(g_files, sizeof g_files, "%s/files", tu_tmpdir());
    mkdir(g_files, 0755);
    {
        static const char *const src[] = {"golden/clip-tiny-b32/config.json",
                                          "golden/clip-tiny-b32/model.safetensors",
                                          "tokenizer/vocab.json", "tokenizer/merges.txt"};
        for (int i = 0; i < 4; i++) {
            size_t n = 0;
            char *d = tu_read_file(tu_fixture(src[i]), &n), dst[4400];
            snprintf(dst, sizeof dst, "%s/%s", g_files, strrchr(src[i], '/') + 1);
            if (!d || tu_write_file(dst, d, n) != 0) {
                fprintf(stderr, "cannot copy %s\n", src[i]);
                exit(1);
            }
            free(d);
        }
    }
    snprintf(port_file, sizeof port_file, "%s/port", tu_tmpdir());
    snprintf(g_log, sizeof g_log, "%s/server.log", tu_tmpdir());
    pid = fork();
    if (pid == 0) {
        execlp("python3", "python3", CLIPSEARCH_SOURCE_DIR "/tests/hub_server.py", "--files",
               g_files, "--port-file", port_file, "--log", g_log, "--lifetime", "300",
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && pid > 0; i++) { /* up to 10 s */
        FILE *f = fopen(port_file, "r");
        int status;
        if (f) {
            if (!fgets(port, sizeof port, f))
                port[0] = '\0';
            fclose(f);
            break;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            pid = -1;
            break;
        }
        usleep(50000);
    }
    if (pid <= 0 || !port[0]) {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
        }
        return -1;
    }
    snprintf(g_endpoint, sizeof g_endpoint, "http://127.0.0.1:%d", atoi(port));
    return pid;
}

static int exists(const char *dir, const char *name)
{
    char p[4400];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static int same_as_fixture(const char *dir, const char *name)
{
    char p[4400], q[4400];
    size_t a = 0, b = 0;
    char *x, *y;
    int same;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    snprintf(q, sizeof q, "%s/%s", g_files, name);
    x = tu_read_file(p, &a);
    y = tu_read_file(q, &b);
    same = x && y && a == b && !memcmp(x, y, a);
    free(x);
    free(y);
    return same;
}

static int log_has(const char *needle)
{
    size_t n = 0;
    char *s = tu_read_file(g_log, &n);
    int found = s && strstr(s, needle);
    free(s);
    return found;
}

static void clear_log(void) { tu_write_file(g_log, "", 0); }

static int stop_after(const clipsearch_download_progress *p, void *user)
{
    (void)user;
    return !strcmp(p->file, "model.safetensors") && p->done > 1000000;
}

static clipsearch_status get(const char *repo, const char *dir, clipsearch_download_summary *s,
                             clipsearch_error *err)
{
    clipsearch_download_params p = clipsearch_download_default_params();
    char out[4096];
    p.endpoint = g_endpoint;
    p.dest_dir = dir;
    p.stall_timeout = 10;
    return clipsearch_model_download(repo, &p, out, sizeof out, s, err);
}

static void test_downloads(void)
{
    clipsearch_download_summary s;
    clipsearch_error err = {0};
    clipsearch_status r;
    char dir[4200], part[4400];
    static const char *const names[] = {"config.json", "vocab.json", "merges.txt",
                                        "model.safetensors"};

    /* fresh */
    snprintf(dir, sizeof dir, "%s/fresh", tu_tmpdir());
    r = get("test/tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_OK, "fresh: %s", err.message);
    for (int i = 0; i < 4; i++)
        CHECK(same_as_fixture(dir, names[i]), "fresh: %s differs", names[i]);
    CHECK(!exists(dir, "preprocessor_config.json"), "optional file absent");
    CHECK(s.files_downloaded == 4 && s.files_present == 0 && s.files_resumed == 0,
          "fresh summary %d %d %d", s.files_downloaded, s.files_present, s.files_resumed);
    CHECK(!strcmp(s.revision, "0123456789abcdef0123456789abcdef01234567"), "%s", s.revision);
    CHECK(!exists(dir, "model.safetensors.part"), "no .part left");
    {
        clipsearch_model *m = NULL;
        CHECK(clipsearch_model_load(dir, NULL, &m, &err) == CLIPSEARCH_OK, "loads: %s",
              err.message);
        clipsearch_model_free(m);
    }
    /* again: verified in place, nothing fetched */
    clear_log();
    r = get("test/tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_OK && s.files_present == 4 && s.files_downloaded == 0,
          "again: %d %d %s", s.files_present, s.files_downloaded, err.message);
    CHECK(!log_has("GET "), "again: no GET");

    /* cut mid-file: resumed within the call with a Range request */
    snprintf(dir, sizeof dir, "%s/cut", tu_tmpdir());
    clear_log();
    r = get("test/cut-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_OK, "cut: %s", err.message);
    CHECK(same_as_fixture(dir, "model.safetensors"), "cut: weights differ");
    CHECK(s.files_resumed >= 1, "cut: resumed %d", s.files_resumed);
    CHECK(log_has("GET /cdn/cut-tiny/model.safetensors bytes=7155290-"),
          "cut: Range from the cut (half of 14310580)");

    /* a previous run's .part is continued */
    snprintf(dir, sizeof dir, "%s/partial", tu_tmpdir());
    mkdir(dir, 0755);
    {
        size_t n = 0;
        char src[4400];
        char *d;
        snprintf(src, sizeof src, "%s/model.safetensors", g_files);
        d = tu_read_file(src, &n);
        snprintf(part, sizeof part, "%s/model.safetensors.part", dir);
        CHECK(d && tu_write_file(part, d, 1000000) == 0, "write part");
        free(d);
    }
    clear_log();
    r = get("test/tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_OK && s.files_resumed == 1, "partial: %d %s", s.files_resumed,
          err.message);
    CHECK(log_has("bytes=1000000-"), "partial: Range from 1000000");
    CHECK(same_as_fixture(dir, "model.safetensors") && !exists(dir, "model.safetensors.part"),
          "partial: result");

    /* a damaged .part: the checksum catches it, nothing is put in place */
    snprintf(dir, sizeof dir, "%s/damaged", tu_tmpdir());
    mkdir(dir, 0755);
    snprintf(part, sizeof part, "%s/model.safetensors.part", dir);
    {
        char *junk = calloc(1, 4096);
        tu_write_file(part, junk, 4096);
        free(junk);
    }
    r = get("test/tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_ERR_FORMAT && strstr(err.message, "checksum mismatch"), "damaged: %d %s",
          r, err.message);
    CHECK(!exists(dir, "model.safetensors") && !exists(dir, "model.safetensors.part"),
          "damaged: nothing left");
    r = get("test/tiny", dir, &s, &err); /* and the next run recovers */
    CHECK(r == CLIPSEARCH_OK && same_as_fixture(dir, "model.safetensors"), "damaged rerun: %s",
          err.message);

    /* the hub states another sha256: rejected, nothing in place */
    snprintf(dir, sizeof dir, "%s/badsha", tu_tmpdir());
    memset(&err, 0, sizeof err);
    r = get("test/badsha-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_ERR_FORMAT && strstr(err.message, "sha256"), "badsha: %d %s", r,
          err.message);
    CHECK(!exists(dir, "model.safetensors") && !exists(dir, "model.safetensors.part"),
          "badsha: nothing left");

    /* wrong git blob sha1 for config.json */
    snprintf(dir, sizeof dir, "%s/badgit", tu_tmpdir());
    r = get("test/badgit-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_ERR_FORMAT && strstr(err.message, "config.json"), "badgit: %d %s", r,
          err.message);
    CHECK(!exists(dir, "config.json") && !exists(dir, "config.json.part"), "badgit: nothing");

    /* a server that ignores Range: the .part is restarted, still correct */
    snprintf(dir, sizeof dir, "%s/norange", tu_tmpdir());
    mkdir(dir, 0755);
    snprintf(part, sizeof part, "%s/model.safetensors.part", dir);
    tu_write_file(part, "garbage", 7);
    r = get("test/norange-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_OK && same_as_fixture(dir, "model.safetensors"), "norange: %s",
          err.message);

    /* 404 */
    snprintf(dir, sizeof dir, "%s/missing", tu_tmpdir());
    memset(&err, 0, sizeof err);
    r = get("test/missing-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_ERR_NETWORK && strstr(err.message, "404"), "404: %d %s", r,
          err.message);
    CHECK(!exists(dir, ""), "404: no folder created");

    /* interrupted by the progress callback: .part kept, then resumed */
    snprintf(dir, sizeof dir, "%s/stopped", tu_tmpdir());
    {
        clipsearch_download_params p = clipsearch_download_default_params();
        char out[4096];
        p.endpoint = g_endpoint;
        p.dest_dir = dir;
        p.progress = stop_after;
        r = clipsearch_model_download("test/tiny", &p, out, sizeof out, &s, &err);
        CHECK(r == CLIPSEARCH_ERR_INTERRUPTED, "stopped: %d %s", r, err.message);
        CHECK(exists(dir, "model.safetensors.part") && !exists(dir, "model.safetensors"),
              "stopped: .part kept");
        r = get("test/tiny", dir, &s, &err);
        CHECK(r == CLIPSEARCH_OK && s.files_resumed == 1 &&
                  same_as_fixture(dir, "model.safetensors"),
              "stopped then resumed: %s", err.message);
    }

    /* nothing listening: fails fast and says how to install by hand */
    {
        clipsearch_download_params p = clipsearch_download_default_params();
        struct timespec a, b;
        char out[4096];
        snprintf(dir, sizeof dir, "%s/offline", tu_tmpdir());
        p.endpoint = "http://127.0.0.1:9"; /* discard port: nothing there */
        p.dest_dir = dir;
        clock_gettime(CLOCK_MONOTONIC, &a);
        r = clipsearch_model_download("test/tiny", &p, out, sizeof out, &s, &err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        CHECK(r == CLIPSEARCH_ERR_NETWORK && strstr(err.message, "by hand") &&
                  strstr(err.message, "model.safetensors"),
              "offline: %d %s", r, err.message);
        CHECK(b.tv_sec - a.tv_sec < 5, "offline: fast (%ld s)", (long)(b.tv_sec - a.tv_sec));
    }
}

/* Hostile or broken servers (issue 14): the token goes to the hub's host
 * only, never into a message; an endless body, a body longer than
 * announced and a huge header are cut off with a clear error, and nothing
 * partial is left in place. */
static void test_hardening(void)
{
    static const char token[] = "hf_SECRETtoken1234567";
    clipsearch_download_summary s;
    clipsearch_error err = {0};
    clipsearch_status r;
    char dir[4200];
    size_t n = 0;
    char *log, *line, *save = NULL;
    int hub_auth = 0, cdn = 0, cdn_auth = 0, cdn_other_host = 0;

    setenv("HF_TOKEN", token, 1);
    snprintf(dir, sizeof dir, "%s/otherhost", tu_tmpdir());
    clear_log();
    r = get("test/otherhost-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_OK, "otherhost: %s", err.message);
    CHECK(same_as_fixture(dir, "model.safetensors"), "otherhost: weights differ");
    log = tu_read_file(g_log, &n);
    for (line = log ? strtok_r(log, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "/resolve/") && strstr(line, "Bearer_hf_SECRETtoken1234567"))
            hub_auth++;
        if (strstr(line, "/cdn/otherhost-tiny/")) {
            cdn++;
            cdn_other_host += strstr(line, " localhost:") != NULL;
            cdn_auth += strstr(line, "SECRET") != NULL;
        }
    }
    free(log);
    CHECK(hub_auth >= 4, "the token went to the hub %d times", hub_auth);
    CHECK(cdn >= 1 && cdn_other_host == cdn, "the redirect went to the other host (%d of %d)",
          cdn_other_host, cdn);
    CHECK(cdn_auth == 0, "the token was sent to the redirect's other host %d times", cdn_auth);
    snprintf(dir, sizeof dir, "%s/missing-token", tu_tmpdir());
    r = get("test/missing-tiny", dir, &s, &err);
    CHECK(r != CLIPSEARCH_OK && !strstr(err.message, "SECRET"),
          "a failed download's message shows the token: %s", err.message);
    unsetenv("HF_TOKEN");

    snprintf(dir, sizeof dir, "%s/endless", tu_tmpdir());
    r = get("test/endless-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_ERR_NETWORK && strstr(err.message, "more than the 14310580 bytes"),
          "endless body: %d %s", r, err.message);
    CHECK(!exists(dir, "model.safetensors"), "endless body: a file in place");
    snprintf(dir, sizeof dir, "%s/longer", tu_tmpdir());
    r = get("test/longer-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_ERR_NETWORK && strstr(err.message, "more than the 14310580 bytes"),
          "longer than announced: %d %s", r, err.message);
    CHECK(!exists(dir, "model.safetensors"), "longer than announced: a file in place");
    snprintf(dir, sizeof dir, "%s/hugeheader", tu_tmpdir());
    r = get("test/hugeheader-tiny", dir, &s, &err);
    CHECK(r == CLIPSEARCH_ERR_NETWORK && strstr(err.message, "malformed or oversized"),
          "huge header: %d %s", r, err.message);
    CHECK(!exists(dir, "config.json") && !exists(dir, "model.safetensors"),
          "huge header: a file in place");
    printf("huge header: %s\n", err.message);
}

/* SIGKILL during downloads, at random moments: a file in place is always
 * whole, and the next run completes (resuming a .part when there is one). */
static void test_kill_download(void)
{
    char dir[4200];
    int resumed = 0, partial_seen = 0;
    unsigned seed = (unsigned)time(NULL);
    printf("download kills: seed %u\n", seed);
    for (int k = 0; k < 8; k++) {
        clipsearch_download_summary s;
        clipsearch_error err = {0};
        pid_t pid;
        int status;
        static const char *const names[] = {"config.json", "vocab.json", "merges.txt",
                                            "model.safetensors"};
        snprintf(dir, sizeof dir, "%s/killed%d", tu_tmpdir(), k);
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            clipsearch_download_summary cs;
            /* A slow server, so that kills land in the middle of a file. */
            _exit(get("test/slow-tiny", dir, &cs, NULL) == CLIPSEARCH_OK ? 0 : 1);
        }
        seed = seed * 1103515245u + 12345u;
        usleep((useconds_t)(1000 + (seed >> 8) % 700000)); /* the file takes ~0.6 s */
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        for (int i = 0; i < 4; i++)
            CHECK(!exists(dir, names[i]) || same_as_fixture(dir, names[i]),
                  "kill %d: %s in place is partial", k, names[i]);
        partial_seen += exists(dir, "model.safetensors.part");
        CHECK(get("test/slow-tiny", dir, &s, &err) == CLIPSEARCH_OK, "after kill %d: %s", k,
              err.message);
        resumed += s.files_resumed > 0;
        for (int i = 0; i < 4; i++)
            CHECK(same_as_fixture(dir, names[i]), "after kill %d: %s differs", k, names[i]);
        CHECK(!exists(dir, "model.safetensors.part"), "after kill %d: a .part left", k);
    }
    printf("download kills: 8, %d left a .part, %d next runs resumed one\n", partial_seen,
           resumed);
}

/* TLS verification stays on: an HTTPS hub with a self-signed certificate is
 * refused (needs the openssl program to make the certificate). */
static void test_tls(void)
{
    char pem[1024], port_file[4200], cmd[9000], dir[4200], endpoint[128], port[32] = "";
    clipsearch_download_params p = clipsearch_download_default_params();
    clipsearch_download_summary s;
    clipsearch_error err = {0};
    clipsearch_status r;
    pid_t pid;
    char out[4096];
    snprintf(pem, sizeof pem, "%s/self-signed.pem", tu_tmpdir());
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 "
             "-keyout '%s' -out '%s.crt' >/dev/null 2>&1 && cat '%s.crt' >> '%s'",
             pem, pem, pem, pem);
    if (system(cmd) != 0) {
        printf("TLS check skipped: the openssl program could not make a certificate\n");
        return;
    }
    snprintf(port_file, sizeof port_file, "%s/tls-port", tu_tmpdir());
    pid = fork();
    if (pid == 0) {
        execlp("python3", "python3", CLIPSEARCH_SOURCE_DIR "/tests/hub_server.py", "--files",
               g_files, "--port-file", port_file, "--lifetime", "60", "--tls", pem,
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && pid > 0 && !port[0]; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (!fgets(port, sizeof port, f))
                port[0] = '\0';
            fclose(f);
        } else {
            usleep(50000);
        }
    }
    CHECK(port[0], "the TLS hub server did not start");
    snprintf(endpoint, sizeof endpoint, "https://127.0.0.1:%d", atoi(port));
    snprintf(dir, sizeof dir, "%s/tls", tu_tmpdir());
    p.endpoint = endpoint;
    p.dest_dir = dir;
    p.max_attempts = 1;
    r = clipsearch_model_download("test/tiny", &p, out, sizeof out, &s, &err);
    CHECK(r == CLIPSEARCH_ERR_NETWORK && strstr(err.message, "TLS certificate could not be"),
          "a self-signed hub was accepted or the error does not say why: %d %s", r,
          err.message);
    CHECK(!exists(dir, "config.json"), "TLS: a file in place");
    printf("self-signed hub: %s\n", err.message);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* The hub cache is used in place; models_list / resolve see both places. */
static void test_cache(void)
{
    char home[1024], snap[2048], p[4800], found[4096];
    clipsearch_download_summary s;
    clipsearch_download_params dp = clipsearch_download_default_params();
    clipsearch_error err = {0};
    static const char *const names[] = {"config.json", "vocab.json", "merges.txt",
                                        "model.safetensors"};
    snprintf(home, sizeof home, "%s/home", tu_tmpdir());
    setenv("HOME", home, 1);
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HF_HUB_CACHE");
    unsetenv("HF_HOME");
    snprintf(snap, sizeof snap,
             "%s/.cache/huggingface/hub/models--org--cached/snapshots/abc123", home);
    snprintf(p, sizeof p, "mkdir -p '%s' '%s/.cache/huggingface/hub/models--org--cached/refs'",
             snap, home);
    CHECK(system(p) == 0, "mkdir");
    for (int i = 0; i < 4; i++) {
        char src[4400];
        snprintf(src, sizeof src, "%.4000s/%s", g_files, names[i]);
        snprintf(p, sizeof p, "%s/%s", snap, names[i]);
        CHECK(symlink(src, p) == 0, "symlink %s", strerror(errno));
    }
    snprintf(p, sizeof p, "%s/.cache/huggingface/hub/models--org--cached/refs/main", home);
    tu_write_file(p, "abc123\n", 7);
    dp.endpoint = "http://127.0.0.1:9"; /* must not be contacted */
    CHECK(clipsearch_model_download("org/cached", &dp, found, sizeof found, &s, &err) ==
                  CLIPSEARCH_OK &&
              s.from_hf_cache && !strcmp(found, snap),
          "hf cache: %s / %s", err.message, found);
    CHECK(clipsearch_model_resolve("org/cached", found, sizeof found, &err) == CLIPSEARCH_OK &&
              !strcmp(found, snap),
          "resolve: %s", err.message);
    CHECK(clipsearch_model_resolve("org--cached", found, sizeof found, &err) == CLIPSEARCH_OK,
          "resolve folder spelling");
    CHECK(clipsearch_model_resolve("org/absent", found, sizeof found, &err) ==
                  CLIPSEARCH_ERR_NOT_FOUND &&
              strstr(err.message, "clipsearch model download org/absent"),
          "absent: %s", err.message);
    {
        char fp[CLIPSEARCH_FINGERPRINT_SIZE];
        CHECK(clipsearch_model_fingerprint(snap, fp, NULL) == CLIPSEARCH_OK, "fp");
        CHECK(clipsearch_model_find_by_fingerprint(fp, found, sizeof found, &err) ==
                      CLIPSEARCH_OK &&
                  !strcmp(found, snap),
              "by fingerprint: %s", err.message);
    }
    /* default destination: ~/.cache/clipsearch/models/ORG--NAME */
    dp = clipsearch_download_default_params();
    dp.endpoint = g_endpoint;
    CHECK(clipsearch_model_download("org/fresh", &dp, found, sizeof found, &s, &err) ==
              CLIPSEARCH_OK,
          "default dest: %s", err.message);
    snprintf(p, sizeof p, "%s/.cache/clipsearch/models/org--fresh", home);
    CHECK(!strcmp(found, p), "default dest: %s", found);
    CHECK(clipsearch_models_dir(found, sizeof found, NULL) == CLIPSEARCH_OK, "models dir");
    setenv("XDG_CACHE_HOME", "/x", 1);
    CHECK(clipsearch_models_dir(found, sizeof found, NULL) == CLIPSEARCH_OK &&
              !strcmp(found, "/x/clipsearch/models"),
          "%s", found);
    setenv("HF_HOME", "/h", 1);
    CHECK(clipsearch_hf_cache_dir(found, sizeof found, NULL) == CLIPSEARCH_OK &&
              !strcmp(found, "/h/hub"),
          "%s", found);
    setenv("HF_HUB_CACHE", "/c", 1);
    CHECK(clipsearch_hf_cache_dir(found, sizeof found, NULL) == CLIPSEARCH_OK &&
              !strcmp(found, "/c"),
          "%s", found);
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HF_HOME");
    unsetenv("HF_HUB_CACHE");
}

static int count_model(const clipsearch_installed_model *m, void *user)
{
    int *n = user;
    if ((!strcmp(m->repo, "org/cached") && m->source == CLIPSEARCH_SOURCE_HF_CACHE) ||
        (!strcmp(m->repo, "org/fresh") && m->source == CLIPSEARCH_SOURCE_CLIPSEARCH))
        (*n)++;
    return 0;
}

int main(void)
{
    pid_t server;
    int n = 0;
    test_sha();
    test_headers();
    test_repo_names();
    tu_require_fixture("golden/clip-tiny-b32/model.safetensors");
    tu_require_fixture("tokenizer/vocab.json");
    if (system("python3 -c 'import http.server' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: python3 is needed for the local hub server\n");
        tu_finish("test_download");
        return 77;
    }
    unsetenv("HF_TOKEN");
    if ((server = start_server()) < 0) {
        fprintf(stderr, "the local hub server did not start\n");
        return 1;
    }
    test_downloads();
    test_hardening();
    test_kill_download();
    test_tls();
    test_cache();
    clipsearch_models_list(count_model, &n, NULL);
    CHECK(n == 2, "models_list found %d of 2", n);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    return tu_finish("test_download");
}
