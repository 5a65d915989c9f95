/* clipsearch-index — indexes photo folders into a clipsearch library.
 * Thin program over clipsearch_library_index(): options, progress display,
 * summary, exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clipsearch.h"

enum {
    EXIT_DONE = 0,        /* indexed (individual photos may have failed: see summary) */
    EXIT_ERROR = 1,       /* library, disk or internal error: nothing beyond the
                             last committed batch was lost */
    EXIT_USAGE = 2,       /* bad options */
    EXIT_PARTIAL = 3,     /* done, but some folders were missing or unreadable
                             (nothing under them was removed) */
    EXIT_MODEL = 4,       /* the model could not be loaded */
    EXIT_BUSY = 5,        /* another indexer (or a repair) works on the library */
    EXIT_INTERRUPTED = 130 /* SIGINT/SIGTERM: the current batch was committed */
};

static volatile sig_atomic_t g_stop;
static int g_stop_pipe[2] = {-1, -1}; /* wakes a --watch wait */

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_stop_pipe[1] >= 0) {
        ssize_t r = write(g_stop_pipe[1], "x", 1);
        (void)r;
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch-index [options] FOLDER...\n"
            "Index the photos under each FOLDER into a clipsearch library.\n"
            "Re-running only processes new, changed, moved and deleted files.\n"
            "\n"
            "options:\n"
            "  --db PATH           library folder (default: $CLIPSEARCH_DB, else\n"
            "                      $XDG_DATA_HOME/clipsearch, else ~/.local/share/clipsearch)\n"
            "  --model DIR|REPO    CLIP model folder, or an installed model such as\n"
            "                      laion/CLIP-ViT-B-32-laion2B-s34B-b79K (default:\n"
            "                      $CLIPSEARCH_MODEL, else that model if installed)\n"
            "  --threads N         worker threads (default: all cores)\n"
            "  --batch N           photos per encode batch and transaction (default 32)\n"
            "  --exclude GLOB      skip files and folders matching GLOB (repeatable)\n"
            "  --follow-symlinks   follow symbolic links (cycles are detected)\n"
            "  --index-type TYPE   auto (default): chosen by library size, exact up to\n"
            "                      131,071 photos, then an approximate IVF re-ranked\n"
            "                      exactly (see clipsearch stats); or a FAISS index\n"
            "                      factory string that forces a type: Flat (exact),\n"
            "                      IVF1024,SQfp16, HNSW32, IVF1024,PQ32 ...\n"
            "  --fast              (default) decode big JPEGs at 1/2..1/8 scale (libjpeg\n"
            "                      DCT scaling) before the CLIP resize: ~3x faster on\n"
            "                      12-megapixel photos, embeddings differ very slightly\n"
            "  --exact             decode every photo at full size, then resize exactly as\n"
            "                      the reference CLIP preprocessing does (slower)\n"            "  --precision P       bf16, fp32 or auto (default): number format of the image\n"
            "                      tower's matrix products; auto is bf16 where the CPU has\n"
            "                      native bf16 dot products (AVX512_BF16 or AMX), else fp32\n"

            "  --json              print a JSON summary as the last line of stdout (with\n"
            "                      --watch: one line after each run)\n"
            "  --watch             after indexing, keep the library in step with the\n"
            "                      folders (inotify): new and changed photos are indexed\n"
            "                      once no change has come for --debounce ms, moves are\n"
            "                      recognised without re-encoding, deletions removed, new\n"
            "                      subfolders watched; a folder that disappears (unmounted)\n"
            "                      is reported and picked up again when it returns.  Stops\n"
            "                      cleanly on Ctrl-C / SIGTERM (exit 0 when idle)\n"
            "  --debounce MS       quiet time before indexing changes (default 2000)\n"
            "  --rescan-interval S full rescan period when the kernel's inotify watch\n"
            "                      limit is reached (default 300)\n"
            "  --max-watches N     watch at most N folders, then rescan periodically\n"
            "                      (default: as many as the kernel allows)\n"
            "  -q, --quiet         no progress and no per-file warnings\n"
            "  --wait              if another clipsearch-index (or a repair by clipsearch\n"
            "                      check) works on the library, wait for it to finish\n"
            "                      (default: exit at once with status 5)\n"
            "  --version           the version and the backends (BLAS, FAISS, precision)\n"
            "  -h, --help          this help\n"
            "\n"
            "exit status:\n"
            "  0    done (photos that could not be decoded are recorded as failures)\n"
            "  1    error (database, disk full, read-only library...); the library\n"
            "       stays consistent and a re-run continues where it stopped\n"
            "  2    usage error\n"
            "  3    done, but some folders were missing or unreadable\n"
            "  4    the model could not be loaded\n"
            "  5    another clipsearch-index works on this library (see --wait)\n"
            "  130  interrupted (Ctrl-C / SIGTERM): the current batch was committed\n");
}

