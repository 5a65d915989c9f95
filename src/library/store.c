/* store.c — the SQLite side of a library (see store.h). */
#include "store.h"

#include <errno.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "error.h"

/* Prepared statements, compiled on first use and kept for the connection. */
enum {
    ST_ROOT_ADD,
    ST_ROOT_GET,
    ST_ROOT_DONE,
    ST_MODEL_FIND,
    ST_MODEL_BY_ID,
    ST_MODEL_FIND_LIGHT,
    ST_MODEL_BY_ID_LIGHT,
    ST_MODEL_ADD,
    ST_MODEL_SET_TYPE,
    ST_MODEL_BUMP_ONE,
    ST_MODEL_BUMP_ALL,
    ST_MODEL_PRECISION,
    ST_FILES_UNDER,
    ST_FILE_PUT,
    ST_FILE_ID,
    ST_FILE_MOVE,
    ST_FILE_DELETE,
    ST_FILE_COPY_META,
    ST_FILE_WITH_HASH,
    ST_EMB_PUT,
    ST_EMB_COPY,
    ST_EMB_DELETE,
    ST_EMB_GET,
    ST_EMB_ALL,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_ROOT_ADD] = "INSERT OR IGNORE INTO roots(path, added_at) VALUES(?1, ?2)",
    [ST_ROOT_GET] = "SELECT id FROM roots WHERE path = ?1",
    [ST_ROOT_DONE] = "UPDATE roots SET indexed_at = ?2 WHERE id = ?1",
    [ST_MODEL_FIND] = "SELECT id, name, dim, fingerprint, generation, index_type,"
                      " (SELECT count(*) FROM embeddings e INDEXED BY embeddings_file WHERE e.model_id = m.id), m.precision"
                      " FROM models m WHERE fingerprint = ?1",
    [ST_MODEL_BY_ID] = "SELECT id, name, dim, fingerprint, generation, index_type,"
                       " (SELECT count(*) FROM embeddings e INDEXED BY embeddings_file WHERE e.model_id = m.id), m.precision"
                       " FROM models m WHERE id = ?1",
    /* Without the count: it walks the embeddings_file index (30 ms at a
     * million photos). */
    [ST_MODEL_FIND_LIGHT] = "SELECT id, name, dim, fingerprint, generation, index_type, -1, m.precision"
                            " FROM models m WHERE fingerprint = ?1",
    [ST_MODEL_BY_ID_LIGHT] = "SELECT id, name, dim, fingerprint, generation, index_type, -1, m.precision"
                             " FROM models m WHERE id = ?1",
    [ST_MODEL_ADD] = "INSERT INTO models(name, dim, fingerprint, index_type, created_at)"
                     " VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_MODEL_SET_TYPE] = "UPDATE models SET index_type = ?2, generation = generation + 1"
                          " WHERE id = ?1",
    [ST_MODEL_BUMP_ONE] = "UPDATE models SET generation = generation + 1 WHERE id = ?1",
    [ST_MODEL_BUMP_ALL] = "UPDATE models SET generation = generation + 1",
    [ST_MODEL_PRECISION] = "UPDATE models SET precision = CASE WHEN precision IS NULL OR"
                           " precision = ?2 THEN ?2 ELSE 'mixed' END WHERE id = ?1",
    /* Range scan on the path index: dir itself, or dir/ .. dir0 ('0' = '/'+1). */
    [ST_FILES_UNDER] = "SELECT f.id, f.path, f.size, f.mtime_ns, f.hash,"
                       " EXISTS(SELECT 1 FROM embeddings e WHERE e.model_id = ?4"
                       "        AND e.file_id = f.id), f.error IS NOT NULL"
                       " FROM files f WHERE f.path = ?1 OR (f.path >= ?2 AND f.path < ?3)"
                       " ORDER BY f.path",
    [ST_FILE_PUT] = "INSERT INTO files(path, size, mtime_ns, hash, format, width, height,"
                    " orientation, taken, camera, error, indexed_at)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                    " ON CONFLICT(path) DO UPDATE SET size = excluded.size,"
                    " mtime_ns = excluded.mtime_ns, hash = excluded.hash,"
                    " format = excluded.format, width = excluded.width,"
                    " height = excluded.height, orientation = excluded.orientation,"
                    " taken = excluded.taken, camera = excluded.camera,"
                    " error = excluded.error, indexed_at = excluded.indexed_at",
    [ST_FILE_ID] = "SELECT id FROM files WHERE path = ?1",
    [ST_FILE_MOVE] = "UPDATE files SET path = ?2, size = ?3, mtime_ns = ?4 WHERE id = ?1",
    [ST_FILE_DELETE] = "DELETE FROM files WHERE id = ?1",
    [ST_FILE_COPY_META] = "UPDATE files SET (format, width, height, orientation, taken,"
                          " camera, error) = (SELECT format, width, height, orientation,"
                          " taken, camera, error FROM files WHERE id = ?1) WHERE id = ?2",
    [ST_FILE_WITH_HASH] = "SELECT f.id FROM files f JOIN embeddings e ON e.file_id = f.id"
                          " AND e.model_id = ?2 WHERE f.hash = ?1 AND f.error IS NULL"
                          " AND f.id <> ?3 LIMIT 1",
    /* generation: the model's generation once this transaction's bump is
     * committed (the write generation of the row, schema 0006). */
    [ST_EMB_PUT] = "INSERT OR REPLACE INTO embeddings(file_id, model_id, vector, generation)"
                   " VALUES(?1, ?2, ?3, (SELECT generation + 1 FROM models WHERE id = ?2))",
    [ST_EMB_COPY] = "INSERT OR REPLACE INTO embeddings(file_id, model_id, vector, generation)"
                    " SELECT ?2, model_id, vector,"
                    " (SELECT generation + 1 FROM models WHERE id = ?3) FROM embeddings"
                    " WHERE file_id = ?1 AND model_id = ?3",
    [ST_EMB_DELETE] = "DELETE FROM embeddings WHERE file_id = ?1 AND model_id = ?2",
    [ST_EMB_GET] = "SELECT vector FROM embeddings WHERE file_id = ?1 AND model_id = ?2",
    [ST_EMB_ALL] = "SELECT file_id, vector FROM embeddings WHERE model_id = ?1"
                   " ORDER BY file_id",
};

