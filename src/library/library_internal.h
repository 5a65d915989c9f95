/* library_internal.h — what other layers of libclipsearch (classify/) may
 * reach inside a clipsearch_library handle.  Private. */
#ifndef CS_LIBRARY_INTERNAL_H
#define CS_LIBRARY_INTERNAL_H
#include "clipsearch/library.h"
#include "store.h"
/* The handle's database connection (same thread rules as the handle). */
cs_store *cs_library_store(clipsearch_library *lib);
#endif
