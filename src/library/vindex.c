/* vindex.c — FAISS index wrapper (see vindex.h). */
#include "vindex.h"

#include <errno.h>
#include <fcntl.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/IndexScalarQuantizer_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/clone_index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <faiss/c_api/utils/distances_c.h>
#include <libgen.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "error.h"

#define HEADER_SIZE 160
static const char MAGIC[8] = {'C', 'S', 'V', 'I', 'D', 'X', '0', '1'};

/* FAISS 1.7.3's own IO_FLAG_MMAP (faiss/index_io.h: IO_FLAG_SKIP_IVF_DATA |
 * 0x646f0000): an IVF's inverted lists are then memory-mapped from the file
 * instead of copied.  The C API's FAISS_IO_FLAG_MMAP (1) is not that value
 * and does nothing; read_index passes io_flags through unchanged.  Other
 * index types ignore the flag (a flat index is always copied). */
#define FAISS_IO_FLAG_MMAP_REAL 0x646f0008

struct cs_vindex {
    FaissIndex *index;  /* an IndexIDMap owning the inner index, or a bare IVF */
    FaissIndexIVF *ivf; /* index itself when it is a bare IVF (ids in its lists) */
    int dim;
    int nprobe;         /* IVF lists a search scans by default; 0: all of them */
    char factory[64];
};

static clipsearch_status faiss_fail(clipsearch_error *err, const char *what)
{
    const char *m = faiss_get_last_error();
    return cs_error_set(err, CLIPSEARCH_ERR_INDEX, "%s: %s", what, m ? m : "FAISS error");
}

void cs_vindex_free(cs_vindex *v)
{
    if (!v)
        return;
    if (v->index)
        faiss_Index_free(v->index);
    free(v);
}

int64_t cs_vindex_count(const cs_vindex *v) { return v ? faiss_Index_ntotal(v->index) : 0; }
int cs_vindex_dim(const cs_vindex *v) { return v->dim; }
const char *cs_vindex_factory(const cs_vindex *v) { return v->factory; }
int cs_vindex_nprobe(const cs_vindex *v) { return v->ivf ? v->nprobe : 0; }
int cs_vindex_nlist(const cs_vindex *v)
{
    return v->ivf ? (int)faiss_IndexIVF_nlist(v->ivf) : 0;
}

int cs_vindex_scores_exact(const cs_vindex *v) { return strcmp(v->factory, "Flat") == 0; }

int cs_vindex_can_scan_exactly(const cs_vindex *v)
{
    size_t n = strlen(v->factory);
    if (cs_vindex_scores_exact(v))
        return 1;
    /* float32 or float16 codes in inverted lists: a scan of every list ranks
     * like float32 up to fp16 rounding (~1e-3), which re-ranking absorbs. */
    return v->ivf && ((n > 5 && !strcmp(v->factory + n - 5, ",Flat")) ||
                      (n > 7 && !strcmp(v->factory + n - 7, ",SQfp16")));
}

/* The power of two in [sqrt(n/2), sqrt(2n)), at least 64: about sqrt(n)
 * vectors a list. */
static int auto_nlist(int64_t n)
{
    int nlist = 64;
    while (nlist < 65536 && 2 * (int64_t)nlist * nlist < n)
        nlist *= 2;
    return nlist;
}

void cs_vindex_auto(int64_t n, char *factory, size_t size, int *nprobe)
{
    int nlist;
    if (n < CS_VINDEX_AUTO_FLAT_MAX) {
        snprintf(factory, size, "Flat");
        *nprobe = 0;
        return;
    }
    nlist = auto_nlist(n);
    snprintf(factory, size, "IVF%d,SQfp16", nlist);
    *nprobe = n < CS_VINDEX_AUTO_EXACT_MAX ? 0 : (nlist / 64 > 16 ? nlist / 64 : 16);
}

/* Search-time knobs of approximate indexes; harmless on others. */
static void tune(FaissIndex *index, const char *factory)
{
    FaissParameterSpace *ps = NULL;
    const char *params = NULL;
    if (strstr(factory, "IVF"))
        params = "nprobe=16";
    else if (strstr(factory, "HNSW"))
        params = "efSearch=64";
    if (!params || faiss_ParameterSpace_new(&ps) != 0)
        return;
    faiss_ParameterSpace_set_index_parameters(ps, index, params);
    faiss_ParameterSpace_free(ps);
}

