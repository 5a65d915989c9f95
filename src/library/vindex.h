/* vindex.h — the FAISS side of a library: an inner-product index over
 * L2-normalised embeddings whose ids are file ids, saved atomically in a file
 * that records the database state it was built from.  Private to
 * libclipsearch; only FAISS's C API is used.
 *
 * File layout: a 160-byte header (cs_vindex_tag plus the XXH3-128 of the
 * payload), then faiss_write_index's output.  Readers check the magic, the
 * payload hash and the tag before trusting a file. */
#ifndef CS_VINDEX_H
#define CS_VINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "clipsearch/common.h"

typedef struct cs_vindex_tag {
    int64_t model_id;
    int64_t generation; /* models.generation the vectors come from */
    int64_t count;      /* number of vectors */
    int dim;
    char factory[64];   /* FAISS index factory string actually built */
    int nprobe;         /* IVF lists searched by default; 0: all (an exact scan) */
    uint64_t hashed;    /* payload bytes the file's hash covers (set by write) */
} cs_vindex_tag;

typedef struct cs_vindex cs_vindex;

/* The automatic choice (index type "auto"), by number of vectors:
 *   n < CS_VINDEX_AUTO_FLAT_MAX: "Flat" (float32, exact; read by copying,
 *     ~1.3 ms per 1,000 vectors, hidden behind loading the text tower);
 *   n < CS_VINDEX_AUTO_EXACT_MAX: "IVF<nlist>,SQfp16" scanned in full
 *     (every vector scored from its fp16 code, on all cores; the lists are
 *     memory-mapped, so nothing is copied) and re-ranked in float32: exact;
 *   above: the same index searching nprobe = max(16, nlist / 64) lists of
 *     nlist (approximate, re-ranked), nlist the power of two near sqrt(n).
 *     Measured on clustered synthetic data (bench_search, 1M photos, 1024
 *     lists): recall@10 0.957 at 8 lists, 0.997 at 16, 1.000 at 64.
 * factory gets the factory string, *nprobe the lists searched (0: all). */
#define CS_VINDEX_AUTO "auto"
#define CS_VINDEX_AUTO_FLAT_MAX 32768
#define CS_VINDEX_AUTO_EXACT_MAX 131072
void cs_vindex_auto(int64_t n, char *factory, size_t size, int *nprobe);

/* Builds an index of n vectors vecs[n][dim] with ids[n].  factory is a FAISS
 * index factory string ("Flat", "HNSW32", "IVF256,PQ16"...; NULL or "" =
 * "Flat").  An index that needs training and has too few vectors for it is
 * built "Flat" instead (the tag says which).  Not thread-safe. */
clipsearch_status cs_vindex_build(const char *factory, int dim, const int64_t *ids,
                                  const float *vecs, size_t n, cs_vindex **out,
                                  clipsearch_error *err);
/* The same; factory may be CS_VINDEX_AUTO.  When reuse (may be NULL) is an
 * IVF-SQfp16 index of the same factory string, its trained coarse quantizer
 * is copied instead of running k-means again (a rebuild after the library
 * changed, without retraining). */
clipsearch_status cs_vindex_build_reusing(const char *factory, int dim, const int64_t *ids,
                                          const float *vecs, size_t n, const cs_vindex *reuse,
                                          cs_vindex **out, clipsearch_error *err);
void cs_vindex_free(cs_vindex *v);
int64_t cs_vindex_count(const cs_vindex *v);
int cs_vindex_dim(const cs_vindex *v);
const char *cs_vindex_factory(const cs_vindex *v);
int cs_vindex_nprobe(const cs_vindex *v); /* IVF lists searched; 0: all or not an IVF */
int cs_vindex_nlist(const cs_vindex *v);  /* 0 if not an IVF */
/* 1: search scores are float32 inner products (a "Flat" index). */
int cs_vindex_scores_exact(const cs_vindex *v);
/* 1: a search with exact = 1 scores every vector from float32 or float16
 * codes, so re-ranking its top candidates in float32 gives exact results. */
int cs_vindex_can_scan_exactly(const cs_vindex *v);

/* Top k by inner product for one query[dim].  scores[k], ids[k]; *n_out gets
 * how many were found (<= k).  Safe to call from several threads at once. */
clipsearch_status cs_vindex_search(const cs_vindex *v, const float *query, int k,
                                   float *scores, int64_t *ids, int *n_out,
                                   clipsearch_error *err);
/* The same; exact = 1 scans every list of an IVF (no effect on others),
 * nprobe > 0 that many lists instead of the index's setting. */
clipsearch_status cs_vindex_search_mode(const cs_vindex *v, const float *query, int k,
                                        int exact, int nprobe, float *scores, int64_t *ids,
                                        int *n_out, clipsearch_error *err);

/* Writes v to path atomically: a temporary file in the same folder, fsync,
 * rename, fsync of the folder.  tag->count/dim/factory are taken from v.
 * The rename happens under an exclusive flock of the folder, and not at all
 * (the call still succeeds) when path already holds an index of the same
 * model built from a newer generation: concurrent writers never go back. */
clipsearch_status cs_vindex_write(const cs_vindex *v, const char *path,
                                  const cs_vindex_tag *tag, clipsearch_error *err);

/* Reads only the tag (cheap).  ERR_NOT_FOUND if absent, ERR_FORMAT if not
 * a clipsearch index file. */
clipsearch_status cs_vindex_read_tag(const char *path, cs_vindex_tag *tag,
                                     clipsearch_error *err);

/* Reads and verifies a file: magic, payload hash, then FAISS parses it and
 * its count and dimension must match the tag.  ERR_NOT_FOUND if absent,
 * ERR_FORMAT if damaged, ERR_INDEX if FAISS refuses it.  An IVF's inverted
 * lists are memory-mapped (FAISS's IO_FLAG_MMAP), everything else copied;
 * the mapping stays valid when the file is replaced (rename). */
clipsearch_status cs_vindex_read(const char *path, cs_vindex_tag *tag, cs_vindex **out,
                                 clipsearch_error *err);

#endif