struct cs_store {
    sqlite3 *db;
    char *path;
    int read_only;
    sqlite3_stmt *stmt[ST_COUNT];
};

int cs_schema_latest_version(void)
{
    int v = 0;
    for (const cs_schema_migration *m = cs_schema_migrations; m->name; m++)
        if (m->version > v)
            v = m->version;
    return v;
}

clipsearch_status cs_store_error(cs_store *s, clipsearch_error *err, const char *what)
{
    int code = sqlite3_extended_errcode(s->db);
    int primary = code & 0xff;
    int sys = sqlite3_system_errno(s->db);
    clipsearch_status st = CLIPSEARCH_ERR_DATABASE;
    const char *hint = "";
    char syshint[160] = "";
    /* SQLite reports a full disk met while opening or growing the WAL index
     * as a plain I/O error: the OS error says what happened. */
    if (primary == SQLITE_FULL ||
        ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) &&
         (sys == ENOSPC || sys == EDQUOT))) {
        st = CLIPSEARCH_ERR_IO;
        hint = " (the disk is full; the library is unchanged since the last commit)";
    } else if (primary == SQLITE_READONLY ||
               ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) && sys == EROFS)) {
        st = primary == SQLITE_READONLY ? CLIPSEARCH_ERR_DATABASE : CLIPSEARCH_ERR_IO;
        hint = " (the library is read-only: check the permissions of the file and its folder)";
    } else if (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) {
        st = CLIPSEARCH_ERR_IO;
        if (sys)
            snprintf(syshint, sizeof syshint, " (%s)", strerror(sys));
    } else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        hint = " (another process is writing the library)";
    } else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
        st = CLIPSEARCH_ERR_FORMAT;
        hint = " (the library is damaged: 'clipsearch check' tells more)";
    }
    return cs_error_set(err, st, "%s: %s: %s%s%s", s->path, what, sqlite3_errmsg(s->db), hint,
                        syshint);
}

static sqlite3_stmt *get_stmt(cs_store *s, int which, clipsearch_error *err)
{
    if (!s->stmt[which]) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                               &s->stmt[which], NULL) != SQLITE_OK) {
            cs_store_error(s, err, "preparing a statement");
            return NULL;
        }
    }
    sqlite3_reset(s->stmt[which]);
    sqlite3_clear_bindings(s->stmt[which]);
    return s->stmt[which];
}

/* Runs a statement that returns no rows. */
static clipsearch_status step_done(cs_store *s, sqlite3_stmt *st, const char *what,
                                   clipsearch_error *err)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        clipsearch_status r = cs_store_error(s, err, what);
        sqlite3_reset(st);
        return r;
    }
    sqlite3_reset(st);
    return CLIPSEARCH_OK;
}

clipsearch_status cs_store_exec(cs_store *s, const char *sql, clipsearch_error *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return cs_store_error(s, err, sql);
    return CLIPSEARCH_OK;
}

