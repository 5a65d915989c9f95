/* duplicates.c — identical and near-duplicate photos (see
 * clipsearch/duplicates.h): content hashes, then FAISS range search over an
 * in-memory IndexFlatIP of the stored embeddings (independent of the
 * library's own vector index, whose type may be approximate), then
 * connected components by union-find. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>

#include "clipsearch/duplicates.h"
#include "error.h"

/* Queries per range search: bounds the result buffers FAISS allocates. */
#define CS_DUP_BLOCK 2048

clipsearch_duplicates_params clipsearch_duplicates_default_params(void)
{
    clipsearch_duplicates_params p;
    p.threshold = CLIPSEARCH_DUPLICATES_DEFAULT_THRESHOLD;
    p.under = NULL;
    p.exact_only = 0;
    return p;
}

static int64_t find(int64_t *parent, int64_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* The smaller index becomes the root, so a label is its group's first index. */
static void join(int64_t *parent, int64_t a, int64_t b)
{
    a = find(parent, a);
    b = find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

static clipsearch_status faiss_fail(clipsearch_error *err, const char *what)
{
    const char *m = faiss_get_last_error();
    return cs_error_set(err, CLIPSEARCH_ERR_INDEX, "%s: %s", what, m ? m : "FAISS error");
}

/* Range search of every vector against all, joining pairs >= threshold. */
static clipsearch_status join_similar(const float *vectors, int64_t n, int dim, float threshold,
                                      int64_t *parent, int64_t *pairs, clipsearch_error *err)
{
    FaissIndexFlatIP *index = NULL;
    FaissRangeSearchResult *res = NULL;
    clipsearch_status st = CLIPSEARCH_OK;
    int64_t found = 0;
    /* FAISS keeps inner products strictly above the radius. */
    const float radius = nextafterf(threshold, -1.0f);

    if (faiss_IndexFlatIP_new_with(&index, dim) != 0)
        return faiss_fail(err, "duplicates: creating the index");
    if (faiss_Index_add((FaissIndex *)index, n, vectors) != 0) {
        st = faiss_fail(err, "duplicates: adding the embeddings");
        goto out;
    }
    for (int64_t q0 = 0; q0 < n; q0 += CS_DUP_BLOCK) {
        int64_t nq = n - q0 < CS_DUP_BLOCK ? n - q0 : CS_DUP_BLOCK;
        size_t *lims = NULL;
        idx_t *labels = NULL;
        float *dist = NULL;
        if (faiss_RangeSearchResult_new(&res, nq) != 0 ||
            faiss_Index_range_search((FaissIndex *)index, nq, vectors + (size_t)q0 * dim, radius,
                                     res) != 0) {
            st = faiss_fail(err, "duplicates: range search");
            goto out;
        }
        faiss_RangeSearchResult_lims(res, &lims);
        faiss_RangeSearchResult_labels(res, &labels, &dist);
        for (int64_t q = 0; q < nq; q++)
            for (size_t k = lims[q]; k < lims[q + 1]; k++) {
                int64_t j = labels[k];
                if (j > q0 + q && j < n) {
                    join(parent, q0 + q, j);
                    found++;
                }
            }
        faiss_RangeSearchResult_free(res);
        res = NULL;
    }
    if (pairs)
        *pairs = found;
out:
    if (res)
        faiss_RangeSearchResult_free(res);
    faiss_Index_free((FaissIndex *)index);
    return st;
}

clipsearch_status clipsearch_group_similar(const float *vectors, int64_t n, int dim,
                                           float threshold, int64_t *labels, int64_t *pairs,
                                           clipsearch_error *err)
{
    clipsearch_status st;
    if ((!vectors && n > 0) || (!labels && n > 0) || n < 0 || dim <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "clipsearch_group_similar: bad argument");
    if (!(threshold > 0.0f && threshold <= 1.0f))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "similarity threshold %g is not in (0, 1]", (double)threshold);
    if (pairs)
        *pairs = 0;
    for (int64_t i = 0; i < n; i++)
        labels[i] = i;
    if (n < 2)
        return CLIPSEARCH_OK;
    st = join_similar(vectors, n, dim, threshold, labels, pairs, err);
    for (int64_t i = 0; i < n; i++)
        labels[i] = find(labels, i);
    return st;
}

void clipsearch_duplicates_free(clipsearch_duplicates *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_groups; i++)
        free(d->groups[i].photos);
    free(d->groups);
    free(d);
}