/* Trains an untrained index on at most 64 vectors a list (k-means needs
 * ~40; more only costs time), taken at an even stride so that the same
 * library trains the same way every time. */
static int train(FaissIndex *index, const float *vecs, size_t n, int dim)
{
    size_t want = n;
    FaissIndexIVF *ivf = faiss_IndexIVF_cast(index);
    float *sample = NULL;
    int rc;
    if (ivf && n > 64 * faiss_IndexIVF_nlist(ivf))
        want = 64 * faiss_IndexIVF_nlist(ivf);
    if (want == n)
        return faiss_Index_train(index, (idx_t)n, vecs);
    if (!(sample = malloc(want * (size_t)dim * sizeof *sample)))
        return -1;
    for (size_t i = 0; i < want; i++)
        memcpy(sample + i * (size_t)dim, vecs + (i * n / want) * (size_t)dim,
               (size_t)dim * sizeof *sample);
    rc = faiss_Index_train(index, (idx_t)want, sample);
    free(sample);
    return rc;
}

/* A new IVF-SQfp16 on a copy of old's trained coarse quantizer: no k-means. */
static FaissIndex *reuse_quantizer(const cs_vindex *old, const char *factory, int dim)
{
    FaissIndex *q = NULL;
    FaissIndexIVFScalarQuantizer *ix = NULL;
    size_t n = strlen(factory);
    if (!old || !old->ivf || strcmp(old->factory, factory) != 0 || old->dim != dim ||
        n < 7 || strcmp(factory + n - 7, ",SQfp16") != 0)
        return NULL;
    if (faiss_clone_index(faiss_IndexIVF_quantizer(old->ivf), &q) != 0)
        return NULL;
    if (faiss_IndexIVFScalarQuantizer_new_with_metric(&ix, q, (size_t)dim,
                                                      faiss_IndexIVF_nlist(old->ivf), QT_fp16,
                                                      METRIC_INNER_PRODUCT, 1) != 0) {
        faiss_Index_free(q);
        return NULL;
    }
    faiss_IndexIVFScalarQuantizer_set_own_fields(ix, 1);
    return (FaissIndex *)ix;
}