clipsearch_status cs_store_schema_version(cs_store *s, int *version, clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    clipsearch_status r = CLIPSEARCH_OK;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return cs_store_error(s, err, "reading the schema version");
    if (sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    else
        r = cs_store_error(s, err, "reading the schema version");
    sqlite3_finalize(st);
    return r;
}

static int folder_writable(const char *path);

/* One migration's SQL as one malloc'd string (NULL: out of memory). */
static char *migration_sql(const cs_schema_migration *m)
{
    size_t len = 0, at = 0;
    char *sql;
    for (const char *const *l = m->sql_lines; *l; l++)
        len += strlen(*l);
    if (!(sql = malloc(len + 1)))
        return NULL;
    for (const char *const *l = m->sql_lines; *l; l++) {
        size_t n = strlen(*l);
        memcpy(sql + at, *l, n);
        at += n;
    }
    sql[at] = '\0';
    return sql;
}

/* 1 when the database defines no table at all (an empty file). */
static int no_tables(cs_store *s)
{
    sqlite3_stmt *st = NULL;
    int none = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        none = sqlite3_column_int(st, 0) == 0;
    sqlite3_finalize(st);
    return none;
}

static clipsearch_status migrate(cs_store *s, clipsearch_error *err)
{
    int version = 0, latest = cs_schema_latest_version();
    clipsearch_status r;
    char *sql = NULL;
    if ((r = cs_store_schema_version(s, &version, err)) != CLIPSEARCH_OK)
        return r;
    if (version > latest)
        return cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED,
                            "%s: the library has schema version %d, newer than this "
                            "program knows (%d): upgrade clipsearch",
                            s->path, version, latest);
    if (version == latest)
        return CLIPSEARCH_OK;
    if (s->read_only && version == 0 && no_tables(s))
        /* A library's creation commits its schema at once: an empty
         * database is one being created this instant, or a truncated file;
         * never a library to upgrade (and a search must not write to it). */
        return cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                            "%s is empty: no library yet (an indexer creating it, or a "
                            "truncated file: 'clipsearch check' tells more)",
                            s->path);
    if (s->read_only) {
        /* A library made by an older clipsearch: upgrade it through a
         * separate writable connection when we may write it (migrations only
         * add tables), else read it as it is; everything a search needs is
         * in schema 1, and a newer feature's statements then fail with
         * SQLite's "no such table", named in the error. */
        cs_store *writer = NULL;
        clipsearch_error ignored = {0};
        if (access(s->path, W_OK) == 0 && folder_writable(s->path) &&
            cs_store_open(s->path, 0, &writer, &ignored) == CLIPSEARCH_OK)
            cs_store_close(writer);
        return CLIPSEARCH_OK;
    }
    if ((r = cs_store_begin_write(s, err)) != CLIPSEARCH_OK)
        return r;
    /* Another process may have migrated while we waited for the lock. */
    if ((r = cs_store_schema_version(s, &version, err)) != CLIPSEARCH_OK)
        goto out;
    for (const cs_schema_migration *m = cs_schema_migrations; m->name; m++) {
        char pragma[64];
        if (m->version <= version)
            continue;
        free(sql);
        if (!(sql = migration_sql(m))) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            char what[128];
            snprintf(what, sizeof what, "applying schema %s", m->name);
            r = cs_store_error(s, err, what);
            goto out;
        }
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
        if ((r = cs_store_exec(s, pragma, err)) != CLIPSEARCH_OK)
            goto out;
        version = m->version;
    }
    r = cs_store_commit(s, err);
out:
    free(sql);
    if (r != CLIPSEARCH_OK)
        cs_store_rollback(s);
    return r;
}

/* The folder of path is writable (by us, on a writable file system). */
static int folder_writable(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int n;
    if (!slash)
        return access(".", W_OK) == 0;
    n = (int)(slash - path);
    if (n == 0)
        n = 1;
    if (n >= (int)sizeof dir)
        return 1;
    memcpy(dir, path, (size_t)n);
    dir[n] = '\0';
    return access(dir, W_OK) == 0;
}

/* "file:" URI for path with immutable=1, or NULL (out of memory). */
static char *immutable_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *u = malloc(3 * n + 32), *o = u;
    if (!u)
        return NULL;
    o += sprintf(o, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x21 || *p >= 0x7f) {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    strcpy(o, "?immutable=1");
    return u;
}

/* Not a regular file: refused before SQLite opens it (only stat(2): a
 * separate open and close of the database file would drop the POSIX locks
 * this process's other connections hold on it). */
static clipsearch_status precheck_file(const char *path, clipsearch_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return CLIPSEARCH_OK; /* absent: created, or SQLite says why not */
    if (S_ISDIR(sb.st_mode))
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s is a directory, not a library database (move it away)", path);
    if (!S_ISREG(sb.st_mode))
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s is not a regular file, not a library database", path);
    return CLIPSEARCH_OK;
}

/* Damage SQLite would only notice when it reads the page concerned (maybe
 * never, for a search), caught at open: a header that is not SQLite's, a
 * file shorter than its header says (a truncation; unless the WAL holds
 * pages, as while a checkpoint runs).  Read through SQLite's own file
 * handle, for the reason above. */
