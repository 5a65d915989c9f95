/* array.c — see array.h. */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int cs_array_reserve(void *items, size_t *cap, size_t len, size_t elem, size_t first)
{
    void *old, *grown;
    size_t nc;
    if (len < *cap)
        return 1;
    nc = *cap ? *cap * 2 : first;
    if (nc <= len || nc > SIZE_MAX / elem)
        return 0;
    memcpy(&old, items, sizeof old); /* the caller's T * */
    grown = realloc(old, nc * elem);
    if (!grown)
        return 0;
    memcpy(items, &grown, sizeof grown);
    *cap = nc;
    return 1;
}
