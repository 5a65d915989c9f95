/* test_image_heic.c — HEIC: fixture photos are encoded with libheif's HEVC
 * encoder during the test, decoded back through clipsearch, and their
 * preprocessed pixels compared with those of the source photos.  One is
 * stored with a container rotation (irot), one carries EXIF.  Skips (77)
 * when this libheif has no HEVC encoder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#include "clipsearch.h"
#include "testutil.h"

/* x265 (the encoder this test uses to make its HEIC, not clipsearch code)
 * keeps a few small global allocations until exit; LeakSanitizer reads this
 * hook in sanitizer builds and ignores those. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libx265.so\n"; }

#define S 224
#define N (3 * S * S)

/* "Exif\0\0" + little-endian TIFF with IFD0 {Make, Model}, Exif IFD
 * {DateTimeOriginal}. */
static size_t build_exif(uint8_t *b)
{
    static const uint8_t tiff[] = {
        'I', 'I', 42, 0, 8, 0, 0, 0,                       /* header, IFD0 at 8 */
        3, 0,                                              /* 3 entries */
        0x0F, 0x01, 2, 0, 6, 0, 0, 0, 50, 0, 0, 0,         /* Make "Apple" at 50 */
        0x10, 0x01, 2, 0, 10, 0, 0, 0, 56, 0, 0, 0,        /* Model "iPhone 15" at 56 */
        0x69, 0x87, 4, 0, 1, 0, 0, 0, 66, 0, 0, 0,         /* Exif IFD at 66 */
        0, 0, 0, 0,                                        /* no next IFD */
        'A', 'p', 'p', 'l', 'e', 0,                        /* 50 */
        'i', 'P', 'h', 'o', 'n', 'e', ' ', '1', '5', 0,    /* 56 */
        1, 0,                                              /* 66: 1 entry */
        0x03, 0x90, 2, 0, 20, 0, 0, 0, 84, 0, 0, 0,        /* DateTimeOriginal at 84 */
        0, 0, 0, 0,
        '2', '0', '2', '4', ':', '0', '5', ':', '0', '6', ' ', /* 84 */
        '0', '7', ':', '0', '8', ':', '0', '9', 0};
    memcpy(b, "Exif\0\0", 6);
    memcpy(b + 6, tiff, sizeof tiff);
    return 6 + sizeof tiff;
}

/* Encodes img as HEIC at path; orientation is the container's (1 or 6). */
static int encode_heic(const clipsearch_image *img, int orientation, int with_exif,
                       const char *path)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    struct heif_image *himg = NULL;
    struct heif_image_handle *h = NULL;
    struct heif_encoding_options *opt = heif_encoding_options_alloc();
    struct heif_error e;
    uint8_t *plane;
    int stride, rc = -1;

    e = heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &enc);
    if (e.code != heif_error_Ok) {
        rc = 77;
        goto out;
    }
    heif_encoder_set_lossy_quality(enc, 92);
    heif_encoder_set_parameter_string(enc, "x265:log-level", "error");
    if (heif_image_create(img->width, img->height, heif_colorspace_RGB,
                          heif_chroma_interleaved_RGB, &himg).code != heif_error_Ok ||
        heif_image_add_plane(himg, heif_channel_interleaved, img->width, img->height, 8).code !=
            heif_error_Ok)
        goto out;
    plane = heif_image_get_plane(himg, heif_channel_interleaved, &stride);
    for (int y = 0; y < img->height; y++)
        memcpy(plane + (size_t)y * (size_t)stride, img->rgb + (size_t)y * (size_t)img->width * 3,
               (size_t)img->width * 3);
    opt->image_orientation = (enum heif_orientation)orientation;
    e = heif_context_encode_image(ctx, himg, enc, opt, &h);
    if (e.code != heif_error_Ok) {
        fprintf(stderr, "encode: %s\n", e.message);
        goto out;
    }
    if (with_exif) {
        uint8_t exif[256];
        size_t n = build_exif(exif);
        e = heif_context_add_exif_metadata(ctx, h, exif, (int)n);
        if (e.code != heif_error_Ok)
            goto out;
    }
    e = heif_context_write_to_file(ctx, path);
    rc = e.code == heif_error_Ok ? 0 : -1;
out:
    if (h)
        heif_image_handle_release(h);
    if (himg)
        heif_image_release(himg);
    if (enc)
        heif_encoder_release(enc);
    heif_encoding_options_free(opt);
    heif_context_free(ctx);
    return rc;
}

/* Rotates 90 degrees clockwise (EXIF 6's upright view of a stored image). */
static void rotate_cw(const clipsearch_image *in, clipsearch_image *out)
{
    out->width = in->height;
    out->height = in->width;
    out->rgb = malloc((size_t)in->width * (size_t)in->height * 3);
    for (int y = 0; y < in->height; y++)
        for (int x = 0; x < in->width; x++)
            memcpy(out->rgb + ((size_t)x * (size_t)out->width + (size_t)(in->height - 1 - y)) * 3,
                   in->rgb + ((size_t)y * (size_t)in->width + (size_t)x) * 3, 3);
}