static clipsearch_status check_header(cs_store *s, clipsearch_error *err)
{
    sqlite3_file *f = NULL;
    unsigned char h[100];
    char wal[4200];
    sqlite3_int64 size = 0;
    uint32_t page_size, pages = 0;
    struct stat sb;
    if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
        !f->pMethods || f->pMethods->xFileSize(f, &size) != SQLITE_OK || size == 0)
        return CLIPSEARCH_OK; /* empty: an interrupted creation, judged by migrate */
    if (f->pMethods->xRead(f, h, (int)sizeof h, 0) != SQLITE_OK ||
        memcmp(h, "SQLite format 3", 16) != 0)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s is not a SQLite database (damaged or not a clipsearch "
                            "library): 'clipsearch check' tells more",
                            s->path);
    page_size = (uint32_t)h[16] << 8 | h[17];
    if (page_size == 1)
        page_size = 65536;
    if (!memcmp(h + 24, h + 92, 4)) /* the in-header size is valid */
        pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    if (pages && (int64_t)size < (int64_t)pages * page_size &&
        !(stat(wal, &sb) == 0 && sb.st_size > 0))
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s is truncated (%lld bytes; its header says %lld): the library is "
                            "damaged; restore a backup, or move it away and index again",
                            s->path, (long long)size, (long long)pages * page_size);
    return CLIPSEARCH_OK;
}

static clipsearch_status open_db(cs_store *s, const char *name, int flags, clipsearch_error *err)
{
    if (sqlite3_open_v2(name, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (!s->db)
            return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", s->path);
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot open the library: %s", s->path,
                            sqlite3_errmsg(s->db));
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 30000);
    return CLIPSEARCH_OK;
}

clipsearch_status cs_store_open(const char *path, int read_only, cs_store **out,
                                clipsearch_error *err)
{
    cs_store *s = NULL;
    clipsearch_status r;
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    char *uri = NULL;
    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    }
    s->read_only = read_only;
    if ((r = precheck_file(path, err)) != CLIPSEARCH_OK)
        goto fail;
    if (!read_only && access(path, F_OK) == 0 &&
        (access(path, W_OK) != 0 || !folder_writable(path))) {
        /* SQLite would open it read-only and fail later with a vaguer
         * message (or, for a WAL database, "unable to open database file"). */
        r = cs_error_set(err, CLIPSEARCH_ERR_IO,
                         "%s: the library is read-only (%s): it can be searched but not "
                         "indexed into",
                         path, strerror(errno == 0 ? EACCES : errno));
        goto fail;
    }
    if ((r = open_db(s, path, flags, err)) != CLIPSEARCH_OK ||
        (r = check_header(s, err)) != CLIPSEARCH_OK)
        goto fail;
    if (!read_only) {
        /* 16 KiB pages (applies to a new database only; must come before
         * WAL): a 512-d vector is a 2 KiB blob, and in 4 KiB pages each one
         * took a page and an overflow page to itself (4.7 KB per embedding
         * measured, 56% unused); 16 KiB pages hold 7 of them inline.
         * WAL: readers never block the indexer and see committed batches;
         * synchronous=FULL: a committed batch survives power loss too. */
        if ((r = cs_store_exec(s, "PRAGMA page_size=16384", err)) != CLIPSEARCH_OK ||
            (r = cs_store_exec(s, "PRAGMA journal_mode=WAL", err)) != CLIPSEARCH_OK)
            goto fail;
        /* Checkpoint at ~4 MiB of WAL, as SQLite's default does with 4 KiB
         * pages; only a tuning, so a failure is ignored. */
        (void)sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=256", NULL, NULL, NULL);
    }
    r = cs_store_exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", err);
    if (r == CLIPSEARCH_OK)
        r = migrate(s, err);
    if (r != CLIPSEARCH_OK && read_only &&
        (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_CANTOPEN && !folder_writable(path)) {
        /* A WAL database on read-only media (a read-only mount, a folder we
         * may not write): SQLite cannot create the -shm file readers need.
         * Nobody can be writing it, and a cleanly closed library has no WAL
         * content, so read the database file as immutable. */
        sqlite3_close(s->db);
        s->db = NULL;
        if (!(uri = immutable_uri(path))) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        if ((r = open_db(s, uri, flags | SQLITE_OPEN_URI, err)) != CLIPSEARCH_OK)
            goto fail;
        r = cs_store_exec(s, "PRAGMA foreign_keys=ON", err);
        if (r == CLIPSEARCH_OK)
            r = migrate(s, err);
    }
    if (r != CLIPSEARCH_OK)
        goto fail;
    free(uri);
    *out = s;
    return CLIPSEARCH_OK;
fail:
    free(uri);
    cs_store_close(s);
    return r;
}