typedef struct ui {
    int quiet, tty;
    double last;
    int shown;
} ui;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int on_progress(const clipsearch_index_progress *p, void *user)
{
    ui *u = user;
    double t = now();
    static const char *const names[] = {"scanning", "hashing", "indexing", "saving"};
    if (g_stop)
        return 1;
    if (u->quiet)
        return 0;
    if (p->phase != CLIPSEARCH_PHASE_ENCODE) {
        if (p->phase != CLIPSEARCH_PHASE_WALK && (u->tty || t - u->last > 5)) {
            fprintf(stderr, u->tty ? "\r\033[K%s..." : "%s...\n", names[p->phase]);
            u->last = t;
            u->shown = u->tty;
        }
        return 0;
    }
    if (u->tty) {
        char bar[31];
        int fill = p->total > 0 ? (int)(30 * p->done / p->total) : 0;
        double eta = p->images_per_second > 0 ? (p->total - p->done) / p->images_per_second : 0;
        if (t - u->last < 0.1 && p->done < p->total)
            return 0;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K[%s] %lld/%lld  %.1f img/s  ETA %dm%02ds", bar,
                (long long)p->done, (long long)p->total, p->images_per_second,
                (int)eta / 60, (int)eta % 60);
        u->shown = 1;
        u->last = t;
    } else if (t - u->last >= 10 || p->done == p->total) {
        fprintf(stderr, "indexed %lld/%lld photos, %.1f img/s\n", (long long)p->done,
                (long long)p->total, p->images_per_second);
        u->last = t;
    }
    return 0;
}

static void end_line(ui *u)
{
    if (u->shown) {
        fputs("\r\033[K", stderr);
        u->shown = 0;
    }
}

static void on_problem(const char *path, const char *message, void *user)
{
    ui *u = user;
    if (u->quiet)
        return;
    end_line(u);
    /* Library messages usually start with the path already. */
    if (!strncmp(message, path, strlen(path)))
        fprintf(stderr, "clipsearch-index: warning: %s\n", message);
    else
        fprintf(stderr, "clipsearch-index: warning: %s: %s\n", path, message);
}

