/* decode_png.c — PNG through libpng, converted as Pillow's convert("RGB"):
 * palette expanded (an index past the end of PLTE, which libpng lets
 * through, is grey (i, i, i) as in Pillow's default palette), gray
 * replicated, alpha/tRNS dropped (not composited), 16-bit samples reduced
 * to their high byte (Pillow's ";16B" raw modes).
 *
 * The orientation is found where Pillow's getexif() finds it: the eXIf
 * chunk, else ImageMagick's "Raw profile type exif" text chunk (hex EXIF);
 * then, if neither gave an Orientation tag, XMP's tiff:Orientation in the
 * "XML:com.adobe.xmp" text.  Text chunks after the image data count too. */
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
    uint8_t *index;  /* palette images: one index a pixel */
    int image_done;  /* rows read: a damaged trailer is ignored */
} png_ctx;

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* ImageMagick's "\nexif\n   LENGTH\nHEX..." as Pillow reads it: the lines
 * after the third newline, hex-decoded (whitespace skipped). */
static int raw_profile_exif(const char *text, size_t len, cs_exif *ex)
{
    size_t at = 0, n = 0;
    int lines = 0, rc;
    uint8_t *bin;
    while (at < len && lines < 3)
        if (text[at++] == '\n')
            lines++;
    if (lines < 3 || !(bin = malloc((len - at) / 2 + 1)))
        return -1;
    for (int hi = -1; at < len; at++) {
        int v = hexval((unsigned char)text[at]);
        if (v < 0) {
            if (text[at] == '\n' || text[at] == ' ' || text[at] == '\r' || text[at] == '\t')
                continue;
            break;
        }
        if (hi < 0) {
            hi = v;
        } else {
            bin[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    rc = cs_exif_parse(bin, n, ex);
    free(bin);
    return rc;
}

/* Pillow's re.search(r'tiff:Orientation(="|>)([0-9])', xmp). */
static int xmp_orientation(const char *text, size_t len)
{
    static const char key[] = "tiff:Orientation";
    const size_t k = sizeof key - 1;
    for (size_t i = 0; i + k < len; i++) {
        if (memcmp(text + i, key, k) != 0)
            continue;
        size_t j = i + k;
        if (j + 2 < len && text[j] == '=' && text[j + 1] == '"' && text[j + 2] >= '0' &&
            text[j + 2] <= '9')
            return text[j + 2] - '0';
        if (j + 1 < len && text[j] == '>' && text[j + 1] >= '0' && text[j + 1] <= '9')
            return text[j + 1] - '0';
    }
    return 0;
}

/* EXIF and orientation from eXIf, the raw profile or XMP (see the top). */
static void png_metadata(png_structp png, png_infop pinfo, clipsearch_image_info *info)
{
    cs_exif ex;
    int have = 0, orientation = 0;
    png_textp text = NULL;
    int ntext = 0;
#ifdef PNG_eXIf_SUPPORTED
    {
        png_uint_32 n = 0;
        png_bytep exif = NULL;
        if (png_get_eXIf_1(png, pinfo, &n, &exif) && exif && cs_exif_parse(exif, n, &ex) == 0)
            have = 1;
    }
#endif
    png_get_text(png, pinfo, &text, &ntext);
    for (int i = 0; i < ntext && !have; i++)
        if (text[i].key && !strcmp(text[i].key, "Raw profile type exif") && text[i].text &&
            raw_profile_exif(text[i].text,
                             text[i].compression >= 1 ? text[i].itxt_length : text[i].text_length,
                             &ex) == 0)
            have = 1;
    if (have) {
        memcpy(info->taken, ex.taken, sizeof info->taken);
        memcpy(info->camera, ex.camera, sizeof info->camera);
        if (ex.has_orientation)
            orientation = ex.orientation;
    }
    for (int i = 0; i < ntext && !orientation; i++)
        if (text[i].key && !strcmp(text[i].key, "XML:com.adobe.xmp") && text[i].text)
            orientation = xmp_orientation(text[i].text, text[i].compression >= 1
                                                            ? text[i].itxt_length
                                                            : text[i].text_length);
    info->orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;
}

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
        return ctx->image_done ? 0 : -1;
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
    png_metadata(ctx->png, ctx->info, info);
    /* Palette images are read as indices and expanded here, so that an
     * index past PLTE is grey as in Pillow (libpng would make it black). */
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_packing(ctx->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(ctx->png);
    if (depth == 16)
        png_set_strip_16(ctx->png);
    if (color & PNG_COLOR_MASK_ALPHA ||
        (color != PNG_COLOR_TYPE_PALETTE && png_get_valid(ctx->png, ctx->info, PNG_INFO_tRNS)))
        png_set_strip_alpha(ctx->png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(ctx->png);
    png_set_interlace_handling(ctx->png);
    png_read_update_info(ctx->png, ctx->info);
    if (color == PNG_COLOR_TYPE_PALETTE
            ? png_get_channels(ctx->png, ctx->info) != 1 ||
                  png_get_bit_depth(ctx->png, ctx->info) != 8 ||
                  png_get_rowbytes(ctx->png, ctx->info) != (size_t)w
            : png_get_channels(ctx->png, ctx->info) != 3 ||
                  png_get_bit_depth(ctx->png, ctx->info) != 8 ||
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
    if (color == PNG_COLOR_TYPE_PALETTE && !(ctx->index = malloc((size_t)w * h))) {
        snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
        ctx->status = CLIPSEARCH_ERR_OUT_OF_MEMORY;
        return -1;
    }
    for (png_uint_32 y = 0; y < h; y++)
        ctx->rows[y] = ctx->index ? ctx->index + (size_t)y * w : ctx->img.rgb + (size_t)y * w * 3;
    png_read_image(ctx->png, ctx->rows);
    if (ctx->index) {
        uint8_t pal[256 * 3];
        png_colorp plte = NULL;
        int n = 0;
        png_get_PLTE(ctx->png, ctx->info, &plte, &n);
        for (int i = 0; i < 256; i++) {
            const int have = plte && i < n;
            pal[3 * i] = have ? plte[i].red : (uint8_t)i;
            pal[3 * i + 1] = have ? plte[i].green : (uint8_t)i;
            pal[3 * i + 2] = have ? plte[i].blue : (uint8_t)i;
        }
        for (size_t i = 0; i < (size_t)w * h; i++)
            memcpy(ctx->img.rgb + 3 * i, pal + 3 * ctx->index[i], 3);
    }
    /* The chunks after the image (text with XMP or EXIF, as Pillow reads
     * them on load); damage there does not lose the image. */
    ctx->image_done = 1;
    png_read_end(ctx->png, ctx->info);
    png_metadata(ctx->png, ctx->info, info);
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
    free(ctx->index);
    free(ctx);
    return st;
}
