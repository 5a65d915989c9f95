/* cmd_stats.c — `clipsearch stats`: what a library holds and its size. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: clipsearch stats [--db PATH] [--json] [--failures]\n"
               "\n"
               "Shows the library's photos, failures, models, vector index types and\n"
               "sizes on disk.\n"
               "  --db PATH    library folder (default as for searching)\n"
               "  --json       one JSON object\n"
               "  --failures   also list each file that could not be indexed, and why,\n"
               "               grouped by reason (\"truncated file\", \"unsupported format:\n"
               "               .psd\"...), largest group first; with --json one object a\n"
               "               file: failure (path), reason (message), group\n"
               "Exit codes: 0 success, 1 failure, 2 bad command line, 3 no library.\n");
}

static void human(int64_t b, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    double x = (double)b;
    int u = 0;
    while (x >= 1000 && u < 4)
        x /= 1000, u++;
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", x, units[u]);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Failures, collected to be grouped by reason (clipsearch_failure_group). */
typedef struct failure {
    char *path, *reason;
    char group[96];
    size_t group_size;
} failure;

typedef struct failure_list {
    failure *v;
    size_t n, cap;
    int oom;
} failure_list;

static int collect_failure(const char *path, const char *reason, void *user)
{
    failure_list *l = user;
    failure *f;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        failure *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = 1;
            return 1;
        }
        l->v = v, l->cap = cap;
    }
    f = &l->v[l->n];
    f->path = strdup(path ? path : "");
    f->reason = strdup(reason ? reason : "");
    if (!f->path || !f->reason) {
        free(f->path);
        free(f->reason);
        l->oom = 1;
        return 1;
    }
    clipsearch_failure_group(path, reason, f->group, sizeof f->group);
    l->n++;
    return 0;
}

static int by_group(const void *pa, const void *pb)
{
    const failure *a = pa, *b = pb;
    int c = strcmp(a->group, b->group);
    return c ? c : strcmp(a->path, b->path);
}

/* Largest group first, then by name; paths in order within a group. */
static int by_group_size(const void *pa, const void *pb)
{
    const failure *a = pa, *b = pb;
    if (a->group_size != b->group_size)
        return a->group_size > b->group_size ? -1 : 1;
    return by_group(pa, pb);
}

static void print_failures(failure_list *l, int json)
{
    qsort(l->v, l->n, sizeof *l->v, by_group);
    for (size_t i = 0, j; i < l->n; i = j) {
        for (j = i; j < l->n && !strcmp(l->v[j].group, l->v[i].group); j++)
            ;
        for (size_t k = i; k < j; k++)
            l->v[k].group_size = j - i;
    }
    qsort(l->v, l->n, sizeof *l->v, by_group_size);
    for (size_t i = 0; i < l->n; i++) {
        const failure *f = &l->v[i];
        if (json) {
            printf("{\"failure\":");
            json_str(f->path);
            printf(",\"reason\":");
            json_str(f->reason);
            printf(",\"group\":");
            json_str(f->group);
            printf("}\n");
            continue;
        }
        if (i == 0 || strcmp(f->group, l->v[i - 1].group) != 0)
            printf("  %s: %zu file%s\n", f->group, f->group_size, f->group_size == 1 ? "" : "s");
        printf("    %s: %s\n", f->path, f->reason);
    }
}

static void free_failures(failure_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].reason);
    }
    free(l->v);
}

