/* vindex.c — FAISS index wrapper (see vindex.h). */
#include "vindex.h"

#include <errno.h>
#include <fcntl.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <faiss/c_api/utils/distances_c.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "error.h"

#define HEADER_SIZE 160
static const char MAGIC[8] = {'C', 'S', 'V', 'I', 'D', 'X', '0', '1'};

struct cs_vindex {
    FaissIndex *index; /* an IndexIDMap owning the inner index */
    int dim;
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

static clipsearch_status try_build(const char *factory, int dim, const int64_t *ids,
                                   const float *vecs, size_t n, cs_vindex **out,
                                   clipsearch_error *err)
{
    FaissIndex *inner = NULL;
    FaissIndexIDMap *map = NULL;
    cs_vindex *v = NULL;
    clipsearch_status r = CLIPSEARCH_OK;
    char what[128];
    snprintf(what, sizeof what, "FAISS index \"%s\"", factory);
    if (faiss_index_factory(&inner, dim, factory, METRIC_INNER_PRODUCT) != 0)
        return faiss_fail(err, what);
    if (!faiss_Index_is_trained(inner)) {
        if (n == 0 || faiss_Index_train(inner, (idx_t)n, vecs) != 0) {
            r = n == 0 ? cs_error_set(err, CLIPSEARCH_ERR_INDEX, "%s: nothing to train on", what)
                       : faiss_fail(err, what);
            faiss_Index_free(inner);
            return r;
        }
    }
    if (faiss_IndexIDMap_new(&map, inner) != 0) {
        r = faiss_fail(err, what);
        faiss_Index_free(inner);
        return r;
    }
    faiss_IndexIDMap_set_own_fields(map, 1);
    v = calloc(1, sizeof *v);
    if (!v) {
        faiss_Index_free((FaissIndex *)map);
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    }
    v->index = (FaissIndex *)map;
    v->dim = dim;
    snprintf(v->factory, sizeof v->factory, "%s", factory);
    if (n > 0 && faiss_Index_add_with_ids(v->index, (idx_t)n, vecs, ids) != 0) {
        r = faiss_fail(err, what);
        cs_vindex_free(v);
        return r;
    }
    tune(v->index, factory);
    *out = v;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_vindex_build(const char *factory, int dim, const int64_t *ids,
                                  const float *vecs, size_t n, cs_vindex **out,
                                  clipsearch_error *err)
{
    clipsearch_error e2 = {0};
    clipsearch_status r;
    *out = NULL;
    if (dim <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "bad dimension %d", dim);
    if (!factory || !*factory)
        factory = "Flat";
    if (strlen(factory) >= 64)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "FAISS index type \"%.40s...\" is too long", factory);
    r = try_build(factory, dim, ids, vecs, n, out, &e2);
    if (r == CLIPSEARCH_OK || strcmp(factory, "Flat") == 0) {
        if (r != CLIPSEARCH_OK && err)
            *err = e2;
        return r;
    }
    /* Training needs more vectors than a small library has: exact search is
     * fast there anyway.  A bad factory string with many vectors is still an
     * error. */
    if (n < 100000)
        return try_build("Flat", dim, ids, vecs, n, out, err);
    if (err)
        *err = e2;
    return r;
}

clipsearch_status cs_vindex_search(const cs_vindex *v, const float *query, int k,
                                   float *scores, int64_t *ids, int *n_out,
                                   clipsearch_error *err)
{
    int found = 0;
    *n_out = 0;
    if (k <= 0)
        return CLIPSEARCH_OK;
    /* Exact search of one query: FAISS's own loop is scalar in Debian's
     * build (fvec_inner_product_ref); its BLAS path streams the vectors
     * through OpenBLAS instead, several times faster. */
    faiss_set_distance_compute_blas_threshold(1);
    if (faiss_Index_search(v->index, 1, query, k, scores, ids) != 0)
        return faiss_fail(err, "FAISS search");
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
 * (8 bytes each, little endian) factory[64] zero padding. */
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
    if ((r = hash_fd(fd, tmp, HEADER_SIZE, payload, &hash, err)) != CLIPSEARCH_OK)
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
    if (rename(tmp, path) != 0) {
        r = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot rename to %s: %s", tmp, path,
                         strerror(errno));
        goto out;
    }
    r = fsync_dir_of(path, err);
out:
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
    if ((r = hash_fd(fd, path, HEADER_SIZE, payload, &got, err)) != CLIPSEARCH_OK)
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
    if (faiss_read_index(f, 0, &index) != 0) {
        char what[600];
        snprintf(what, sizeof what, "%s: reading the FAISS index", path);
        r = faiss_fail(err, what);
        goto out;
    }
    if (faiss_Index_d(index) != tag->dim || faiss_Index_ntotal(index) != tag->count ||
        !faiss_IndexIDMap_cast(index)) {
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
    tune(v->index, v->factory);
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
