/* library_internal.h — what other layers of libclipsearch may see of a
 * clipsearch_library handle.  Private to libclipsearch. */
#ifndef CS_LIBRARY_INTERNAL_H
#define CS_LIBRARY_INTERNAL_H

#include "clipsearch/library.h"
#include "store.h"

/* The handle's SQLite store (same thread rules as the handle). */
cs_store *cs_library_store(clipsearch_library *lib);

#endif
