/* fuzz_model_config.c — config.json and preprocessor_config.json parsing
 * over arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_model_config cfg;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cs_model_config_defaults(&cfg);
    if (cs_model_config_parse(text, size, "fuzz", &cfg, NULL) == CLIPSEARCH_OK) {
        /* Accepted values stay in their documented ranges. */
        if (cfg.vision.width < 1 || cfg.vision.heads < 1 || cfg.text.layers < 1 ||
            !(cfg.vision.eps > 0) || cfg.projection_dim < 1)
            abort();
    }
    cs_model_config_defaults(&cfg);
    cs_preprocessor_config_parse(text, size, "fuzz", &cfg, NULL);
    free(text);
    return 0;
}
