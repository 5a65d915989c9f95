/* cmd_check.c — `clipsearch check [--repair]`: verifies a library and
 * repairs what can be repaired (clipsearch_library_check). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipsearch check [--repair] [--db PATH] [--json] [--no-files]\n"
            "\n"
            "Verifies the library: SQLite's integrity check, the schema version and its\n"
            "tables, every embedding (size, values, norm) against its model, rows that\n"
            "point at nothing, folders and photos gone from disk, and each vector index\n"
            "file (header, hash, generation, count, sample searches).  Only reads.\n"
            "  --repair     also fix what can be fixed: rebuild the vector index files\n"
            "               and SQLite indexes, remove photos gone from disk (not under a\n"
            "               folder that is itself gone: an unmounted disk keeps its photos)\n"
            "               and rows that point at nothing, and drop vectors that are not\n"
            "               valid embeddings (the next clipsearch-index embeds their photos\n"
            "               again).  Never removes the embedding of a photo that exists.\n"
            "  --db PATH    library folder (default as for searching)\n"
            "  --json       findings as JSON lines, then a summary object\n"
            "  --no-files   do not look for every photo on disk (fast)\n"
            "Exit codes: 0 healthy, 1 the check could not run (I/O error, a library\n"
            "newer than this program, an indexer running during --repair), 2 bad command\n"
            "line, 3 no library, 6 problems found that --repair fixes, 7 problems found\n"
            "and all repaired, 8 damaged beyond repair (restore a backup, or move the\n"
            "library away and index again).\n");
}

enum { EXIT_NEEDS_REPAIR = 6, EXIT_REPAIRED = 7, EXIT_DAMAGED = 8 };

static const char *const severity_name[] = {"note", "repairable", "repaired", "damage"};
static const char *const verdict_name[] = {"healthy", "needs repair", "repaired",
                                           "damaged beyond repair"};

static void on_finding(clipsearch_check_severity sev, const char *message, void *user)
{
    int json = *(int *)user;
    if (json) {
        printf("{\"finding\":\"%s\",\"message\":", severity_name[sev]);
        cli_print_json_string(stdout, message);
        printf("}\n");
    } else {
        printf("%-10s %s\n", severity_name[sev], message);
    }
}

int cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"repair", no_argument, NULL, 'r'},
                                             {"no-files", no_argument, NULL, 'n'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    clipsearch_check_params cp = clipsearch_check_default_params();
    clipsearch_check_report rep;
    clipsearch_error err = {0};
    clipsearch_status st;
    const char *db = NULL;
    int json = 0, c;

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
        case 'r':
            cp.repair = 1;
            break;
        case 'n':
            cp.check_files = 0;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "clipsearch check: bad option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clipsearch check: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    cp.report = on_finding;
    cp.user = &json;
    if ((st = clipsearch_library_check(db, &cp, &rep, &err)) != CLIPSEARCH_OK) {
        cli_print_error(&err);
        return st == CLIPSEARCH_ERR_NOT_FOUND ? CLI_EXIT_NO_LIBRARY : CLI_EXIT_FAILURE;
    }
    if (json) {
        printf("{\"verdict\":\"%s\",\"database_ok\":%s,\"schema_version\":%d,"
               "\"schema_latest\":%d,\"roots\":%lld,\"files\":%lld,\"models\":%lld,"
               "\"embeddings\":%lld,\"missing_roots\":%lld,\"missing_files\":%lld,"
               "\"bad_embeddings\":%lld,\"orphan_rows\":%lld,\"missing_indexes\":%lld,"
               "\"index_files_bad\":%lld,\"rows_removed\":%lld,\"indexes_rebuilt\":%lld}\n",
               verdict_name[rep.verdict], rep.database_ok ? "true" : "false",
               rep.schema_version, rep.schema_latest, (long long)rep.roots,
               (long long)rep.files, (long long)rep.models, (long long)rep.embeddings,
               (long long)rep.missing_roots, (long long)rep.missing_files,
               (long long)rep.bad_embeddings, (long long)rep.orphan_rows,
               (long long)rep.missing_indexes, (long long)rep.index_files_bad,
               (long long)rep.rows_removed, (long long)rep.indexes_rebuilt);
    } else {
        printf("%s: %lld photos, %lld embeddings, %lld models, schema %d: %s\n",
               verdict_name[rep.verdict], (long long)rep.files, (long long)rep.embeddings,
               (long long)rep.models, rep.schema_version,
               rep.verdict == CLIPSEARCH_CHECK_HEALTHY        ? "nothing to repair"
               : rep.verdict == CLIPSEARCH_CHECK_NEEDS_REPAIR ? "run 'clipsearch check --repair'"
               : rep.verdict == CLIPSEARCH_CHECK_WAS_REPAIRED ? "all problems fixed"
                                                              : rep.message);
    }
    switch (rep.verdict) {
    case CLIPSEARCH_CHECK_HEALTHY:
        return CLI_EXIT_OK;
    case CLIPSEARCH_CHECK_NEEDS_REPAIR:
        return EXIT_NEEDS_REPAIR;
    case CLIPSEARCH_CHECK_WAS_REPAIRED:
        return EXIT_REPAIRED;
    default:
        return EXIT_DAMAGED;
    }
}
