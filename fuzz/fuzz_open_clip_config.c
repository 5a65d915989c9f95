/* fuzz_open_clip_config.c — OpenCLIP's open_clip_config.json parsing over
 * arbitrary bytes. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_open_clip_config cfg;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cs_open_clip_config_defaults(&cfg);
    if (cs_open_clip_config_parse(text, size, "fuzz", &cfg, NULL) == CLIPSEARCH_OK) {
        /* Accepted values stay in their documented ranges. */
        if (cfg.embed_dim < 0 || cfg.quick_gelu < -1 || cfg.quick_gelu > 1 ||
            cfg.vision_width < 0 || cfg.vision_heads < 0 || cfg.text_heads < 0 ||
            (cfg.vision_n_layers != 0 && cfg.vision_n_layers != 1 && cfg.vision_n_layers != 4))
            abort();
        for (int i = 0; i < cfg.vision_n_layers; i++)
            if (cfg.vision_layers[i] < 1)
                abort();
        for (int c = 0; c < 3; c++)
            if ((cfg.has_std && !(cfg.std[c] > 0)) || (cfg.has_mean && !isfinite(cfg.mean[c])))
                abort();
    }
    free(text);
    return 0;
}