clipsearch_status cs_store_schema_missing(cs_store *s, int version,
                                         int (*fn)(const char *type, const char *name,
                                                   const char *sql, void *user),
                                         void *user, int *n_missing, clipsearch_error *err)
{
    sqlite3 *ref = NULL;
    sqlite3_stmt *list = NULL, *have = NULL;
    clipsearch_status r = CLIPSEARCH_OK;
    char *sql = NULL;
    int rc;
    *n_missing = 0;
    /* The reference: the migrations up to `version` applied to an empty
     * in-memory database. */
    if (sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    for (const cs_schema_migration *m = cs_schema_migrations; m->name; m++) {
        if (m->version > version)
            continue;
        free(sql);
        if (!(sql = migration_sql(m))) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        if (sqlite3_exec(ref, sql, NULL, NULL, NULL) != SQLITE_OK) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "schema %s: %s", m->name,
                             sqlite3_errmsg(ref));
            goto out;
        }
    }
    if (sqlite3_prepare_v2(ref,
                           "SELECT type, name, sql FROM sqlite_master WHERE type IN"
                           " ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
                           -1, &list, NULL) != SQLITE_OK) {
        r = cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "schema: %s", sqlite3_errmsg(ref));
        goto out;
    }
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type = ?1 AND name = ?2",
                           -1, &have, NULL) != SQLITE_OK) {
        r = cs_store_error(s, err, "reading the schema");
        goto out;
    }
    while ((rc = sqlite3_step(list)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(list, 0);
        const char *name = (const char *)sqlite3_column_text(list, 1);
        sqlite3_reset(have);
        sqlite3_bind_text(have, 1, type, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(have, 2, name, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(have);
        if (rc == SQLITE_DONE) {
            ++*n_missing;
            if (fn && fn(type, name, (const char *)sqlite3_column_text(list, 2), user))
                break;
        } else if (rc != SQLITE_ROW) {
            r = cs_store_error(s, err, "reading the schema");
            goto out;
        }
    }
out:
    free(sql);
    sqlite3_finalize(list);
    sqlite3_finalize(have);
    sqlite3_close(ref);
    return r;
}

clipsearch_status cs_store_integrity(cs_store *s, int quick,
                                    int (*fn)(const char *message, void *user), void *user,
                                    int *ok, clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, rows = 0;
    *ok = 0;
    if (sqlite3_prepare_v2(s->db, quick ? "PRAGMA quick_check(100)" : "PRAGMA integrity_check(100)",
                           -1, &st, NULL) != SQLITE_OK)
        return cs_store_error(s, err, "checking the database");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        if (rows++ == 0 && m && !strcmp(m, "ok")) {
            *ok = 1;
            break;
        }
        if (fn && fn(m ? m : "?", user))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        /* A database too damaged to walk: SQLite's error is the finding. */
        if (fn)
            fn(sqlite3_errmsg(s->db), user);
        rc = sqlite3_extended_errcode(s->db) & 0xff;
        if (rc != SQLITE_CORRUPT && rc != SQLITE_NOTADB) {
            clipsearch_status r = cs_store_error(s, err, "checking the database");
            sqlite3_finalize(st);
            return r;
        }
    }
    sqlite3_finalize(st);
    return CLIPSEARCH_OK;
}

void cs_store_close(cs_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

const char *cs_store_path(const cs_store *s) { return s->path; }
int cs_store_read_only(const cs_store *s) { return s->read_only; }
struct sqlite3 *cs_store_db(cs_store *s) { return s->db; }

clipsearch_status cs_store_begin_write(cs_store *s, clipsearch_error *err)
{
    return cs_store_exec(s, "BEGIN IMMEDIATE", err);
}

clipsearch_status cs_store_begin_read(cs_store *s, clipsearch_error *err)
{
    clipsearch_status r = cs_store_exec(s, "BEGIN", err);
    if (r != CLIPSEARCH_OK)
        return r;
    /* The snapshot starts at the first read. */
    r = cs_store_exec(s, "SELECT count(*) FROM models", err);
    if (r != CLIPSEARCH_OK)
        cs_store_rollback(s);
    return r;
}

clipsearch_status cs_store_commit(cs_store *s, clipsearch_error *err)
{
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        clipsearch_status r = cs_store_error(s, err, "committing");
        cs_store_rollback(s);
        return r;
    }
    return CLIPSEARCH_OK;
}

void cs_store_rollback(cs_store *s)
{
    if (s && s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- roots ---- */

clipsearch_status cs_store_root_add(cs_store *s, const char *path, int64_t *id,
                                    clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_ROOT_ADD, err);
    clipsearch_status r;
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
    if ((r = step_done(s, st, "adding a folder", err)) != CLIPSEARCH_OK)
        return r;
    if (!(st = get_stmt(s, ST_ROOT_GET, err)))
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        r = cs_store_error(s, err, "reading a folder");
        sqlite3_reset(st);
        return r;
    }
    *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return CLIPSEARCH_OK;
}

clipsearch_status cs_store_root_mark_indexed(cs_store *s, int64_t id, clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_ROOT_DONE, err);
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
    return step_done(s, st, "updating a folder", err);
}

/* ---- models ---- */

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
    snprintf(dst, size, "%s", src ? (const char *)src : "");
}