static void on_notice(const char *message, void *user)
{
    ui *u = user;
    end_line(u);
    fprintf(stderr, "clipsearch-index: %s\n", message);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* One indexing run (+ tagging), its messages and summary; the exit code. */
static int run_once(const char *db, const char *model, const char *const *roots, int n_roots,
                    const clipsearch_index_params *ip, ui *up, int json)
{
    clipsearch_index_summary s;
    clipsearch_error err = {0};
    clipsearch_library *lib = NULL;
    clipsearch_status st;
    int tag_failed = 0, opened = 0, code;
    memset(&s, 0, sizeof s);
    if ((st = clipsearch_library_open(db, NULL, &lib, &err)) == CLIPSEARCH_OK) {
        opened = 1;
        st = clipsearch_library_index(lib, model, roots, n_roots, ip, &s, &err);
        end_line(up);
        /* A vocabulary set by `clipsearch tag`: tag the photos not yet
         * tagged with this model (new ones, or all after a model change). */
        if (st == CLIPSEARCH_OK) {
            int tag_set = 0;
            clipsearch_tag_summary ts;
            clipsearch_tag_params tp = clipsearch_tag_default_params();
            clipsearch_library_tag_setting(lib, &tag_set, NULL, 0, NULL, NULL);
            tp.model_dir = model;
            tp.n_threads = ip->n_threads;
            tp.only_untagged = 1;
            if (tag_set) {
                clipsearch_error te = {0};
                if (clipsearch_library_tag(lib, &tp, &ts, &te) != CLIPSEARCH_OK) {
                    fprintf(stderr, "clipsearch-index: tagging failed: %s\n", te.message);
                    tag_failed = 1;
                } else if (!up->quiet) {
                    fprintf(stderr, "tagged %lld new photos: %lld tags\n",
                            (long long)ts.photos, (long long)ts.tags);
                }
            }
        }
        clipsearch_library_close(lib);
    }

    if (st == CLIPSEARCH_OK && tag_failed)
        code = EXIT_ERROR;
    else if (st == CLIPSEARCH_OK)
        code = s.missing_roots || s.unreadable_folders ? EXIT_PARTIAL : EXIT_DONE;
    else if (st == CLIPSEARCH_ERR_INTERRUPTED)
        code = EXIT_INTERRUPTED;
    else if (st == CLIPSEARCH_ERR_BUSY)
        code = EXIT_BUSY;
    else if (st == CLIPSEARCH_ERR_MODEL || (st == CLIPSEARCH_ERR_NOT_FOUND && s.seen == 0 &&
                                            strstr(err.message, model)))
        code = EXIT_MODEL;
    else
        code = EXIT_ERROR;
    if (st != CLIPSEARCH_OK)
        fprintf(stderr, "clipsearch-index: %s%s\n", err.message,
                st == CLIPSEARCH_ERR_INTERRUPTED ? " (work so far is saved)" : "");
    if (!up->quiet && opened)
        fprintf(stderr,
                "%lld photos: %lld indexed, %lld unchanged, %lld moved, %lld copies, "
                "%lld removed, %lld failed; %.1f s (%.1f img/s)\n",
                (long long)s.seen, (long long)s.encoded, (long long)s.unchanged,
                (long long)s.moved, (long long)s.copied, (long long)s.removed,
                (long long)s.failed, s.seconds, s.images_per_second);
    if (json) {
        printf("{\"seen\":%lld,\"encoded\":%lld,\"unchanged\":%lld,\"moved\":%lld,"
               "\"copied\":%lld,\"removed\":%lld,\"failed\":%lld,\"unreadable_folders\":%lld,"
               "\"missing_roots\":%lld,\"seconds\":%.3f,\"images_per_second\":%.2f,"
               "\"time\":{\"walk\":%.3f,\"hash\":%.3f,\"read_decode_preprocess\":%.3f,"
               "\"encode\":%.3f,\"write\":%.3f,\"index\":%.3f,\"decode_wait\":%.3f},"
               "\"precision\":\"%s\",\"status\":\"%s\"}\n",
               (long long)s.seen, (long long)s.encoded, (long long)s.unchanged,
               (long long)s.moved, (long long)s.copied, (long long)s.removed,
               (long long)s.failed, (long long)s.unreadable_folders,
               (long long)s.missing_roots, s.seconds, s.images_per_second, s.walk_seconds,
               s.hash_seconds, s.read_decode_seconds, s.encode_seconds, s.write_seconds,
               s.index_seconds, s.decode_wait_seconds, s.precision, clipsearch_strerror(st));
        fflush(stdout);
    }
    return code;
}

int main(int argc, char **argv)
{
    enum { O_DB = 256, O_MODEL, O_THREADS, O_BATCH, O_EXCLUDE, O_FOLLOW, O_TYPE, O_EXACT,
           O_FAST, O_JSON, O_VERSION, O_PRECISION, O_WAIT, O_WATCH, O_DEBOUNCE, O_RESCAN, O_MAX_WATCHES };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"model", required_argument, NULL, O_MODEL},
        {"threads", required_argument, NULL, O_THREADS},
        {"batch", required_argument, NULL, O_BATCH},
        {"exclude", required_argument, NULL, O_EXCLUDE},
        {"follow-symlinks", no_argument, NULL, O_FOLLOW},
        {"index-type", required_argument, NULL, O_TYPE},
        {"exact", no_argument, NULL, O_EXACT},
        {"fast", no_argument, NULL, O_FAST},
        {"json", no_argument, NULL, O_JSON},
        {"precision", required_argument, NULL, O_PRECISION},
        {"wait", no_argument, NULL, O_WAIT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {"watch", no_argument, NULL, O_WATCH},
        {"debounce", required_argument, NULL, O_DEBOUNCE},
        {"rescan-interval", required_argument, NULL, O_RESCAN},
        {"max-watches", required_argument, NULL, O_MAX_WATCHES},
        {NULL, 0, NULL, 0}};
    clipsearch_watch_params wp = clipsearch_watch_default_params();
    int watch = 0;
    clipsearch_index_params ip = clipsearch_index_default_params();
    clipsearch_error err = {0};
    const char *db = NULL, *model = getenv("CLIPSEARCH_MODEL");
    char model_dir[PATH_MAX];
    const char **excludes = NULL;
    int n_excludes = 0, json = 0, c, code;
    ui u = {0};
    struct sigaction sa;

    excludes = calloc((size_t)argc, sizeof *excludes);
    if (!excludes)
        return EXIT_ERROR;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case O_DB: db = optarg; break;
        case O_MODEL: model = optarg; break;
        case O_THREADS:
            if (parse_int(optarg, 1, 1024, &ip.n_threads)) {
                fprintf(stderr, "clipsearch-index: --threads wants 1..1024\n");
                code = EXIT_USAGE;
                goto done;
            }
            break;
        case O_BATCH:
            if (parse_int(optarg, 1, 4096, &ip.batch_size)) {
                fprintf(stderr, "clipsearch-index: --batch wants 1..4096\n");
                code = EXIT_USAGE;
                goto done;
            }
            break;
        case O_EXCLUDE: excludes[n_excludes++] = optarg; break;
        case O_FOLLOW: ip.follow_symlinks = 1; break;
        case O_TYPE: ip.index_type = optarg; break;
        case O_EXACT: ip.preprocess_mode = CLIPSEARCH_PREPROCESS_EXACT; break;
        case O_FAST: ip.preprocess_mode = CLIPSEARCH_PREPROCESS_FAST; break;
        case O_JSON: json = 1; break;
        case O_PRECISION:
            if (clipsearch_precision_parse(optarg, &ip.precision) != 0) {
                fprintf(stderr, "clipsearch-index: --precision '%s': use bf16, fp32 or auto\n",
                        optarg);
                code = EXIT_USAGE;
                goto done;
            }
            break;
        case 'q': u.quiet = 1; break;
        case O_WAIT: ip.wait = 1; break;
        case O_WATCH: watch = 1; break;
        case O_DEBOUNCE:
            if (parse_int(optarg, 0, 3600000, &wp.debounce_ms)) {
                fprintf(stderr, "clipsearch-index: --debounce wants 0..3600000 (ms)\n");
                code = EXIT_USAGE;
                goto done;
            }
            break;
        case O_RESCAN: {
            int sec = 0;
            if (parse_int(optarg, 1, 86400 * 7, &sec)) {
                fprintf(stderr, "clipsearch-index: --rescan-interval wants 1..604800 (s)\n");
                code = EXIT_USAGE;
                goto done;
            }
            wp.rescan_ms = sec * 1000;
            break;
        }
        case O_MAX_WATCHES:
            if (parse_int(optarg, 1, INT_MAX, &wp.max_watches)) {
                fprintf(stderr, "clipsearch-index: --max-watches wants a positive count\n");
                code = EXIT_USAGE;
                goto done;
            }
            break;
        case 'h': usage(stdout); code = EXIT_DONE; goto done;
        case O_VERSION:
            printf("clipsearch-index %s\n%s", clipsearch_version(), clipsearch_backends());
            code = EXIT_DONE;
            goto done;
        default: usage(stderr); code = EXIT_USAGE; goto done;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "clipsearch-index: no folder given\n");
        usage(stderr);
        code = EXIT_USAGE;
        goto done;
    }
    /* A folder, or a repository name found among the installed models;
     * with neither --model nor CLIPSEARCH_MODEL, the default model if it
     * was downloaded. */
    if (clipsearch_model_resolve(model && *model ? model : CLIPSEARCH_DEFAULT_MODEL_REPO,
                                 model_dir, sizeof model_dir, &err) != CLIPSEARCH_OK) {
        if (model && *model)
            fprintf(stderr, "clipsearch-index: %s\n", err.message);
        else
            fprintf(stderr, "clipsearch-index: no model: pass --model DIR or set "
                            "CLIPSEARCH_MODEL (get one with: clipsearch model download)\n");
        code = model && *model ? EXIT_MODEL : EXIT_USAGE;
        goto done;
    }
    model = model_dir;
    ip.excludes = excludes;
    ip.n_excludes = n_excludes;
    ip.progress = on_progress;
    ip.problem = on_problem;
    ip.user = &u;
    u.tty = isatty(STDERR_FILENO);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (watch && pipe2(g_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        fprintf(stderr, "clipsearch-index: cannot create a pipe: %s\n", strerror(errno));
        code = EXIT_ERROR;
        goto done;
    }
    code = run_once(db, model, (const char *const *)(argv + optind), argc - optind, &ip, &u,
                    json);
    if (watch && code != EXIT_INTERRUPTED && code != EXIT_ERROR && code != EXIT_MODEL) {
        clipsearch_watch *w = NULL;
        wp.follow_symlinks = ip.follow_symlinks;
        wp.notice = on_notice;
        wp.user = &u;
        if (clipsearch_watch_open((const char *const *)(argv + optind), argc - optind, &wp, &w,
                                  &err) != CLIPSEARCH_OK) {
            fprintf(stderr, "clipsearch-index: --watch: %s\n", err.message);
            code = EXIT_ERROR;
            goto done;
        }
        if (!u.quiet)
            fprintf(stderr, "clipsearch-index: watching %lld folders for changes\n",
                    (long long)clipsearch_watch_count(w));
        for (;;) {
            int ev = 0;
            if (g_stop) {
                code = EXIT_DONE;
                break;
            }
            if (clipsearch_watch_wait(w, g_stop_pipe[0], &ev, &err) != CLIPSEARCH_OK) {
                fprintf(stderr, "clipsearch-index: --watch: %s\n", err.message);
                code = EXIT_ERROR;
                break;
            }
            if (ev & CLIPSEARCH_WATCH_STOPPED) {
                code = EXIT_DONE; /* stopped while idle: nothing in progress */
                break;
            }
            if (!(ev & CLIPSEARCH_WATCH_CHANGED))
                continue;
            code = run_once(db, model, (const char *const *)(argv + optind), argc - optind,
                            &ip, &u, json);
            if (code == EXIT_INTERRUPTED || code == EXIT_ERROR || code == EXIT_MODEL)
                break;
        }
        clipsearch_watch_close(w);
    }
done:
    free(excludes);
    return code;
}