static clipsearch_status try_build(const char *factory, int nprobe, int dim, const int64_t *ids,
                                   const float *vecs, size_t n, const cs_vindex *reuse,
                                   cs_vindex **out, clipsearch_error *err)
{
    FaissIndex *inner = NULL;
    FaissIndexIDMap *map = NULL;
    cs_vindex *v = NULL;
    clipsearch_status r = CLIPSEARCH_OK;
    char what[128];
    snprintf(what, sizeof what, "FAISS index \"%s\"", factory);
    inner = reuse_quantizer(reuse, factory, dim);
    if (!inner && faiss_index_factory(&inner, dim, factory, METRIC_INNER_PRODUCT) != 0)
        return faiss_fail(err, what);
    if (!faiss_Index_is_trained(inner)) {
        /* A reused quantizer needs no k-means: only the (empty) fp16 step. */
        size_t tn = faiss_IndexIVF_cast(inner) && faiss_Index_ntotal(faiss_IndexIVF_quantizer(
                                                     faiss_IndexIVF_cast(inner))) > 0 &&
                            n > 1000
                        ? 1000
                        : n;
        if (n == 0 || train(inner, vecs, tn, dim) != 0) {
            r = n == 0 ? cs_error_set(err, CLIPSEARCH_ERR_INDEX, "%s: nothing to train on", what)
                       : faiss_fail(err, what);
            faiss_Index_free(inner);
            return r;
        }
    }
    v = calloc(1, sizeof *v);
    if (!v) {
        faiss_Index_free(inner);
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if ((v->ivf = faiss_IndexIVF_cast(inner)) != NULL) {
        /* IVF keeps the ids in its lists: no id map, and the lists can be
         * memory-mapped when read back. */
        v->index = inner;
        v->nprobe = nprobe;
        /* Searches pass their own list choice (search_preassigned): this is
         * only the stride of those arrays. */
        faiss_IndexIVF_set_nprobe(v->ivf, faiss_IndexIVF_nlist(v->ivf));
    } else {
        if (faiss_IndexIDMap_new(&map, inner) != 0) {
            r = faiss_fail(err, what);
            faiss_Index_free(inner);
            free(v);
            return r;
        }
        faiss_IndexIDMap_set_own_fields(map, 1);
        v->index = (FaissIndex *)map;
    }
    v->dim = dim;
    snprintf(v->factory, sizeof v->factory, "%s", factory);
    if (n > 0 && faiss_Index_add_with_ids(v->index, (idx_t)n, vecs, ids) != 0) {
        r = faiss_fail(err, what);
        cs_vindex_free(v);
        return r;
    }
    if (!v->ivf)
        tune(v->index, factory);
    *out = v;
    return CLIPSEARCH_OK;
}

/* "IVF1024,PQ32" -> nprobe 16 for an IVF the user named (FAISS's usual
 * starting point); the automatic types carry their own. */
static int default_nprobe(const char *factory, int nprobe_auto)
{
    return nprobe_auto >= 0 ? nprobe_auto : strstr(factory, "IVF") ? 16 : 0;
}

clipsearch_status cs_vindex_build(const char *factory, int dim, const int64_t *ids,
                                  const float *vecs, size_t n, cs_vindex **out,
                                  clipsearch_error *err)
{
    return cs_vindex_build_reusing(factory, dim, ids, vecs, n, NULL, out, err);
}

clipsearch_status cs_vindex_build_reusing(const char *factory, int dim, const int64_t *ids,
                                          const float *vecs, size_t n, const cs_vindex *reuse,
                                          cs_vindex **out, clipsearch_error *err)
{
    clipsearch_error e2 = {0};
    clipsearch_status r;
    char chosen[64];
    int nprobe = -1;
    *out = NULL;
    if (dim <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "bad dimension %d", dim);
    if (!factory || !*factory)
        factory = "Flat";
    if (strlen(factory) >= 64)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "FAISS index type \"%.40s...\" is too long", factory);
    if (!strcmp(factory, CS_VINDEX_AUTO)) {
        cs_vindex_auto((int64_t)n, chosen, sizeof chosen, &nprobe);
        factory = chosen;
    }
    r = try_build(factory, default_nprobe(factory, nprobe), dim, ids, vecs, n, reuse, out, &e2);
    if (r == CLIPSEARCH_OK || strcmp(factory, "Flat") == 0) {
        if (r != CLIPSEARCH_OK && err)
            *err = e2;
        return r;
    }
    /* Training needs more vectors than a small library has: exact search is
     * fast there anyway.  A bad factory string with many vectors is still an
     * error. */
    if (n < 100000)
        return try_build("Flat", 0, dim, ids, vecs, n, NULL, out, err);
    if (err)
        *err = e2;
    return r;
}

/* One share of an IVF search: the lists assign[] names (the others -1). */
typedef struct ivf_share {
    const cs_vindex *v;
    const float *query;
    int k;
    idx_t *assign;    /* [nlist] */
    float *coarse;    /* [nlist] */
    float *scores;    /* [k] */
    idx_t *ids;       /* [k] */
    int rc;
} ivf_share;

static void *ivf_share_main(void *arg)
{
    ivf_share *s = arg;
    omp_set_num_threads(1); /* see cs_vindex_search_mode */
    s->rc = faiss_IndexIVF_search_preassigned(s->v->ivf, 1, s->query, s->k, s->assign,
                                              s->coarse, s->scores, s->ids, 0);
    return NULL;
}

typedef struct hit {
    float score;
    int64_t id;
} hit;

