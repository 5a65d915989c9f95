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
} cs_vindex_tag;

typedef struct cs_vindex cs_vindex;

/* Builds an index of n vectors vecs[n][dim] with ids[n].  factory is a FAISS
 * index factory string ("Flat", "HNSW32", "IVF256,PQ16"...; NULL or "" =
 * "Flat").  An index that needs training and has too few vectors for it is
 * built "Flat" instead (the tag says which).  Not thread-safe. */
clipsearch_status cs_vindex_build(const char *factory, int dim, const int64_t *ids,
                                  const float *vecs, size_t n, cs_vindex **out,
                                  clipsearch_error *err);
void cs_vindex_free(cs_vindex *v);
int64_t cs_vindex_count(const cs_vindex *v);
int cs_vindex_dim(const cs_vindex *v);
const char *cs_vindex_factory(const cs_vindex *v);

/* Top k by inner product for one query[dim].  scores[k], ids[k]; *n_out gets
 * how many were found (<= k).  Safe to call from several threads at once. */
clipsearch_status cs_vindex_search(const cs_vindex *v, const float *query, int k,
                                   float *scores, int64_t *ids, int *n_out,
                                   clipsearch_error *err);

/* Writes v to path atomically: a temporary file in the same folder, fsync,
 * rename, fsync of the folder.  tag->count/dim/factory are taken from v. */
clipsearch_status cs_vindex_write(const cs_vindex *v, const char *path,
                                  const cs_vindex_tag *tag, clipsearch_error *err);

/* Reads only the tag (cheap).  ERR_NOT_FOUND if absent, ERR_FORMAT if not
 * a clipsearch index file. */
clipsearch_status cs_vindex_read_tag(const char *path, cs_vindex_tag *tag,
                                     clipsearch_error *err);

/* Reads and verifies a file: magic, payload hash, then FAISS parses it and
 * its count and dimension must match the tag.  ERR_NOT_FOUND if absent,
 * ERR_FORMAT if damaged, ERR_INDEX if FAISS refuses it. */
clipsearch_status cs_vindex_read(const char *path, cs_vindex_tag *tag, cs_vindex **out,
                                 clipsearch_error *err);

#endif