static void read_model_row(sqlite3_stmt *st, cs_model_row *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    copy_text(out->name, sizeof out->name, sqlite3_column_text(st, 1));
    out->dim = sqlite3_column_int(st, 2);
    copy_text(out->fingerprint, sizeof out->fingerprint, sqlite3_column_text(st, 3));
    out->generation = sqlite3_column_int64(st, 4);
    copy_text(out->index_type, sizeof out->index_type, sqlite3_column_text(st, 5));
    out->n_embeddings = sqlite3_column_int64(st, 6);
    copy_text(out->precision, sizeof out->precision, sqlite3_column_text(st, 7));
}

static clipsearch_status model_query(cs_store *s, int which, const char *fp, int64_t id,
                                     cs_model_row *out, clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, which, err);
    clipsearch_status r = CLIPSEARCH_OK;
    int rc;
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    if (fp)
        sqlite3_bind_text(st, 1, fp, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_model_row(st, out);
    else if (rc == SQLITE_DONE)
        r = cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND, "%s: no such model in the library",
                         s->path);
    else
        r = cs_store_error(s, err, "reading models");
    sqlite3_reset(st);
    return r;
}

clipsearch_status cs_store_model_find(cs_store *s, const char *fingerprint,
                                      cs_model_row *out, clipsearch_error *err)
{
    return model_query(s, ST_MODEL_FIND, fingerprint, 0, out, err);
}

clipsearch_status cs_store_model_by_id(cs_store *s, int64_t id, cs_model_row *out,
                                       clipsearch_error *err)
{
    return model_query(s, ST_MODEL_BY_ID, NULL, id, out, err);
}

clipsearch_status cs_store_model_find_light(cs_store *s, const char *fingerprint,
                                            cs_model_row *out, clipsearch_error *err)
{
    return model_query(s, ST_MODEL_FIND_LIGHT, fingerprint, 0, out, err);
}

clipsearch_status cs_store_model_by_id_light(cs_store *s, int64_t id, cs_model_row *out,
                                             clipsearch_error *err)
{
    return model_query(s, ST_MODEL_BY_ID_LIGHT, NULL, id, out, err);
}

clipsearch_status cs_store_model_get_or_add(cs_store *s, const char *name, int dim,
                                            const char *fingerprint,
                                            const char *index_type, cs_model_row *out,
                                            clipsearch_error *err)
{
    clipsearch_error e2 = {0};
    clipsearch_status r = cs_store_model_find(s, fingerprint, out, &e2);
    sqlite3_stmt *st;
    if (r == CLIPSEARCH_OK) {
        if (out->dim != dim)
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                "%s: model %s is recorded with dimension %d, not %d",
                                s->path, name, out->dim, dim);
        if (index_type && *index_type && strcmp(index_type, out->index_type) != 0) {
            if (!(st = get_stmt(s, ST_MODEL_SET_TYPE, err)))
                return err ? err->status : CLIPSEARCH_ERR_DATABASE;
            sqlite3_bind_int64(st, 1, out->id);
            sqlite3_bind_text(st, 2, index_type, -1, SQLITE_TRANSIENT);
            if ((r = step_done(s, st, "updating a model", err)) != CLIPSEARCH_OK)
                return r;
            return cs_store_model_by_id(s, out->id, out, err);
        }
        return CLIPSEARCH_OK;
    }
    if (r != CLIPSEARCH_ERR_NOT_FOUND) {
        if (err)
            *err = e2;
        return r;
    }
    if (!(st = get_stmt(s, ST_MODEL_ADD, err)))
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, dim);
    sqlite3_bind_text(st, 3, fingerprint, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, index_type && *index_type ? index_type : "auto", -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
    if ((r = step_done(s, st, "adding a model", err)) != CLIPSEARCH_OK)
        return r;
    return cs_store_model_by_id(s, sqlite3_last_insert_rowid(s->db), out, err);
}

clipsearch_status cs_store_model_note_precision(cs_store *s, int64_t model_id,
                                               const char *precision, clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_MODEL_PRECISION, err);
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_text(st, 2, precision, -1, SQLITE_TRANSIENT);
    return step_done(s, st, "recording a model's precision", err);
}

clipsearch_status cs_store_models(cs_store *s, cs_model_row **rows, size_t *n, int counts,
                                  clipsearch_error *err)
{
    sqlite3_stmt *st = NULL;
    cs_model_row *v = NULL;
    size_t len = 0, cap = 0;
    clipsearch_status r = CLIPSEARCH_OK;
    int rc;
    *rows = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(s->db,
                           counts ? "SELECT id, name, dim, fingerprint, generation, index_type,"
                                    " (SELECT count(*) FROM embeddings e INDEXED BY "
                                    "embeddings_file WHERE e.model_id = m.id)"
                                    " , m.precision FROM models m ORDER BY id"
                                  : "SELECT id, name, dim, fingerprint, generation, index_type,"
                                    " -1, m.precision FROM models m ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return cs_store_error(s, err, "listing models");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!cs_array_reserve(&v, &cap, len, sizeof *v, 4)) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        read_model_row(st, &v[len++]);
    }
    if (rc != SQLITE_DONE)
        r = cs_store_error(s, err, "listing models");
out:
    sqlite3_finalize(st);
    if (r != CLIPSEARCH_OK) {
        free(v);
        return r;
    }
    *rows = v;
    *n = len;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_store_model_bump(cs_store *s, int64_t model_id, clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, model_id > 0 ? ST_MODEL_BUMP_ONE : ST_MODEL_BUMP_ALL, err);
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    if (model_id > 0)
        sqlite3_bind_int64(st, 1, model_id);
    return step_done(s, st, "updating a model generation", err);
}