static int cmp_hit(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    return x->score > y->score ? -1 : x->score < y->score ? 1 : (x->id > y->id) - (x->id < y->id);
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* An IVF search over `lists` lists (nlist: all, an exact scan), split over
 * threads when it scans many vectors: one query is otherwise one thread in
 * FAISS, and a scan of every list is the whole library. */
static clipsearch_status ivf_search(const cs_vindex *v, const float *query, int k, int lists,
                                    float *scores, int64_t *ids, clipsearch_error *err)
{
    size_t nlist = faiss_IndexIVF_nlist(v->ivf);
    idx_t *assign = NULL;
    float *coarse = NULL;
    hit *hits = NULL;
    ivf_share *sh = NULL;
    pthread_t th[8];
    int started[8] = {0};
    int T = 1, m = 0;
    clipsearch_status r = CLIPSEARCH_OK;
    double scanned = (double)faiss_Index_ntotal(v->index) * lists / (double)nlist;
    if (scanned > 32768)
        T = online_cpus();
    if (T > lists)
        T = lists;
    assign = malloc((size_t)lists * sizeof *assign);
    coarse = malloc((size_t)lists * sizeof *coarse);
    sh = calloc((size_t)T, sizeof *sh);
    hits = malloc((size_t)T * (size_t)k * sizeof *hits);
    if (!assign || !coarse || !sh || !hits) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    /* The coarse step: the lists nearest the query, with q . centroid,
     * which IVF-SQ's residual codes need (the scan adds it back). */
    if (faiss_Index_search(faiss_IndexIVF_quantizer(v->ivf), 1, query, lists, coarse, assign) !=
        0) {
        r = faiss_fail(err, "FAISS search (coarse)");
        goto out;
    }
    for (int t = 0; t < T; t++) {
        sh[t].v = v;
        sh[t].query = query;
        sh[t].k = k;
        sh[t].assign = malloc(nlist * sizeof *sh[t].assign);
        sh[t].coarse = malloc(nlist * sizeof *sh[t].coarse);
        sh[t].scores = malloc((size_t)k * sizeof *sh[t].scores);
        sh[t].ids = malloc((size_t)k * sizeof *sh[t].ids);
        if (!sh[t].assign || !sh[t].coarse || !sh[t].scores || !sh[t].ids) {
            r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < nlist; i++)
            sh[t].assign[i] = -1, sh[t].coarse[i] = 0;
        for (int i = t, j = 0; i < lists; i += T, j++)
            sh[t].assign[j] = assign[i], sh[t].coarse[j] = coarse[i];
    }
    for (int t = 1; t < T; t++)
        started[t] = pthread_create(&th[t], NULL, ivf_share_main, &sh[t]) == 0;
    ivf_share_main(&sh[0]);
    for (int t = 1; t < T; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            ivf_share_main(&sh[t]);
    }
    for (int t = 0; t < T; t++)
        if (sh[t].rc != 0) {
            r = faiss_fail(err, "FAISS search");
            goto out;
        }
    /* Merge the shares' best k. */
    for (int t = 0; t < T; t++)
        for (int i = 0; i < k && sh[t].ids[i] >= 0; i++)
            hits[m].score = sh[t].scores[i], hits[m].id = sh[t].ids[i], m++;
    qsort(hits, (size_t)m, sizeof *hits, cmp_hit);
    for (int i = 0; i < k; i++) {
        scores[i] = i < m ? hits[i].score : -INFINITY;
        ids[i] = i < m ? hits[i].id : -1;
    }
out:
    if (sh)
        for (int t = 0; t < T; t++) {
            free(sh[t].assign);
            free(sh[t].coarse);
            free(sh[t].scores);
            free(sh[t].ids);
        }
    free(sh);
    free(assign);
    free(coarse);
    free(hits);
    return r;
}

clipsearch_status cs_vindex_search(const cs_vindex *v, const float *query, int k,
                                   float *scores, int64_t *ids, int *n_out,
                                   clipsearch_error *err)
{
    return cs_vindex_search_mode(v, query, k, 0, 0, scores, ids, n_out, err);
}

clipsearch_status cs_vindex_search_mode(const cs_vindex *v, const float *query, int k,
                                        int exact, int nprobe, float *scores, int64_t *ids,
                                        int *n_out, clipsearch_error *err)
{
    int found = 0, omp_threads;
    clipsearch_status r = CLIPSEARCH_OK;
    *n_out = 0;
    if (k <= 0)
        return CLIPSEARCH_OK;
    /* One query gains nothing from FAISS's OpenMP regions (they split over
     * queries), but each still forms a team and meets at a barrier: with
     * more runnable threads than cores, that costs a scheduler time slice
     * (measured: 10,000-vector flat searches of 80-100 ms instead of ~2 on
     * a busy 2-core machine).  One thread for this caller's regions; its
     * setting is restored (other code on this thread may use OpenMP). */
    omp_threads = omp_get_max_threads();
    omp_set_num_threads(1);
    /* Exact search of one query: FAISS's own loop is scalar in Debian's
     * build (fvec_inner_product_ref); its BLAS path streams the vectors
     * through OpenBLAS instead, several times faster. */
    faiss_set_distance_compute_blas_threshold(1);
    if (v->ivf) {
        int nlist = (int)faiss_IndexIVF_nlist(v->ivf);
        int want = nprobe > 0 ? nprobe : v->nprobe;
        int lists = exact || want <= 0 || want > nlist ? nlist : want;
        r = ivf_search(v, query, k, lists, scores, ids, err);
    } else if (faiss_Index_search(v->index, 1, query, k, scores, ids) != 0) {
        r = faiss_fail(err, "FAISS search");
    }
    omp_set_num_threads(omp_threads);
    if (r != CLIPSEARCH_OK)
        return r;
    /* FAISS pads missing results with id -1; they come last. */
    while (found < k && ids[found] >= 0)
        found++;
    *n_out = found;
    return CLIPSEARCH_OK;
}

/* ---- file format ---- */

static void put64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

/* Header: magic[8] model_id generation count dim payload_size hash_hi hash_lo
 * (8 bytes each, little endian) factory[64] nprobe hashed, zero padding.
 * hashed: how many payload bytes the hash covers (0, as in files written
 * before it existed: all).  For an IVF it stops where the inverted lists'
 * codes and ids begin: they are memory-mapped, not parsed (FAISS checks
 * that every list lies inside the file), and hashing them would read the
 * whole file at each search.  Everything FAISS parses stays covered. */
static void encode_header(unsigned char *h, const cs_vindex_tag *t, uint64_t payload,
                          XXH128_hash_t hash)
{
    memset(h, 0, HEADER_SIZE);
    memcpy(h, MAGIC, 8);
    put64(h + 8, (uint64_t)t->model_id);
    put64(h + 16, (uint64_t)t->generation);
    put64(h + 24, (uint64_t)t->count);
    put64(h + 32, (uint64_t)t->dim);
    put64(h + 40, payload);
    put64(h + 48, hash.high64);
    put64(h + 56, hash.low64);
    memcpy(h + 64, t->factory, strnlen(t->factory, 63));
    put64(h + 128, (uint64_t)(t->nprobe > 0 ? t->nprobe : 0));
    put64(h + 136, t->hashed);
}

static int decode_header(const unsigned char *h, cs_vindex_tag *t, uint64_t *payload,
                         XXH128_hash_t *hash)
{
    if (memcmp(h, MAGIC, 8) != 0)
        return -1;
    memset(t, 0, sizeof *t);
    t->model_id = (int64_t)get64(h + 8);
    t->generation = (int64_t)get64(h + 16);
    t->count = (int64_t)get64(h + 24);
    if (get64(h + 32) > 1 << 20 || get64(h + 32) == 0)
        return -1;
    t->dim = (int)get64(h + 32);
    *payload = get64(h + 40);
    hash->high64 = get64(h + 48);
    hash->low64 = get64(h + 56);
    memcpy(t->factory, h + 64, 63);
    t->factory[63] = '\0';
    if (get64(h + 128) > 1 << 24 || get64(h + 136) > *payload)
        return -1;
    t->nprobe = (int)get64(h + 128);
    t->hashed = get64(h + 136);
    return 0;
}

/* XXH3-128 of len bytes at off.  Through a read-only mapping: the file is
 * usually in the page cache, and hashing it in place saves copying it all
 * (the index of 100,000 photos is 200 MB) into a buffer first. */
static clipsearch_status hash_fd(int fd, const char *path, uint64_t off, uint64_t len,
                                 XXH128_hash_t *out, clipsearch_error *err)
{
    struct stat sb;
    unsigned char *map;
    if (fstat(fd, &sb) != 0)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: %s", path, strerror(errno));
    if ((uint64_t)sb.st_size < off || (uint64_t)sb.st_size - off < len)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: file is truncated", path);
    if (len == 0) {
        *out = XXH3_128bits(NULL, 0);
        return CLIPSEARCH_OK;
    }
    map = mmap(NULL, (size_t)(off + len), PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
#ifdef MADV_POPULATE_READ
    /* One call maps the cached pages instead of a fault per 64 KB. */
    madvise(map, (size_t)(off + len), MADV_POPULATE_READ);
#endif
    *out = XXH3_128bits(map + off, (size_t)len);
    munmap(map, (size_t)(off + len));
    return CLIPSEARCH_OK;
}

static clipsearch_status fsync_dir_of(const char *path, clipsearch_error *err)
{
    char *copy = strdup(path);
    int fd;
    clipsearch_status r = CLIPSEARCH_OK;
    if (!copy)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot sync its folder: %s", path,
                         strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return r;
}

/* Bytes of one vector's code in an IVF's lists, from the factory string's
 * encoding ("IVF256,SQfp16" -> 2 x dim); 0 when unknown (the whole file is
 * then hashed). */
static size_t ivf_code_size(const cs_vindex *v)
{
    const char *enc = strrchr(v->factory, ',');
    size_t d = (size_t)v->dim;
    int m;
    if (!enc)
        return 0;
    enc++;
    if (!strcmp(enc, "Flat"))
        return 4 * d;
    if (!strcmp(enc, "SQfp16"))
        return 2 * d;
    if (!strcmp(enc, "SQ8"))
        return d;
    if (!strcmp(enc, "SQ4"))
        return (d + 1) / 2;
    if (sscanf(enc, "PQ%d", &m) == 1 && m > 0 && !strchr(enc, 'x'))
        return (size_t)m;
    return 0;
}

/* An exclusive flock on the folder holding path (blocking: holders only
 * compare a header and rename); -1 when it cannot be opened. */
static int lock_dir_of(const char *path)
{
    char *copy = strdup(path);
    int fd = -1;
    if (!copy)
        return -1;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

clipsearch_status cs_vindex_write(const cs_vindex *v, const char *path,
                                  const cs_vindex_tag *tag, clipsearch_error *err)
{
    char *tmp = NULL;
    size_t plen = strlen(path);
    FILE *f = NULL;
    int fd = -1;
    unsigned char header[HEADER_SIZE];
    cs_vindex_tag t = *tag;
    XXH128_hash_t hash = {0, 0};
    struct stat st;
    clipsearch_status r = CLIPSEARCH_OK;
    uint64_t payload;
    int dfd = -1;

    tmp = malloc(plen + 32);
    if (!tmp)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    t.count = cs_vindex_count(v);
    t.dim = v->dim;
    snprintf(t.factory, sizeof t.factory, "%s", v->factory);
    f = fopen(tmp, "w+be");
    if (!f) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    memset(header, 0, sizeof header);
    if (fwrite(header, 1, HEADER_SIZE, f) != HEADER_SIZE) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: write error: %s", tmp, strerror(errno));
        goto out;
    }
    if (faiss_write_index(v->index, f) != 0) {
        char what[600];
        snprintf(what, sizeof what, "%s: writing the FAISS index", tmp);
        r = faiss_fail(err, what);
        goto out;
    }
    if (fflush(f) != 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: write error: %s", tmp, strerror(errno));
        goto out;
    }
    fd = fileno(f);
    if (fstat(fd, &st) != 0 || st.st_size < HEADER_SIZE) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot stat: %s", tmp, strerror(errno));
        goto out;
    }
    payload = (uint64_t)st.st_size - HEADER_SIZE;
    t.nprobe = v->nprobe;
    t.hashed = payload;
    if (v->ivf) {
        /* The lists come last: ntotal x (code + id). */
        size_t code = ivf_code_size(v);
        uint64_t tail = (uint64_t)cs_vindex_count(v) * (code + sizeof(idx_t));
        if (code > 0 && tail < payload)
            t.hashed = payload - tail;
    }
    if ((r = hash_fd(fd, tmp, HEADER_SIZE, t.hashed, &hash, err)) != CLIPSEARCH_OK)
        goto out;
    encode_header(header, &t, payload, hash);
    if (pwrite(fd, header, HEADER_SIZE, 0) != HEADER_SIZE || fsync(fd) != 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: write error: %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: write error: %s", tmp, strerror(errno));
        goto out;
    }
    f = NULL;
    /* Several processes may save the same index (an indexer, a search that
     * rebuilt it): under a lock on the folder, a file already built from a
     * newer database state is kept, so an older one never replaces it. */
    dfd = lock_dir_of(path);
    {
        cs_vindex_tag cur;
        if (cs_vindex_read_tag(path, &cur, NULL) == CLIPSEARCH_OK &&
            cur.model_id == t.model_id && cur.generation > t.generation) {
            unlink(tmp);
            goto out;
        }
    }
    if (rename(tmp, path) != 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot rename to %s: %s", tmp, path,
                         strerror(errno));
        goto out;
    }
    r = fsync_dir_of(path, err);
out:
    if (dfd >= 0)
        close(dfd); /* drops the lock */
    if (f)
        fclose(f);
    if (r != CLIPSEARCH_OK)
        unlink(tmp);
    free(tmp);
    return r;
}