static void run_case(const char *fixture, int orientation, int with_exif)
{
    clipsearch_image src = {0, 0, NULL}, upright = {0, 0, NULL}, back = {0, 0, NULL};
    clipsearch_image_info info;
    clipsearch_error err = {0, ""};
    clipsearch_preprocess_params p = clipsearch_preprocess_default_params();
    float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N);
    char rel[128], path[600];
    double max = 0, sum = 0;
    int rc;

    snprintf(rel, sizeof rel, "images/%s", fixture);
    snprintf(path, sizeof path, "%s/%s.heic", tu_tmpdir(), fixture);
    CHECK(clipsearch_image_load(tu_fixture(rel), 0, &src, NULL, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    rc = encode_heic(&src, orientation, with_exif, path);
    if (rc == 77) {
        printf("SKIP: libheif has no HEVC encoder here; HEIC decoding is untested\n");
        exit(77);
    }
    CHECK(rc == 0, "%s: HEIC encode failed", fixture);
    if (orientation == 6)
        rotate_cw(&src, &upright);
    else
        upright = src, src.rgb = NULL;

    CHECK(clipsearch_image_load(path, 0, &back, &info, &err) == CLIPSEARCH_OK, "%s: %s", fixture,
          err.message);
    CHECK(strcmp(info.format, "heif") == 0, "format '%s'", info.format);
    CHECK(back.width == upright.width && back.height == upright.height,
          "%s: decoded %dx%d, want %dx%d", fixture, back.width, back.height, upright.width,
          upright.height);
    CHECK(info.width == back.width && info.height == back.height && info.orientation == 1,
          "info %dx%d orientation %d", info.width, info.height, info.orientation);
    if (with_exif) {
        CHECK(strcmp(info.camera, "Apple iPhone 15") == 0, "camera '%s'", info.camera);
        CHECK(strcmp(info.taken, "2024-05-06 07:08:09") == 0, "taken '%s'", info.taken);
    }
    CHECK(clipsearch_preprocess_image(&upright, &p, a, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(clipsearch_preprocess_file(path, &p, b, NULL, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    for (int i = 0; i < N; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        max = d > max ? d : max;
        sum += d;
    }
    printf("%s as HEIC (orientation %d): preprocessed max |diff| %.4f, mean %.5f\n", fixture,
           orientation, max, sum / N);
    /* Lossy HEVC at quality 92: within a few 8-bit levels on average
     * (1 level = 0.015); a wrong rotation or colour conversion is ~0.5. */
    CHECK(sum / N < 0.03, "%s: mean |diff| %.4f", fixture, sum / N);
    CHECK(max < 0.4, "%s: max |diff| %.4f", fixture, max);
    clipsearch_image_release(&src);
    clipsearch_image_release(&upright);
    clipsearch_image_release(&back);
    free(a);
    free(b);
}

/* Cut and damaged copies: libheif's multi-line messages come out as one line. */
static void check_messages(const char *fixture)
{
    char path[600], cut[700];
    size_t n = 0;
    char *buf;
    int errors = 0;
    snprintf(path, sizeof path, "%s/%s.heic", tu_tmpdir(), fixture);
    snprintf(cut, sizeof cut, "%s/cut.heic", tu_tmpdir());
    buf = tu_read_file(path, &n);
    if (!buf)
        return;
    for (size_t len = 16; len < n; len += n / 23 + 1) {
        clipsearch_image img = {0, 0, NULL};
        clipsearch_error err = {0, ""};
        tu_write_file(cut, buf, len);
        if (clipsearch_image_load(cut, 0, &img, NULL, &err) != CLIPSEARCH_OK) {
            errors++;
            CHECK(strchr(err.message, '\n') == NULL && strchr(err.message, '\r') == NULL,
                  "cut to %zu: message on more than one line: %s", len, err.message);
            if (errors == 1)
                printf("cut HEIC: %s\n", err.message);
        }
        clipsearch_image_release(&img);
    }
    CHECK(errors > 0, "no cut copy of %s failed", fixture);
    free(buf);
}

int main(void)
{
    tu_require_fixture("images/astronaut.jpg");
    if (!heif_have_encoder_for_format(heif_compression_HEVC)) {
        printf("SKIP: libheif has no HEVC encoder here; HEIC decoding is untested\n");
        return 77;
    }
    run_case("astronaut.jpg", 1, 1);
    run_case("rocket.jpg", 6, 0);
    check_messages("astronaut.jpg");
    return tu_finish("test_image_heic");
}
