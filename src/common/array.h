/* array.h — growing a malloc'd array by doubling. */
#ifndef CS_ARRAY_H
#define CS_ARRAY_H

#include <stddef.h>

/* Makes room for one more element after `len` in the array whose pointer is
 * at `items` (a T **, passed as void *) with capacity *cap: grows it to
 * twice its capacity (`first` when empty) of elements of `elem` bytes.
 * Returns 1, or 0 on allocation failure or overflow (the array is then left
 * as it was). */
int cs_array_reserve(void *items, size_t *cap, size_t len, size_t elem, size_t first);

#endif