static clipsearch_status read_header(int fd, const char *path, cs_vindex_tag *tag,
                                     uint64_t *payload, XXH128_hash_t *hash,
                                     clipsearch_error *err)
{
    unsigned char header[HEADER_SIZE];
    struct stat st;
    ssize_t n = pread(fd, header, HEADER_SIZE, 0);
    if (n < 0)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: read error: %s", path, strerror(errno));
    if (n != HEADER_SIZE || decode_header(header, tag, payload, hash) != 0)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s: not a clipsearch vector index (bad header)", path);
    if (fstat(fd, &st) != 0)
        return cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if ((uint64_t)st.st_size != HEADER_SIZE + *payload)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s: size %lld does not match its header (%llu): damaged", path,
                            (long long)st.st_size,
                            (unsigned long long)(HEADER_SIZE + *payload));
    return CLIPSEARCH_OK;
}

static int open_ro(const char *path, clipsearch_error *err, clipsearch_status *r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        *r = cs_error_set(err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                          "%s: cannot open: %s", path, strerror(errno));
    return fd;
}

clipsearch_status cs_vindex_read_tag(const char *path, cs_vindex_tag *tag,
                                     clipsearch_error *err)
{
    clipsearch_status r = CLIPSEARCH_OK;
    uint64_t payload;
    XXH128_hash_t hash;
    int fd = open_ro(path, err, &r);
    if (fd < 0)
        return r;
    r = read_header(fd, path, tag, &payload, &hash, err);
    close(fd);
    return r;
}