/* Best photo first: most pixels, largest file, oldest, path. */
static int better(const clipsearch_library_file *a, const clipsearch_library_file *b)
{
    int64_t pa = (int64_t)a->width * a->height, pb = (int64_t)b->width * b->height;
    int c;
    if (pa != pb)
        return pa > pb ? -1 : 1;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->taken[0] && b->taken[0] && (c = strcmp(a->taken, b->taken)) != 0)
        return c;
    if (a->mtime_ns != b->mtime_ns)
        return a->mtime_ns < b->mtime_ns ? -1 : 1;
    return strcmp(a->path, b->path);
}

static int cmp_order(const void *pa, const void *pb, void *photos)
{
    const clipsearch_duplicate_photo *ph = photos;
    return better(&ph[*(const size_t *)pa].file, &ph[*(const size_t *)pb].file);
}

static int cmp_group(const void *pa, const void *pb)
{
    const clipsearch_duplicate_group *a = pa, *b = pb;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    return better(&a->photos[0].file, &b->photos[0].file);
}

/* What the grouping needs of each photo (the full record is 4 KB). */
typedef struct cs_dup_rec {
    int64_t id;
    char hash[CLIPSEARCH_FINGERPRINT_SIZE];
} cs_dup_rec;

typedef struct by_hash {
    const char *hash;
    int64_t index;
} by_hash;

