/* decode_png.c — PNG through libpng, converted as Pillow's convert("RGB"):
 * palette expanded, gray replicated, alpha/tRNS dropped (not composited),
 * 16-bit samples reduced to their high byte (Pillow's ";16B" raw modes). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "error.h"
#include "exif.h"
#include "image_decode.h"

typedef struct png_ctx {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size, pos;
    char msg[256];
    clipsearch_status status; /* set before a longjmp of our own */
    clipsearch_image img;
    png_bytep *rows;
} png_ctx;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_ctx *ctx = png_get_error_ptr(png);
    if (!ctx->status) {
        snprintf(ctx->msg, sizeof ctx->msg, "PNG data is damaged (%s)", msg);
        ctx->status = CLIPSEARCH_ERR_FORMAT;
    }
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* e.g. a damaged ancillary chunk: libpng skips it */
}

static void on_png_read(png_structp png, png_bytep out, size_t n)
{
    png_ctx *ctx = png_get_io_ptr(png);
    if (n > ctx->size - ctx->pos) {
        snprintf(ctx->msg, sizeof ctx->msg, "PNG data ends early (truncated file)");
        ctx->status = CLIPSEARCH_ERR_FORMAT;
        png_error(png, "truncated");
    }
    memcpy(out, ctx->data + ctx->pos, n);
    ctx->pos += n;
}

/* May longjmp; only touches *ctx. */
static int png_run(png_ctx *ctx, const cs_decode_opts *opts, clipsearch_image_info *info,
                   clipsearch_error *err)
{
    png_uint_32 w, h;
    int depth, color, interlace;
    clipsearch_status st;

    if (setjmp(png_jmpbuf(ctx->png)))
        return -1;
    png_set_read_fn(ctx->png, ctx, on_png_read);
    png_read_info(ctx->png, ctx->info);
    png_get_IHDR(ctx->png, ctx->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    st = cs_check_dimensions("PNG", w, h, opts->max_pixels, err);
    if (st != CLIPSEARCH_OK) {
        ctx->status = st;
        return -2;
    }
    snprintf(info->format, sizeof info->format, "png");
    info->stored_width = (int)w;
    info->stored_height = (int)h;
#ifdef PNG_eXIf_SUPPORTED
    {
        png_uint_32 n = 0;
        png_bytep exif = NULL;
        cs_exif ex;
        if (png_get_eXIf_1(ctx->png, ctx->info, &n, &exif) && exif &&
            cs_exif_parse(exif, n, &ex) == 0) {
            info->orientation = ex.orientation;
            memcpy(info->taken, ex.taken, sizeof info->taken);
            memcpy(info->camera, ex.camera, sizeof info->camera);
        }
    }
#endif
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(ctx->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(ctx->png);
    if (depth == 16)
        png_set_strip_16(ctx->png);
    if (color & PNG_COLOR_MASK_ALPHA || png_get_valid(ctx->png, ctx->info, PNG_INFO_tRNS))
        png_set_strip_alpha(ctx->png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(ctx->png);
    png_set_interlace_handling(ctx->png);
    png_read_update_info(ctx->png, ctx->info);
    if (png_get_channels(ctx->png, ctx->info) != 3 || png_get_bit_depth(ctx->png, ctx->info) != 8 ||
        png_get_rowbytes(ctx->png, ctx->info) != (size_t)w * 3) {
        snprintf(ctx->msg, sizeof ctx->msg, "PNG colour layout could not be converted to RGB");
        ctx->status = CLIPSEARCH_ERR_UNSUPPORTED;
        return -1;
    }
    st = cs_image_alloc(&ctx->img, (int)w, (int)h, err);
    if (st != CLIPSEARCH_OK) {
        ctx->status = st;
        return -2;
    }
    ctx->rows = malloc(sizeof *ctx->rows * h);
    if (!ctx->rows) {
        snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
        ctx->status = CLIPSEARCH_ERR_OUT_OF_MEMORY;
        return -1;
    }
    for (png_uint_32 y = 0; y < h; y++)
        ctx->rows[y] = ctx->img.rgb + (size_t)y * w * 3;
    png_read_image(ctx->png, ctx->rows);
    return 0;
}

clipsearch_status cs_decode_png(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err)
{
    clipsearch_status st = CLIPSEARCH_OK;
    png_ctx *ctx = calloc(1, sizeof *ctx);
    int rc;
    if (!ctx)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    /* The budget straight from IHDR (always the first chunk), before libpng
     * reads on: a bomb is refused even when the rest of the file is junk. */
    if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        int64_t w = (int64_t)data[16] << 24 | data[17] << 16 | data[18] << 8 | data[19];
        int64_t h = (int64_t)data[20] << 24 | data[21] << 16 | data[22] << 8 | data[23];
        if (w > 0 && h > 0) {
            st = cs_check_dimensions("PNG", w, h, opts->max_pixels, err);
            if (st != CLIPSEARCH_OK)
                goto out;
        }
    }
    ctx->data = data;
    ctx->size = size;
    ctx->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_png_error, on_png_warning);
    if (ctx->png)
        ctx->info = png_create_info_struct(ctx->png);
    if (!ctx->png || !ctx->info) {
        st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    rc = png_run(ctx, opts, info, err);
    if (rc == -1)
        st = cs_error_set(err, ctx->status ? ctx->status : CLIPSEARCH_ERR_FORMAT, "%s", ctx->msg);
    else if (rc == -2)
        st = ctx->status;
out:
    if (ctx->png)
        png_destroy_read_struct(&ctx->png, ctx->info ? &ctx->info : NULL, NULL);
    if (st == CLIPSEARCH_OK)
        *out = ctx->img;
    else
        clipsearch_image_release(&ctx->img);
    free(ctx->rows);
    free(ctx);
    return st;
}