/* ---- files ---- */

void cs_file_rows_free(cs_file_row *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        free(rows[i].path);
    free(rows);
}

clipsearch_status cs_store_files_under(cs_store *s, const char *dir, int64_t model_id,
                                       cs_file_row **rows, size_t *n,
                                       clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_FILES_UNDER, err);
    cs_file_row *v = NULL;
    size_t len = 0, cap = 0, dl = strlen(dir);
    char *lo = NULL, *hi = NULL;
    clipsearch_status r = CLIPSEARCH_OK;
    int rc;
    *rows = NULL;
    *n = 0;
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    lo = malloc(dl + 2);
    hi = malloc(dl + 2);
    if (!lo || !hi) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    memcpy(lo, dir, dl);
    memcpy(hi, dir, dl);
    if (dl > 0 && dir[dl - 1] == '/') { /* the root folder "/" */
        lo[dl] = '\0';
        hi[dl - 1] = '0';
        hi[dl] = '\0';
    } else {
        lo[dl] = '/';
        hi[dl] = '0';
        lo[dl + 1] = hi[dl + 1] = '\0';
    }
    sqlite3_bind_text(st, 1, dir, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, lo, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, hi, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, model_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cs_file_row *row;
        if (!cs_array_reserve(&v, &cap, len, sizeof *v, 256)) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        row = &v[len];
        memset(row, 0, sizeof *row);
        row->id = sqlite3_column_int64(st, 0);
        row->path = strdup((const char *)sqlite3_column_text(st, 1));
        if (!row->path) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        len++;
        row->size = sqlite3_column_int64(st, 2);
        row->mtime_ns = sqlite3_column_int64(st, 3);
        copy_text(row->hash, sizeof row->hash, sqlite3_column_text(st, 4));
        row->has_embedding = sqlite3_column_int(st, 5);
        row->has_error = sqlite3_column_int(st, 6);
    }
    if (rc != SQLITE_DONE)
        r = cs_store_error(s, err, "listing files");
out:
    sqlite3_reset(st);
    free(lo);
    free(hi);
    if (r != CLIPSEARCH_OK) {
        cs_file_rows_free(v, len);
        return r;
    }
    *rows = v;
    *n = len;
    return CLIPSEARCH_OK;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_int_or_null(sqlite3_stmt *st, int i, int v)
{
    if (v > 0)
        sqlite3_bind_int(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

clipsearch_status cs_store_file_put(cs_store *s, const cs_file_meta *m, int64_t *id,
                                    clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_FILE_PUT, err);
    clipsearch_status r;
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_text(st, 1, m->path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, m->size);
    sqlite3_bind_int64(st, 3, m->mtime_ns);
    bind_text_or_null(st, 4, m->hash);
    bind_text_or_null(st, 5, m->format);
    bind_int_or_null(st, 6, m->width);
    bind_int_or_null(st, 7, m->height);
    bind_int_or_null(st, 8, m->orientation);
    bind_text_or_null(st, 9, m->taken);
    bind_text_or_null(st, 10, m->camera);
    if (m->error)
        sqlite3_bind_text(st, 11, m->error, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 11);
    sqlite3_bind_int64(st, 12, (int64_t)time(NULL));
    if ((r = step_done(s, st, "writing a file entry", err)) != CLIPSEARCH_OK)
        return r;
    if (!(st = get_stmt(s, ST_FILE_ID, err)))
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_text(st, 1, m->path, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        r = cs_store_error(s, err, "reading a file entry");
        sqlite3_reset(st);
        return r;
    }
    *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return CLIPSEARCH_OK;
}

clipsearch_status cs_store_file_move(cs_store *s, int64_t id, const char *new_path,
                                     int64_t size, int64_t mtime_ns, clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_FILE_MOVE, err);
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, new_path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, size);
    sqlite3_bind_int64(st, 4, mtime_ns);
    return step_done(s, st, "moving a file entry", err);
}

static clipsearch_status exec_ids(cs_store *s, int which, int64_t a, int64_t b, int64_t c,
                                  int nargs, const char *what, clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, which, err);
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_int64(st, 1, a);
    if (nargs > 1)
        sqlite3_bind_int64(st, 2, b);
    if (nargs > 2)
        sqlite3_bind_int64(st, 3, c);
    return step_done(s, st, what, err);
}