static int cmp_hash(const void *pa, const void *pb)
{
    const by_hash *a = pa, *b = pb;
    int c = strcmp(a->hash, b->hash);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

static int under_folder(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

clipsearch_status clipsearch_library_find_duplicates(clipsearch_library *lib,
                                                     const clipsearch_library_model *model,
                                                     const clipsearch_duplicates_params *params,
                                                     clipsearch_duplicates **out,
                                                     clipsearch_error *err)
{
    clipsearch_duplicates_params p = params ? *params : clipsearch_duplicates_default_params();
    clipsearch_duplicates *d = NULL;
    cs_dup_rec *files = NULL;
    clipsearch_library_file *rec = NULL;
    int64_t *ids = NULL, *parent = NULL, *count = NULL, total = 0, n = 0;
    float *vecs = NULL;
    by_hash *hashes = NULL;
    int64_t **gr_index = NULL; /* per group: each photo's row in vecs */
    size_t n_index = 0;
    clipsearch_status st;
    const int dim = model ? model->dim : 0;

    if (!lib || !model || !out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "clipsearch_library_find_duplicates: NULL argument");
    *out = NULL;
    if (p.threshold <= 0.0f)
        p.threshold = CLIPSEARCH_DUPLICATES_DEFAULT_THRESHOLD;
    if (!(p.threshold <= 1.0f))
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "similarity threshold %g is not in (0, 1]", (double)p.threshold);
    st = clipsearch_library_get_embeddings(lib, model, &ids, &vecs, &total, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    files = calloc(total ? (size_t)total : 1, sizeof *files);
    rec = malloc(sizeof *rec);
    d = calloc(1, sizeof *d);
    if (!files || !rec || !d) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    /* The photos considered, compacted in place (records and vectors). */
    for (int64_t i = 0; i < total; i++) {
        clipsearch_error e2;
        if (clipsearch_library_get_file(lib, ids[i], rec, &e2) != CLIPSEARCH_OK)
            continue; /* removed meanwhile */
        if (rec->failed || (p.under && p.under[0] && !under_folder(rec->path, p.under)))
            continue;
        files[n].id = ids[i];
        memcpy(files[n].hash, rec->hash, sizeof files[n].hash);
        if (n != i)
            memmove(vecs + (size_t)n * dim, vecs + (size_t)i * dim, sizeof *vecs * (size_t)dim);
        n++;
    }
    d->photos_compared = n;
    parent = malloc(sizeof *parent * (size_t)(n ? n : 1));
    count = calloc((size_t)(n ? n : 1), sizeof *count);
    hashes = malloc(sizeof *hashes * (size_t)(n ? n : 1));
    if (!parent || !count || !hashes) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    for (int64_t i = 0; i < n; i++)
        parent[i] = i;
    /* Identical content. */
    {
        int64_t h = 0;
        for (int64_t i = 0; i < n; i++)
            if (files[i].hash[0])
                hashes[h].hash = files[i].hash, hashes[h++].index = i;
        qsort(hashes, (size_t)h, sizeof *hashes, cmp_hash);
        for (int64_t i = 1; i < h; i++)
            if (!strcmp(hashes[i].hash, hashes[i - 1].hash))
                join(parent, hashes[i - 1].index, hashes[i].index);
    }
    if (!p.exact_only && n > 1) {
        st = join_similar(vecs, n, dim, p.threshold, parent, NULL, err);
        if (st != CLIPSEARCH_OK)
            goto out;
    }
    for (int64_t i = 0; i < n; i++)
        count[find(parent, i)]++;
    for (int64_t i = 0; i < n; i++)
        if (find(parent, i) == i && count[i] >= 2)
            d->n_groups++;
    d->groups = calloc(d->n_groups ? d->n_groups : 1, sizeof *d->groups);
    gr_index = calloc(d->n_groups ? d->n_groups : 1, sizeof *gr_index);
    if (!d->groups || !gr_index) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    n_index = d->n_groups;
    {
        /* count[root] becomes its group's slot + 1 (0: not a group). */
        size_t g = 0;
        for (int64_t i = 0; i < n; i++) {
            if (find(parent, i) != i)
                continue;
            if (count[i] < 2) {
                count[i] = 0;
                continue;
            }
            d->groups[g].photos = calloc((size_t)count[i], sizeof *d->groups[g].photos);
            gr_index[g] = malloc(sizeof **gr_index * (size_t)count[i]);
            if (!d->groups[g].photos || !gr_index[g]) {
                st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
                goto out;
            }
            count[i] = (int64_t)++g;
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t r = find(parent, i);
            clipsearch_duplicate_group *gr;
            clipsearch_duplicate_photo *ph;
            if (count[r] == 0)
                continue;
            gr = &d->groups[count[r] - 1];
            ph = &gr->photos[gr->n];
            st = clipsearch_library_get_file(lib, files[i].id, &ph->file, err);
            if (st != CLIPSEARCH_OK)
                goto out;
            gr->n++;
            gr_index[count[r] - 1][gr->n - 1] = i;
            gr->bytes += ph->file.size;
        }
    }
    for (size_t g = 0; g < d->n_groups; g++) {
        clipsearch_duplicate_group *gr = &d->groups[g];
        size_t *order = malloc(sizeof *order * gr->n);
        clipsearch_duplicate_photo *sorted = malloc(sizeof *sorted * gr->n);
        const float *best;
        if (!order || !sorted) {
            free(order);
            free(sorted);
            st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < gr->n; k++)
            order[k] = k;
        qsort_r(order, gr->n, sizeof *order, cmp_order, gr->photos);
        for (size_t k = 0; k < gr->n; k++)
            sorted[k] = gr->photos[order[k]];
        best = vecs + (size_t)gr_index[g][order[0]] * dim;
        for (size_t k = 0; k < gr->n; k++) {
            const float *b = vecs + (size_t)gr_index[g][order[k]] * dim;
            double dot = 0;
            for (int j = 0; j < dim; j++)
                dot += (double)best[j] * b[j];
            sorted[k].similarity = k == 0 ? 1.0f : (float)dot;
            sorted[k].identical = sorted[k].file.hash[0] &&
                                  !strcmp(sorted[k].file.hash, sorted[0].file.hash);
        }
        memcpy(gr->photos, sorted, sizeof *sorted * gr->n);
        free(order);
        free(sorted);
    }
    qsort(d->groups, d->n_groups, sizeof *d->groups, cmp_group);
    *out = d;
    d = NULL;
out:
    for (size_t g = 0; g < n_index; g++)
        free(gr_index[g]);
    free(gr_index);
    clipsearch_duplicates_free(d);
    clipsearch_free(ids);
    clipsearch_free(vecs);
    free(files);
    free(rec);
    free(parent);
    free(count);
    free(hashes);
    return st;
}
