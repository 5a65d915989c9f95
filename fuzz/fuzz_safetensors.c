/* fuzz_safetensors.c — the safetensors reader over arbitrary bytes: every
 * header it accepts must describe tensors that lie inside the buffer. */
#include <stdint.h>
#include <stdlib.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_safetensors *st = NULL;
    if (cs_safetensors_open_memory(data, size, "fuzz", &st, NULL) != CLIPSEARCH_OK)
        return 0;
    for (int i = 0; i < st->n_tensors; i++) {
        const cs_tensor *t = &st->tensors[i];
        /* Touch every byte a tensor claims (ASan catches any overrun), and
         * convert the small float ones. */
        volatile uint8_t sink = 0;
        for (size_t b = 0; b < t->nbytes; b++)
            sink ^= ((const uint8_t *)t->data)[b];
        (void)sink;
        if (t->numel <= 4096) {
            double *d = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *d);
            if (d)
                cs_tensor_to_f64(t, d, NULL);
            free(d);
        }
        if (cs_safetensors_find(st, t->name) != t)
            abort(); /* lookup must find every tensor */
    }
    cs_safetensors_close(st);
    return 0;
}