int cmd_stats(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"failures", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    clipsearch_library_params lp = clipsearch_library_default_params();
    clipsearch_library *lib = NULL;
    clipsearch_library_stats stats;
    clipsearch_library_model models[32];
    clipsearch_error err = {0};
    clipsearch_status st;
    const char *db = NULL;
    int json = 0, failures = 0, n_models = 0, rc = CLI_EXIT_OK, c;
    char a[32], b[32], t[32];
    clipsearch_index_info info[32];

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'f':
            failures = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch stats: bad option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clipsearch stats: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    lp.read_only = 1;
    if ((st = clipsearch_library_open(db, &lp, &lib, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return st == CLIPSEARCH_ERR_NOT_FOUND ? CLI_EXIT_NO_LIBRARY : CLI_EXIT_FAILURE;
    }
    if (clipsearch_library_get_stats(lib, &stats, &err) != CLIPSEARCH_OK ||
        clipsearch_library_models(lib, models, 32, &n_models, &err) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (n_models > 32)
        n_models = 32;
    for (int i = 0; i < n_models; i++)
        if (clipsearch_library_index_info(lib, &models[i], &info[i], &err) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
    if (json) {
        printf("{\"library\":");
        json_str(clipsearch_library_path(lib));
        printf(",\"roots\":%lld,\"files\":%lld,\"photos\":%lld,\"failures\":%lld,"
               "\"embeddings\":%lld,\"database_bytes\":%lld,\"index_bytes\":%lld,\"models\":[",
               (long long)stats.roots, (long long)stats.files, (long long)stats.photos,
               (long long)stats.failures, (long long)stats.embeddings,
               (long long)stats.database_bytes, (long long)stats.index_bytes);
        for (int i = 0; i < n_models; i++) {
            printf("%s{\"name\":", i ? "," : "");
            json_str(models[i].name);
            printf(",\"dim\":%d,\"photos\":%lld,\"index_type\":", models[i].dim,
                   (long long)models[i].n_embeddings);
            json_str(models[i].index_type);
            printf(",\"index\":{\"built\":");
            json_str(info[i].built);
            printf(",\"nlist\":%d,\"nprobe\":%d,\"exact\":%s,\"vectors\":%lld,"
                   "\"current\":%s,\"bytes\":%lld}",
                   info[i].nlist, info[i].nprobe, info[i].exact ? "true" : "false",
                   (long long)info[i].count, info[i].current ? "true" : "false",
                   (long long)info[i].file_bytes);
            printf(",\"fingerprint\":");
            json_str(models[i].fingerprint);
            printf(",\"precision\":");
            if (models[i].precision[0])
                json_str(models[i].precision);
            else
                printf("null");
            putchar('}');
        }
        printf("]}\n");
    } else {
        human(stats.database_bytes, a, sizeof a);
        human(stats.index_bytes, b, sizeof b);
        human(stats.database_bytes + stats.index_bytes, t, sizeof t);
        printf("library      %s\n", clipsearch_library_path(lib));
        printf("folders      %lld\n", (long long)stats.roots);
        printf("photos       %lld indexed\n", (long long)stats.photos);
        printf("failures     %lld%s\n", (long long)stats.failures,
               stats.failures && !failures ? " (list them with --failures)" : "");
        printf("models       %d\n", n_models);
        for (int i = 0; i < n_models; i++) {
            char how[160];
            const clipsearch_index_info *x = &info[i];
            if (!x->built[0])
                snprintf(how, sizeof how, "no index file yet");
            else if (x->nlist > 0 && x->nprobe > 0)
                snprintf(how, sizeof how, "%s, approximate: %d of %d lists searched, re-ranked%s",
                         x->built, x->nprobe, x->nlist, x->current ? "" : ", stale");
            else
                snprintf(how, sizeof how, "%s, exact%s", x->built, x->current ? "" : ", stale");
            printf("  %-40s dim %d, %lld photos, index %s (%s), precision %s, fingerprint %s\n",
                   models[i].name, models[i].dim, (long long)models[i].n_embeddings,
                   models[i].index_type, how,
                   models[i].precision[0] ? models[i].precision : "-", models[i].fingerprint);
        }
        printf("on disk      %s (database %s, vector indexes %s)\n", t, a, b);
        if (stats.photos > 0)
            printf("per photo    %.0f bytes\n",
                   (double)(stats.database_bytes + stats.index_bytes) / (double)stats.photos);
    }
    if (failures) {
        failure_list l = {NULL, 0, 0, 0};
        if (clipsearch_library_list_failures(lib, collect_failure, &l, &err) != CLIPSEARCH_OK) {
            cli_print_error(&err);
            rc = CLI_EXIT_FAILURE;
        } else if (l.oom) {
            fprintf(stderr, "clipsearch stats: out of memory listing failures\n");
            rc = CLI_EXIT_FAILURE;
        } else {
            if (!json && l.n)
                printf("failed files, by reason:\n");
            print_failures(&l, json);
        }
        free_failures(&l);
    }
out:
    clipsearch_library_close(lib);
    return rc;
}