clipsearch_status cs_vindex_read(const char *path, cs_vindex_tag *tag, cs_vindex **out,
                                 clipsearch_error *err)
{
    clipsearch_status r = CLIPSEARCH_OK;
    uint64_t payload;
    XXH128_hash_t want, got;
    FILE *f = NULL;
    FaissIndex *index = NULL;
    cs_vindex *v = NULL;
    int fd;
    *out = NULL;
    fd = open_ro(path, err, &r);
    if (fd < 0)
        return r;
    if ((r = read_header(fd, path, tag, &payload, &want, err)) != CLIPSEARCH_OK)
        goto out;
    /* Verify before parsing: FAISS trusts the sizes it reads. */
    if ((r = hash_fd(fd, path, HEADER_SIZE, tag->hashed ? tag->hashed : payload, &got, err)) !=
        CLIPSEARCH_OK)
        goto out;
    if (!XXH128_isEqual(want, got)) {
        r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: checksum mismatch: damaged", path);
        goto out;
    }
    f = fdopen(fd, "rb");
    if (!f) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (fseek(f, HEADER_SIZE, SEEK_SET) != 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (faiss_read_index(f, FAISS_IO_FLAG_MMAP_REAL, &index) != 0) {
        char what[600];
        snprintf(what, sizeof what, "%s: reading the FAISS index", path);
        r = faiss_fail(err, what);
        goto out;
    }
    if (faiss_Index_d(index) != tag->dim || faiss_Index_ntotal(index) != tag->count ||
        !(faiss_IndexIDMap_cast(index) || faiss_IndexIVF_cast(index))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                         "%s: content (%d dimensions, %lld vectors) does not match its "
                         "header (%d, %lld)",
                         path, faiss_Index_d(index), (long long)faiss_Index_ntotal(index),
                         tag->dim, (long long)tag->count);
        goto out;
    }
    v = calloc(1, sizeof *v);
    if (!v) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    v->index = index;
    index = NULL;
    v->dim = tag->dim;
    snprintf(v->factory, sizeof v->factory, "%s", tag->factory);
    if ((v->ivf = faiss_IndexIVF_cast(v->index)) != NULL) {
        v->nprobe = tag->nprobe;
        faiss_IndexIVF_set_nprobe(v->ivf, faiss_IndexIVF_nlist(v->ivf));
    } else {
        tune(v->index, v->factory);
    }
    *out = v;
out:
    if (index)
        faiss_Index_free(index);
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    return r;
}
