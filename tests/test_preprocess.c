/* test_preprocess.c — resize/crop geometry (floor, round-half-to-even),
 * the windowed resize against a full resize then crop, parameter checks,
 * other sizes (256, 336), and thread safety (concurrent calls give the
 * serial results bit for bit). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "preprocess.h"
#include "testutil.h"

static void test_geometry(void)
{
    static const struct {
        int w, h, s, rw, rh, x0, y0;
    } cases[] = {
        {512, 512, 224, 224, 224, 0, 0},
        {451, 300, 224, 336, 224, 56, 0},     /* floor(336.75) */
        {1600, 240, 224, 1493, 224, 634, 0},  /* 634.5 -> 634 (even) */
        {640, 427, 224, 335, 224, 56, 0},     /* 55.5 -> 56 (even) */
        {229, 224, 224, 229, 224, 2, 0},      /* 2.5 -> 2 */
        {231, 224, 224, 231, 224, 4, 0},      /* 3.5 -> 4 */
        {300, 512, 224, 224, 382, 0, 79},     /* floor(382.29), 79 */
        {16, 12, 224, 298, 224, 37, 0},       /* upscaling: floor(298.67), 37 */
        {4000, 3000, 336, 448, 336, 56, 0},
        {1, 100000, 224, 224, 22400000, 0, 11199888},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rw, rh, x0, y0;
        cs_clip_geometry(cases[i].w, cases[i].h, cases[i].s, &rw, &rh, &x0, &y0);
        CHECK(rw == cases[i].rw && rh == cases[i].rh && x0 == cases[i].x0 && y0 == cases[i].y0,
              "%dx%d S=%d: got %dx%d +%d+%d, want %dx%d +%d+%d", cases[i].w, cases[i].h,
              cases[i].s, rw, rh, x0, y0, cases[i].rw, cases[i].rh, cases[i].x0, cases[i].y0);
    }
}

static void test_window(void)
{
    enum { W = 97, H = 61 };
    static uint8_t src[W * H * 3];
    static const int sizes[][2] = {{150, 40}, {30, 200}, {97, 20}, {20, 61}, {97, 61}, {5, 3}};
    clipsearch_error err = {0, ""};
    uint32_t seed = 7;
    for (int i = 0; i < W * H * 3; i++) {
        seed = seed * 1664525u + 1013904223u;
        src[i] = (uint8_t)(seed >> 24);
    }
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int dw = sizes[t][0], dh = sizes[t][1];
        uint8_t *full = malloc((size_t)dw * dh * 3), *win = malloc((size_t)dw * dh * 3);
        CHECK(cs_resize_bicubic_window(src, W, H, dw, dh, 0, 0, dw, dh, full, &err) ==
                  CLIPSEARCH_OK,
              "full resize %dx%d: %s", dw, dh, err.message);
        if (dw == W && dh == H)
            CHECK(memcmp(full, src, sizeof src) == 0, "same size is a copy");
        for (int k = 0; k < 6; k++) {
            int cw = 1 + (dw - 1) * k / 5, ch = 1 + (dh - 1) * (5 - k) / 5;
            int x0 = (dw - cw) * k / 5, y0 = (dh - ch) / 2;
            int bad = 0;
            CHECK(cs_resize_bicubic_window(src, W, H, dw, dh, x0, y0, cw, ch, win, &err) ==
                      CLIPSEARCH_OK,
                  "window: %s", err.message);
            for (int y = 0; y < ch; y++)
                bad |= memcmp(win + (size_t)y * cw * 3, full + ((size_t)(y0 + y) * dw + x0) * 3,
                              (size_t)cw * 3) != 0;
            CHECK(!bad, "%dx%d window %dx%d+%d+%d differs from the crop of the full resize", dw,
                  dh, cw, ch, x0, y0);
        }
        CHECK(cs_resize_bicubic_window(src, W, H, dw, dh, 1, 0, dw, dh, win, &err) ==
                  CLIPSEARCH_ERR_INVALID_ARGUMENT,
              "window outside the image");
        free(full);
        free(win);
    }
    /* A constant image stays constant through up- and downscaling. */
    {
        static uint8_t flat[W * H * 3];
        uint8_t out[31 * 300 * 3];
        int bad = 0;
        memset(flat, 173, sizeof flat);
        CHECK(cs_resize_bicubic_window(flat, W, H, 31, 300, 0, 0, 31, 300, out, &err) ==
                  CLIPSEARCH_OK,
              "flat");
        for (size_t i = 0; i < sizeof out; i++)
            bad |= out[i] != 173;
        CHECK(!bad, "flat image stays 173");
    }
}

