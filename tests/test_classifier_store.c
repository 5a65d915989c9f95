/* test_classifier_store.c — classifiers in a library (clipsearch/probe.h):
 * round trip of weights and metadata, the training set, listing, duplicate
 * names and --force replacement, deletion, read-only handles, bad names, and
 * damaged rows refused with ERR_FORMAT. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "clipsearch/probe.h"
#include "library_internal.h"
#include "store.h"
#include "testutil.h"

#define DIM 8

typedef struct collected {
    int n, n_pos, null_ids;
    char first[256];
} collected;

static int collect(int64_t file_id, const char *path, int label, void *user)
{
    collected *c = user;
    if (c->n == 0)
        snprintf(c->first, sizeof c->first, "%s", path);
    c->n++;
    c->n_pos += label;
    c->null_ids += file_id == 0;
    return 0;
}

static clipsearch_probe *make_probe(double seed)
{
    clipsearch_probe *p = calloc(1, sizeof *p);
    p->dim = DIM;
    p->weights = malloc(DIM * sizeof *p->weights);
    for (int j = 0; j < DIM; j++)
        p->weights[j] = seed * (j + 1) / 3.0; /* not representable in float */
    p->bias = -seed / 7.0;
    p->C = 3.1622776601683795;
    p->cv_folds = 5;
    p->cv_accuracy = 0.875;
    p->cv_log_loss = 0.3;
    p->n_positive = 2;
    p->n_negative = 1;
    return p;
}