clipsearch_status cs_store_file_delete(cs_store *s, int64_t id, clipsearch_error *err)
{
    return exec_ids(s, ST_FILE_DELETE, id, 0, 0, 1, "removing a file entry", err);
}

clipsearch_status cs_store_file_copy_meta(cs_store *s, int64_t from, int64_t to,
                                          clipsearch_error *err)
{
    return exec_ids(s, ST_FILE_COPY_META, from, to, 0, 2, "copying file metadata", err);
}

clipsearch_status cs_store_file_with_hash(cs_store *s, const char *hash, int64_t model_id,
                                          int64_t except, int64_t *id,
                                          clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_FILE_WITH_HASH, err);
    clipsearch_status r = CLIPSEARCH_OK;
    int rc;
    *id = 0;
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, model_id);
    sqlite3_bind_int64(st, 3, except);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        r = cs_store_error(s, err, "looking up a hash");
    sqlite3_reset(st);
    return r;
}

/* ---- embeddings ---- */

clipsearch_status cs_store_embedding_put(cs_store *s, int64_t file_id, int64_t model_id,
                                         const float *vec, int dim, clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_EMB_PUT, err);
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_int64(st, 1, file_id);
    sqlite3_bind_int64(st, 2, model_id);
    sqlite3_bind_blob(st, 3, vec, dim * (int)sizeof(float), SQLITE_TRANSIENT);
    return step_done(s, st, "writing an embedding", err);
}

clipsearch_status cs_store_embedding_copy(cs_store *s, int64_t from_file, int64_t to_file,
                                          int64_t model_id, clipsearch_error *err)
{
    return exec_ids(s, ST_EMB_COPY, from_file, to_file, model_id, 3, "copying an embedding",
                    err);
}

clipsearch_status cs_store_embedding_delete(cs_store *s, int64_t file_id, int64_t model_id,
                                            clipsearch_error *err)
{
    return exec_ids(s, ST_EMB_DELETE, file_id, model_id, 0, 2, "removing an embedding", err);
}

clipsearch_status cs_store_embedding_get(cs_store *s, int64_t file_id, int64_t model_id,
                                         float *vec, int dim, clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_EMB_GET, err);
    clipsearch_status r = CLIPSEARCH_OK;
    int rc;
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_int64(st, 1, file_id);
    sqlite3_bind_int64(st, 2, model_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != dim * (int)sizeof(float))
            r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                             "%s: embedding of file %lld has %d bytes, expected %d", s->path,
                             (long long)file_id, sqlite3_column_bytes(st, 0),
                             dim * (int)sizeof(float));
        else
            memcpy(vec, sqlite3_column_blob(st, 0), (size_t)dim * sizeof(float));
    } else if (rc == SQLITE_DONE) {
        r = cs_error_set(err, CLIPSEARCH_ERR_NOT_FOUND,
                         "%s: file %lld has no embedding for this model", s->path,
                         (long long)file_id);
    } else {
        r = cs_store_error(s, err, "reading an embedding");
    }
    sqlite3_reset(st);
    return r;
}

clipsearch_status cs_store_embeddings_all(cs_store *s, int64_t model_id, int dim,
                                          int64_t **ids, float **vecs, size_t *n,
                                          clipsearch_error *err)
{
    sqlite3_stmt *st = get_stmt(s, ST_EMB_ALL, err);
    int64_t *iv = NULL;
    float *vv = NULL;
    size_t len = 0, cap = 0;
    clipsearch_status r = CLIPSEARCH_OK;
    int rc;
    *ids = NULL;
    *vecs = NULL;
    *n = 0;
    if (!st)
        return err ? err->status : CLIPSEARCH_ERR_DATABASE;
    sqlite3_bind_int64(st, 1, model_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != dim * (int)sizeof(float)) {
            r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                             "%s: embedding of file %lld has %d bytes, expected %d", s->path,
                             (long long)sqlite3_column_int64(st, 0),
                             sqlite3_column_bytes(st, 1), dim * (int)sizeof(float));
            goto out;
        }
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            int64_t *ni = realloc(iv, nc * sizeof *ni);
            float *nf;
            if (!ni) {
                r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
                goto out;
            }
            iv = ni;
            nf = realloc(vv, nc * (size_t)dim * sizeof *nf);
            if (!nf) {
                r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
                goto out;
            }
            vv = nf;
            cap = nc;
        }
        iv[len] = sqlite3_column_int64(st, 0);
        memcpy(vv + len * (size_t)dim, sqlite3_column_blob(st, 1), (size_t)dim * sizeof(float));
        len++;
    }
    if (rc != SQLITE_DONE)
        r = cs_store_error(s, err, "reading embeddings");
out:
    sqlite3_reset(st);
    if (r != CLIPSEARCH_OK) {
        free(iv);
        free(vv);
        return r;
    }
    *ids = iv;
    *vecs = vv;
    *n = len;
    return CLIPSEARCH_OK;
}