static void test_params(void)
{
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    clipsearch_error err = {0, ""};
    uint8_t px[3] = {1, 2, 3};
    clipsearch_image img = {1, 1, px};
    float *out = malloc(sizeof(float) * 3 * 336 * 336), *again = malloc(sizeof(float) * 3 * 336 * 336);

    CHECK(p.size == 224 && p.mode == CLIPSEARCH_PREPROCESS_EXACT && p.max_pixels == 0,
          "defaults");
    CHECK(p.mean[0] == 0.48145466f && p.std[2] == 0.27577711f, "OpenAI mean/std");
    p.size = 0;
    CHECK(clipsearch_preprocess_image(&img, &p, out, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "size 0");
    p = clipsearch_preprocess_default_params();
    p.std[1] = 0.0f;
    CHECK(clipsearch_preprocess_image(&img, &p, out, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "std 0");
    p = clipsearch_preprocess_default_params();
    p.mode = (clipsearch_preprocess_mode)7;
    CHECK(clipsearch_preprocess_image(&img, &p, out, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "mode 7");
    p = clipsearch_preprocess_default_params();
    CHECK(clipsearch_preprocess_image(NULL, &p, out, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "NULL image");
    CHECK(clipsearch_preprocess_file(NULL, &p, out, NULL, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "NULL path");
    CHECK(clipsearch_preprocess_image(&img, NULL, out, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "NULL params");
    /* A 1x1 image fills the output with its colour. */
    CHECK(clipsearch_preprocess_image(&img, &p, out, &err) == CLIPSEARCH_OK, "1x1: %s",
          err.message);
    CHECK(out[0] == out[224 * 224 - 1] && out[224 * 224] == out[2 * 224 * 224 - 1], "1x1 flat");
    CHECK(out[0] == ((float)(1 * (1.0 / 255.0)) - p.mean[0]) / p.std[0], "normalised value %g",
          out[0]);

    /* Published checkpoints use 256 and 336 too; output is deterministic. */
    for (int s = 256; s <= 336; s += 80) {
        p.size = s;
        CHECK(clipsearch_preprocess_file(tu_fixture("images/chelsea_444.jpg"), &p, out, NULL,
                                         &err) == CLIPSEARCH_OK,
              "size %d: %s", s, err.message);
        CHECK(clipsearch_preprocess_file(tu_fixture("images/chelsea_444.jpg"), &p, again, NULL,
                                         &err) == CLIPSEARCH_OK,
              "size %d again", s);
        CHECK(memcmp(out, again, sizeof(float) * 3 * (size_t)s * s) == 0, "deterministic");
    }
    free(out);
    free(again);
}

/* ---- threads ----------------------------------------------------------- */

static const char *thread_images[] = {"astronaut.jpg", "hubble_large.jpg", "rocket_cmyk.jpg",
                                      "astronaut_rgba.png", "coffee.webp", "coffee_exif8.jpg"};
#define NIMG (sizeof thread_images / sizeof thread_images[0])
#define PIX (3 * 224 * 224)
static float *serial[2][NIMG];

typedef struct job {
    int id, failures;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    float *out = malloc(sizeof(float) * PIX);
    for (int rep = 0; rep < 3; rep++)
        for (size_t k = 0; k < NIMG; k++) {
            size_t i = (k + (size_t)j->id) % NIMG;
            int mode = (int)(rep + i + (size_t)j->id) % 2;
            char rel[128];
            clipsearch_error err = {0, ""};
            clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
            p.mode = mode ? CLIPSEARCH_PREPROCESS_FAST : CLIPSEARCH_PREPROCESS_EXACT;
            snprintf(rel, sizeof rel, "images/%s", thread_images[i]);
            if (clipsearch_preprocess_file(tu_fixture(rel), &p, out, NULL, &err) != CLIPSEARCH_OK ||
                memcmp(out, serial[mode][i], sizeof(float) * PIX) != 0)
                j->failures++;
        }
    free(out);
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[4];
    job jobs[4];
    for (int mode = 0; mode < 2; mode++)
        for (size_t i = 0; i < NIMG; i++) {
            char rel[128];
            clipsearch_error err = {0, ""};
            clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
            p.mode = mode ? CLIPSEARCH_PREPROCESS_FAST : CLIPSEARCH_PREPROCESS_EXACT;
            snprintf(rel, sizeof rel, "images/%s", thread_images[i]);
            serial[mode][i] = malloc(sizeof(float) * PIX);
            CHECK(clipsearch_preprocess_file(tu_fixture(rel), &p, serial[mode][i], NULL, &err) ==
                      CLIPSEARCH_OK,
                  "%s", err.message);
        }
    for (int i = 0; i < 4; i++) {
        jobs[i].id = i;
        jobs[i].failures = 0;
        CHECK(pthread_create(&t[i], NULL, worker, &jobs[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(jobs[i].failures == 0, "thread %d: %d results differ from serial", i,
              jobs[i].failures);
    }
    for (int mode = 0; mode < 2; mode++)
        for (size_t i = 0; i < NIMG; i++)
            free(serial[mode][i]);
}

int main(void)
{
    tu_require_fixture("images/astronaut.jpg");
    test_geometry();
    test_window();
    test_params();
    test_threads();
    return tu_finish("test_preprocess");
}
