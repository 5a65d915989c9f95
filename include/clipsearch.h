/*
 * clipsearch.h — the whole public API of libclipsearch.
 *
 * clipsearch computes CLIP embeddings of photos and text, faithful to the
 * reference implementation, and searches photo libraries with them.
 * No third-party header is included here.
 */
#ifndef CLIPSEARCH_H
#define CLIPSEARCH_H

#include "clipsearch/version.h"
#include "clipsearch/common.h"
#include "clipsearch/model.h"
#include "clipsearch/tokenizer.h"
#include "clipsearch/image.h"
#include "clipsearch/library.h"
#include "clipsearch/search.h"
#include "clipsearch/hub.h"
#include "clipsearch/server.h"
#include "clipsearch/probe.h"
#include "clipsearch/classify.h"
#include "clipsearch/duplicates.h"
#include "clipsearch/watch.h"

#endif /* CLIPSEARCH_H */