int main(void)
{
    char dir[700];
    clipsearch_library *lib = NULL, *ro = NULL;
    clipsearch_library_params rp = clipsearch_library_default_params();
    clipsearch_library_model model;
    cs_model_row row;
    clipsearch_error err = {0};
    clipsearch_probe *p = make_probe(1.0), *q = NULL, *p2 = make_probe(2.0);
    clipsearch_classifier_info info, *infos = NULL;
    clipsearch_classifier_example ex[3] = {
        {0, "/photos/b.jpg", 1}, {0, "/photos/a.jpg", 1}, {0, "/photos/c.jpg", 0}};
    collected col = {0};
    int n = 0;
    int64_t fid = 0;
    cs_file_meta fm = {0};

    snprintf(dir, sizeof dir, "%s/lib", tu_tmpdir());
    CHECK(clipsearch_library_open(dir, NULL, &lib, &err) == CLIPSEARCH_OK, "%s", err.message);
    if (!lib)
        return tu_finish("test_classifier_store");
    CHECK(cs_store_model_get_or_add(cs_library_store(lib), "tiny", DIM, "0123456789abcdef", NULL,
                                    &row, &err) == CLIPSEARCH_OK,
          "%s", err.message);
    fm.path = "/photos/a.jpg";
    fm.size = 1;
    CHECK(cs_store_file_put(cs_library_store(lib), &fm, &fid, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    ex[1].file_id = fid;
    memset(&model, 0, sizeof model);
    model.id = row.id;
    model.dim = DIM;
    snprintf(model.name, sizeof model.name, "tiny");

    /* round trip */
    CHECK(clipsearch_classifier_save(lib, &model, "dogs", p, "a dog", 100.0, 1, ex, 3, 0,
                                     &err) == CLIPSEARCH_OK,
          "%s", err.message);
    CHECK(clipsearch_classifier_load(lib, "dogs", &q, &info, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    if (q) {
        CHECK(!memcmp(q->weights, p->weights, DIM * sizeof *p->weights) && q->bias == p->bias &&
                  q->C == p->C,
              "weights, bias and C exact");
        CHECK(q->cv_folds == 5 && q->cv_accuracy == 0.875 && q->n_positive == 2 &&
                  q->n_negative == 1,
              "metadata");
    }
    CHECK(!strcmp(info.name, "dogs") && info.model_id == row.id &&
              !strcmp(info.model_name, "tiny") && !strcmp(info.prior_text, "a dog") &&
              info.prior_scale == 100.0 && info.random_negatives == 1 && info.dim == DIM &&
              info.created_at > 0,
          "info");
    clipsearch_probe_free(q);
    q = NULL;
    CHECK(clipsearch_classifier_examples(lib, "dogs", collect, &col, &err) == CLIPSEARCH_OK,
          "%s", err.message);
    CHECK(col.n == 3 && col.n_pos == 2 && col.null_ids == 2 && !strcmp(col.first, "/photos/a.jpg"),
          "examples: %d, %d positive, %d without a file id, first %s", col.n, col.n_pos,
          col.null_ids, col.first);

    /* duplicate name: refused, nothing changed; replace: new weights */
    CHECK(clipsearch_classifier_save(lib, &model, "dogs", p2, NULL, 0, 0, ex, 3, 0, &err) ==
                  CLIPSEARCH_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "exists already"),
          "duplicate: %s", err.message);
    CHECK(clipsearch_classifier_load(lib, "dogs", &q, NULL, &err) == CLIPSEARCH_OK && q &&
              q->weights[0] == p->weights[0],
          "unchanged after the refused duplicate");
    clipsearch_probe_free(q);
    q = NULL;
    /* a duplicate example path aborts the whole save */
    {
        clipsearch_classifier_example dup[2] = {{0, "/x.jpg", 1}, {0, "/x.jpg", 0}};
        CHECK(clipsearch_classifier_save(lib, &model, "cats", p2, NULL, 0, 0, dup, 2, 0, &err) !=
                  CLIPSEARCH_OK,
              "duplicate example path");
        CHECK(clipsearch_classifier_load(lib, "cats", NULL, NULL, &err) ==
                  CLIPSEARCH_ERR_NOT_FOUND,
              "nothing stored after a failed save");
    }
    CHECK(clipsearch_classifier_save(lib, &model, "dogs", p2, NULL, 0, 0, ex, 2, 1, &err) ==
              CLIPSEARCH_OK,
          "%s", err.message);
    CHECK(clipsearch_classifier_load(lib, "dogs", &q, &info, &err) == CLIPSEARCH_OK && q &&
              q->weights[0] == p2->weights[0] && info.prior_text[0] == '\0',
          "replaced");
    clipsearch_probe_free(q);
    q = NULL;
    col = (collected){0};
    clipsearch_classifier_examples(lib, "dogs", collect, &col, &err);
    CHECK(col.n == 2, "replaced training set: %d rows", col.n);
    CHECK(clipsearch_classifier_save(lib, &model, "birds", p, NULL, 0, 0, NULL, 0, 0, &err) ==
              CLIPSEARCH_OK,
          "%s", err.message);

    /* bad names */
    CHECK(clipsearch_classifier_save(lib, &model, "", p, NULL, 0, 0, NULL, 0, 0, &err) ==
              CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "empty name");
    CHECK(clipsearch_classifier_save(lib, &model, "a\nb", p, NULL, 0, 0, NULL, 0, 0, &err) ==
              CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "control character");
    {
        char longname[200];
        memset(longname, 'x', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        CHECK(clipsearch_classifier_save(lib, &model, longname, p, NULL, 0, 0, NULL, 0, 0,
                                         &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
              "long name");
    }
    {
        clipsearch_library_model other = model;
        other.dim = DIM + 1;
        CHECK(clipsearch_classifier_save(lib, &other, "wrongdim", p, NULL, 0, 0, NULL, 0, 0,
                                         &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
              "dimension mismatch");
    }

    /* list */
    CHECK(clipsearch_classifier_list(lib, &infos, &n, &err) == CLIPSEARCH_OK && n == 2 &&
              !strcmp(infos[0].name, "birds") && !strcmp(infos[1].name, "dogs"),
          "list: %d", n);
    clipsearch_free(infos);
    infos = NULL;

    /* read-only handle: reads, never writes */
    rp.read_only = 1;
    CHECK(clipsearch_library_open(dir, &rp, &ro, &err) == CLIPSEARCH_OK, "%s", err.message);
    if (ro) {
        CHECK(clipsearch_classifier_load(ro, "dogs", NULL, &info, &err) == CLIPSEARCH_OK,
              "read-only load");
        CHECK(clipsearch_classifier_save(ro, &model, "x", p, NULL, 0, 0, NULL, 0, 0, &err) !=
                  CLIPSEARCH_OK,
              "read-only save refused");
        CHECK(clipsearch_classifier_delete(ro, "dogs", &err) != CLIPSEARCH_OK,
              "read-only delete refused");
        clipsearch_library_close(ro);
    }

    /* unknown names */
    CHECK(clipsearch_classifier_load(lib, "nope", NULL, NULL, &err) == CLIPSEARCH_ERR_NOT_FOUND &&
              strstr(err.message, "birds, dogs"),
          "unknown: %s", err.message);
    CHECK(clipsearch_classifier_delete(lib, "nope", &err) == CLIPSEARCH_ERR_NOT_FOUND,
          "delete unknown");

    /* damaged rows */
    {
        sqlite3 *db = cs_store_db(cs_library_store(lib));
        CHECK(sqlite3_exec(db, "UPDATE classifiers SET weights = x'0102' WHERE name = 'birds'",
                           NULL, NULL, NULL) == SQLITE_OK,
              "damage");
        CHECK(clipsearch_classifier_load(lib, "birds", &q, NULL, &err) == CLIPSEARCH_ERR_FORMAT &&
                  !q && strstr(err.message, "damaged"),
              "short weights: %s", err.message);
        CHECK(sqlite3_exec(db, "UPDATE classifiers SET dim = 0 WHERE name = 'birds'", NULL,
                           NULL, NULL) == SQLITE_OK,
              "damage");
        CHECK(clipsearch_classifier_load(lib, "birds", &q, NULL, &err) == CLIPSEARCH_ERR_FORMAT,
              "dim 0");
        {
            double bad[DIM];
            sqlite3_stmt *st = NULL;
            for (int j = 0; j < DIM; j++)
                bad[j] = j == 3 ? NAN : 1.0;
            sqlite3_prepare_v2(db, "UPDATE classifiers SET dim = ?1, weights = ?2 WHERE name = 'birds'",
                               -1, &st, NULL);
            sqlite3_bind_int(st, 1, DIM);
            sqlite3_bind_blob(st, 2, bad, sizeof bad, SQLITE_TRANSIENT);
            CHECK(sqlite3_step(st) == SQLITE_DONE, "damage");
            sqlite3_finalize(st);
            CHECK(clipsearch_classifier_load(lib, "birds", &q, NULL, &err) ==
                      CLIPSEARCH_ERR_FORMAT && !q,
                  "NaN weight: %s", err.message);
        }
    }

    /* delete: the training set goes with it */
    CHECK(clipsearch_classifier_delete(lib, "dogs", &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(clipsearch_classifier_load(lib, "dogs", NULL, NULL, &err) == CLIPSEARCH_ERR_NOT_FOUND,
          "deleted");
    {
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(cs_store_db(cs_library_store(lib)),
                           "SELECT count(*) FROM classifier_examples", -1, &st, NULL);
        CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0,
              "training set rows left: %d", sqlite3_column_int(st, 0));
        sqlite3_finalize(st);
    }
    clipsearch_probe_free(p);
    clipsearch_probe_free(p2);
    clipsearch_library_close(lib);
    return tu_finish("test_classifier_store");
}
