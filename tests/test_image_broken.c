/* test_image_broken.c — every file in fixtures/images/broken gives its own
 * specific error naming the file; truncated and damaged copies of every
 * fixture photo give errors (or decode), never a crash; a batch goes on. */
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "testutil.h"

static const struct {
    const char *file;
    clipsearch_status status;
    const char *phrase; /* what the message must say */
} expected[] = {
    {"truncated.jpg", CLIPSEARCH_ERR_FORMAT, "JPEG data ends early"},
    {"empty.jpg", CLIPSEARCH_ERR_FORMAT, "file is empty"},
    {"not_an_image.jpg", CLIPSEARCH_ERR_FORMAT, "unsupported format"},
    {"huge_dimensions.jpg", CLIPSEARCH_ERR_TOO_LARGE, "65000x65000"},
    {"bad_crc.png", CLIPSEARCH_ERR_FORMAT, "PNG data is damaged"},
};

static const char *photos[] = {
    "astronaut.jpg", "coffee_progressive.jpg", "rocket_cmyk.jpg", "camera_gray.jpg",
    "chelsea_444.jpg", "astronaut_rgba.png", "chelsea_palette.png", "coffee.webp",
    "tiny_16x12.jpg", "astronaut_exif6.jpg",
};

static void test_broken_fixtures(void)
{
    float *out = malloc(sizeof(float) * 3 * 224 * 224);
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        char rel[128];
        clipsearch_image img = {0, 0, NULL};
        clipsearch_error err = {0, ""};
        snprintf(rel, sizeof rel, "images/broken/%s", expected[i].file);
        clipsearch_status st = clipsearch_image_load(tu_fixture(rel), 0, &img, NULL, &err);
        printf("%-20s -> %s\n", expected[i].file, err.message);
        CHECK(st == expected[i].status, "%s: status %d, want %d", expected[i].file, st,
              expected[i].status);
        CHECK(strstr(err.message, expected[i].file) != NULL, "%s: message names the file: %s",
              expected[i].file, err.message);
        CHECK(strstr(err.message, expected[i].phrase) != NULL, "%s: message says '%s': %s",
              expected[i].file, expected[i].phrase, err.message);
        CHECK(img.rgb == NULL && img.width == 0, "%s: no image returned", expected[i].file);
        /* Both modes of the one-step call fail the same way. */
        for (int mode = 0; mode <= 1; mode++) {
            clipsearch_error e2 = {0, ""};
            p.mode = mode ? CLIPSEARCH_PREPROCESS_FAST : CLIPSEARCH_PREPROCESS_EXACT;
            CHECK(clipsearch_preprocess_file(tu_fixture(rel), &p, out, NULL, &e2) == st,
                  "%s: preprocess status", expected[i].file);
            CHECK(strcmp(e2.message, err.message) == 0, "%s: same message: %s", expected[i].file,
                  e2.message);
        }
    }
    /* A batch goes on after each failure: a good file still decodes. */
    {
        clipsearch_error err = {0, ""};
        CHECK(clipsearch_preprocess_file(tu_fixture("images/astronaut.jpg"), &p, out, NULL, &err) ==
                  CLIPSEARCH_OK,
              "good file after broken ones: %s", err.message);
    }
    /* Missing file and directory. */
    {
        clipsearch_image img = {0, 0, NULL};
        clipsearch_error err = {0, ""};
        CHECK(clipsearch_image_load(tu_fixture("images/no_such_photo.jpg"), 0, &img, NULL, &err) ==
                  CLIPSEARCH_ERR_NOT_FOUND,
              "missing file");
        CHECK(strstr(err.message, "no_such_photo.jpg") != NULL, "%s", err.message);
        CHECK(clipsearch_image_load(tu_fixture("images"), 0, &img, NULL, &err) == CLIPSEARCH_ERR_IO,
              "a directory: %s", err.message);
    }
    free(out);
}

/* Every photo cut at many lengths and with damaged bytes: an error with a
 * message, or a decoded image; never a crash (ASan/UBSan builds check). */
static void test_damage(void)
{
    float *out = malloc(sizeof(float) * 3 * 224 * 224);
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    uint32_t seed = 12345;
    for (size_t i = 0; i < sizeof photos / sizeof photos[0]; i++) {
        char rel[128];
        size_t n = 0;
        uint8_t *data;
        int truncated_ok = 0, truncated_err = 0;
        snprintf(rel, sizeof rel, "images/%s", photos[i]);
        data = (uint8_t *)tu_read_file(tu_fixture(rel), &n);
        CHECK(data != NULL, "read %s", rel);
        if (!data)
            continue;
        for (int cut = 1; cut < 40; cut++) {
            size_t len = n * (size_t)cut / 40;
            clipsearch_error err = {0, ""};
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, data, len);
            p.mode = cut % 2 ? CLIPSEARCH_PREPROCESS_FAST : CLIPSEARCH_PREPROCESS_EXACT;
            if (clipsearch_preprocess_memory(copy, len, &p, out, NULL, &err) == CLIPSEARCH_OK) {
                truncated_ok++;
            } else {
                truncated_err++;
                CHECK(err.message[0] != '\0', "%s cut at %zu: empty message", photos[i], len);
            }
            free(copy);
        }
        /* Truncated files are refused, as Pillow refuses them. */
        CHECK(truncated_ok == 0, "%s: %d truncated copies decoded", photos[i], truncated_ok);
        for (int v = 0; v < 30; v++) {
            uint8_t *copy = malloc(n);
            clipsearch_error err = {0, ""};
            memcpy(copy, data, n);
            for (int k = 0; k < 1 + v % 5; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % n;
                seed = seed * 1103515245u + 12345u;
                copy[at] = (uint8_t)(seed >> 16);
            }
            p.mode = v % 2 ? CLIPSEARCH_PREPROCESS_FAST : CLIPSEARCH_PREPROCESS_EXACT;
            if (clipsearch_preprocess_memory(copy, n, &p, out, NULL, &err) != CLIPSEARCH_OK)
                CHECK(err.message[0] != '\0', "%s damaged: empty message", photos[i]);
            free(copy);
        }
        free(data);
    }
    free(out);
}

int main(void)
{
    tu_require_fixture("images/broken/truncated.jpg");
    test_broken_fixtures();
    test_damage();
    return tu_finish("test_image_broken");
}
