/* export.c — clipsearch_library_export (clipsearch/library.h): the
 * library's embeddings and metadata as NumPy .npy + JSON lines (the
 * clip-retrieval / autofaiss layout) or as one JSON-lines file. */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipsearch/library.h"
#include "error.h"
#include "library_internal.h"
#include "store.h"

/* A file written under "<path>.tmp" and renamed when complete. */
typedef struct out_file {
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    FILE *f;
} out_file;

/* mkdir -p */
static int make_dirs(const char *path)
{
    char p[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof p)
        return -1;
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++)
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -1;
            p[i] = c;
        }
    return 0;
}

static clipsearch_status out_open(out_file *o, const char *dir, const char *sub,
                                  const char *name, clipsearch_error *err)
{
    char folder[PATH_MAX];
    memset(o, 0, sizeof *o);
    if (snprintf(folder, sizeof folder, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "") >=
            (int)sizeof folder ||
        snprintf(o->path, sizeof o->path, "%s/%s", folder, name) >= (int)sizeof o->path)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "%s: path too long", dir);
    if (make_dirs(folder) != 0)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot create folder: %s", folder,
                            strerror(errno));
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", o->path);
    if (!(o->f = fopen(o->tmp, "wbe")))
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot create: %s", o->tmp,
                            strerror(errno));
    return CLIPSEARCH_OK;
}

/* Closes, and renames into place when ok; removes the temporary file
 * otherwise. */
static clipsearch_status out_close(out_file *o, int ok, clipsearch_error *err)
{
    clipsearch_status r = CLIPSEARCH_OK;
    if (!o->f)
        return CLIPSEARCH_OK;
    if (ferror(o->f) || fflush(o->f) != 0 || fsync(fileno(o->f)) != 0) {
        if (ok)
            r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: write error: %s", o->tmp,
                             strerror(errno));
        ok = 0;
    }
    if (fclose(o->f) != 0 && ok) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: write error: %s", o->tmp, strerror(errno));
        ok = 0;
    }
    o->f = NULL;
    if (ok && rename(o->tmp, o->path) != 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot rename: %s", o->tmp,
                         strerror(errno));
        ok = 0;
    }
    if (!ok)
        unlink(o->tmp);
    return r;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void meta_fields(FILE *f, sqlite3_stmt *st)
{
    const char *taken = (const char *)sqlite3_column_text(st, 4);
    fprintf(f, "{\"id\":%lld,\"path\":", (long long)sqlite3_column_int64(st, 0));
    json_str(f, (const char *)sqlite3_column_text(st, 1));
    fprintf(f, ",\"width\":%d,\"height\":%d,\"taken\":", sqlite3_column_int(st, 2),
            sqlite3_column_int(st, 3));
    if (taken)
        json_str(f, taken);
    else
        fputs("null", f);
}

/* NumPy format 1.0: magic, version, header length, a Python dict literal
 * padded with spaces to a multiple of 64 bytes, ending in a newline. */
static void npy_header(FILE *f, int64_t n, int dim)
{
    char dict[128];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %d), }",
                       (long long)n, dim);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(dict, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
}

clipsearch_status clipsearch_library_export(clipsearch_library *lib,
                                            const clipsearch_library_model *model,
                                            clipsearch_export_format format, const char *dir,
                                            int64_t *n_out, clipsearch_error *err)
{
    cs_store *store = cs_library_store(lib);
    sqlite3_stmt *st = NULL;
    out_file a, b;
    int64_t n = 0, rows = 0;
    clipsearch_status r;
    int rc, ok = 0;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (n_out)
        *n_out = 0;
    if (!lib || !model || !dir || !*dir ||
        (format != CLIPSEARCH_EXPORT_NPY && format != CLIPSEARCH_EXPORT_JSONL))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "bad arguments to export");
    if ((r = cs_store_begin_read(store, err)) != CLIPSEARCH_OK)
        return r;
    if (sqlite3_prepare_v2(cs_store_db(store),
                           "SELECT count(*) FROM embeddings WHERE model_id = ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        r = cs_store_error(store, err, "counting embeddings");
        goto out;
    }
    sqlite3_bind_int64(st, 1, model->id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        r = cs_store_error(store, err, "counting embeddings");
        goto out;
    }
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (format == CLIPSEARCH_EXPORT_NPY) {
        if ((r = out_open(&a, dir, "img_emb", "img_emb_0.npy", err)) != CLIPSEARCH_OK ||
            (r = out_open(&b, dir, "metadata", "metadata_0.jsonl", err)) != CLIPSEARCH_OK)
            goto out;
        npy_header(a.f, n, model->dim);
    } else if ((r = out_open(&a, dir, NULL, "embeddings.jsonl", err)) != CLIPSEARCH_OK) {
        goto out;
    }
    if (sqlite3_prepare_v2(cs_store_db(store),
                           "SELECT f.id, f.path, f.width, f.height, f.taken, e.vector"
                           " FROM embeddings e JOIN files f ON f.id = e.file_id"
                           " WHERE e.model_id = ?1 ORDER BY e.file_id",
                           -1, &st, NULL) != SQLITE_OK) {
        r = cs_store_error(store, err, "reading embeddings");
        goto out;
    }
    sqlite3_bind_int64(st, 1, model->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const float *v = sqlite3_column_blob(st, 5);
        if (sqlite3_column_bytes(st, 5) != model->dim * (int)sizeof(float) || !v) {
            r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                             "%s: embedding of file %lld has %d bytes, expected %d",
                             cs_store_path(store), (long long)sqlite3_column_int64(st, 0),
                             sqlite3_column_bytes(st, 5), model->dim * (int)sizeof(float));
            goto out;
        }
        if (format == CLIPSEARCH_EXPORT_NPY) {
            /* Stored little endian, as the header says (x86, ARM). */
            fwrite(v, sizeof *v, (size_t)model->dim, a.f);
            meta_fields(b.f, st);
            fputs("}\n", b.f);
        } else {
            meta_fields(a.f, st);
            fputs(",\"embedding\":[", a.f);
            for (int j = 0; j < model->dim; j++)
                fprintf(a.f, j ? ",%.9g" : "%.9g", (double)v[j]);
            fputs("]}\n", a.f);
        }
        rows++;
    }
    if (rc != SQLITE_DONE) {
        r = cs_store_error(store, err, "reading embeddings");
        goto out;
    }
    if (rows != n) { /* cannot happen within one snapshot */
        r = cs_error_set(err, CLIPSEARCH_ERR_DATABASE,
                         "%s: %lld embeddings without a file row", cs_store_path(store),
                         (long long)(n - rows));
        goto out;
    }
    ok = 1;
out:
    sqlite3_finalize(st);
    cs_store_rollback(store);
    {
        clipsearch_status r1 = out_close(&a, ok, err), r2 = out_close(&b, ok && !r1, err);
        if (ok && (r1 != CLIPSEARCH_OK || r2 != CLIPSEARCH_OK))
            r = r1 != CLIPSEARCH_OK ? r1 : r2;
    }
    if (r == CLIPSEARCH_OK && n_out)
        *n_out = rows;
    return r;
}
