/* decode_jpeg.c — JPEG through libjpeg-turbo, decoded the way Pillow does
 * (ISLOW IDCT, fancy upsampling, Adobe CMYK inverted then Pillow's
 * cmyk2rgb), with optional DCT scaling for the fast path. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "error.h"
#include "exif.h"
#include "image_decode.h"

/* A progressive JPEG with thousands of tiny scans is a known way to make a
 * small file decode for minutes; libjpeg-turbo's own tools stop at 500. */
#define CS_JPEG_MAX_SCANS 500

typedef struct jpeg_ctx {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
    clipsearch_status status; /* of a longjmp */
    uint8_t *row;             /* CMYK scanline */
    clipsearch_image img;
    int created;
} jpeg_ctx;

static void on_error_exit(j_common_ptr c)
{
    jpeg_ctx *ctx = (jpeg_ctx *)c->client_data;
    char buf[JMSG_LENGTH_MAX];
    int code = c->err->msg_code;
    c->err->format_message(c, buf);
    if (code == JERR_BAD_PRECISION || code == JERR_CONVERSION_NOTIMPL ||
        code == JERR_NOT_COMPILED || code == JERR_NOTIMPL) {
        snprintf(ctx->msg, sizeof ctx->msg, "JPEG uses an unsupported feature (%s)", buf);
        ctx->status = CLIPSEARCH_ERR_UNSUPPORTED;
    } else {
        snprintf(ctx->msg, sizeof ctx->msg, "JPEG data is damaged (%s)", buf);
        ctx->status = CLIPSEARCH_ERR_FORMAT;
    }
    longjmp(ctx->jb, 1);
}

/* Warnings: a premature end of data is an error (Pillow refuses truncated
 * files too); the rest (e.g. extraneous bytes) are tolerated like Pillow. */
static void on_emit_message(j_common_ptr c, int level)
{
    jpeg_ctx *ctx = (jpeg_ctx *)c->client_data;
    if (level < 0) {
        if (c->err->msg_code == JWRN_JPEG_EOF) {
            snprintf(ctx->msg, sizeof ctx->msg, "JPEG data ends early (truncated file)");
            ctx->status = CLIPSEARCH_ERR_FORMAT;
            longjmp(ctx->jb, 1);
        }
        c->err->num_warnings++;
    }
}

static void on_output_message(j_common_ptr c) { (void)c; }

static void on_progress(j_common_ptr c)
{
    jpeg_ctx *ctx = (jpeg_ctx *)c->client_data;
    if (c->is_decompressor && ctx->cinfo.input_scan_number > CS_JPEG_MAX_SCANS) {
        snprintf(ctx->msg, sizeof ctx->msg, "JPEG has more than %d progressive scans",
                 CS_JPEG_MAX_SCANS);
        ctx->status = CLIPSEARCH_ERR_FORMAT;
        longjmp(ctx->jb, 1);
    }
}

/* Pillow: CMYK JPEGs are read as "CMYK;I" (Adobe's inverted convention),
 * then converted with cmyk2rgb: nk - nk*c/255 in its rounded fixed point. */
static void cmyk_row_to_rgb(const uint8_t *in, uint8_t *out, unsigned width)
{
    for (unsigned x = 0; x < width; x++, in += 4, out += 3) {
        int nk = in[3]; /* 255 - (255 - raw k) */
        for (int c = 0; c < 3; c++) {
            int ink = 255 - in[c];
            int t = ink * nk + 128;
            int v = nk - (((t >> 8) + t) >> 8);
            out[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

/* The part that may longjmp; everything it touches lives in *ctx, which is
 * not a local of this function, so nothing is clobbered. */
static int jpeg_run(jpeg_ctx *ctx, const uint8_t *data, size_t size,
                    const cs_decode_opts *opts, clipsearch_image_info *info,
                    clipsearch_error *err)
{
    struct jpeg_decompress_struct *ci = &ctx->cinfo;
    clipsearch_status st;
    int cmyk;

    if (setjmp(ctx->jb))
        return -1;
    jpeg_create_decompress(ci);
    ctx->created = 1;
    ci->client_data = ctx;
    ctx->progress.progress_monitor = on_progress;
    ci->progress = &ctx->progress;
    jpeg_mem_src(ci, data, (unsigned long)size);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(ci, TRUE);

    st = cs_check_dimensions("JPEG", ci->image_width, ci->image_height, opts->max_pixels, err);
    if (st != CLIPSEARCH_OK) {
        ctx->status = st;
        return -2; /* err already filled */
    }
    snprintf(info->format, sizeof info->format, "jpeg");
    info->stored_width = (int)ci->image_width;
    info->stored_height = (int)ci->image_height;
    for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next) {
        cs_exif ex;
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0) {
            if (cs_exif_parse(m->data, m->data_length, &ex) == 0) {
                info->orientation = ex.orientation;
                memcpy(info->taken, ex.taken, sizeof info->taken);
                memcpy(info->camera, ex.camera, sizeof info->camera);
            }
            break; /* the first Exif segment, as Pillow */
        }
    }

    cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB; /* gray is replicated */
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    if (opts->min_short_side > 0) {
        unsigned short_side = ci->image_width < ci->image_height ? ci->image_width
                                                                 : ci->image_height;
        for (unsigned denom = 8; denom >= 2; denom /= 2) {
            if ((short_side + denom - 1) / denom >= (unsigned)opts->min_short_side) {
                ci->scale_num = 1;
                ci->scale_denom = denom;
                break;
            }
        }
    }
    jpeg_start_decompress(ci);
    if (ci->output_components != (cmyk ? 4 : 3)) {
        snprintf(ctx->msg, sizeof ctx->msg, "JPEG has an unsupported colour layout (%d components)",
                 ci->output_components);
        ctx->status = CLIPSEARCH_ERR_UNSUPPORTED;
        return -1;
    }
    st = cs_image_alloc(&ctx->img, (int)ci->output_width, (int)ci->output_height, err);
    if (st != CLIPSEARCH_OK) {
        ctx->status = st;
        return -2;
    }
    if (cmyk) {
        ctx->row = malloc((size_t)ci->output_width * 4);
        if (!ctx->row) {
            snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
            ctx->status = CLIPSEARCH_ERR_OUT_OF_MEMORY;
            return -1;
        }
    }
    while (ci->output_scanline < ci->output_height) {
        /* Several rows per call: libjpeg-turbo then upsamples straight into
         * the image instead of through its spare-row buffer. */
        JSAMPROW rows[16];
        JDIMENSION first = ci->output_scanline, want = ci->output_height - first, got;
        if (want > 16 || cmyk)
            want = cmyk ? 1 : 16;
        for (JDIMENSION r = 0; r < want; r++)
            rows[r] = cmyk ? ctx->row
                           : ctx->img.rgb + (size_t)(first + r) * ci->output_width * 3;
        got = jpeg_read_scanlines(ci, rows, want);
        if (got == 0) {
            snprintf(ctx->msg, sizeof ctx->msg, "JPEG data ends early");
            ctx->status = CLIPSEARCH_ERR_FORMAT;
            return -1;
        }
        if (cmyk)
            cmyk_row_to_rgb(ctx->row, ctx->img.rgb + (size_t)first * ci->output_width * 3,
                            ci->output_width);
    }
    /* Every pixel is decoded; a missing EOI marker after this is harmless,
     * so jpeg_finish_decompress (which would look for it) is skipped. */
    return 0;
}

clipsearch_status cs_decode_jpeg(const uint8_t *data, size_t size,
                                 const cs_decode_opts *opts, clipsearch_image *out,
                                 clipsearch_image_info *info, clipsearch_error *err)
{
    clipsearch_status st = CLIPSEARCH_OK;
    jpeg_ctx *ctx = calloc(1, sizeof *ctx);
    int rc;
    if (!ctx)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    ctx->cinfo.err = jpeg_std_error(&ctx->jerr);
    ctx->jerr.error_exit = on_error_exit;
    ctx->jerr.emit_message = on_emit_message;
    ctx->jerr.output_message = on_output_message;
    ctx->cinfo.client_data = ctx;
    rc = jpeg_run(ctx, data, size, opts, info, err);
    if (rc == -1)
        st = cs_error_set(err, ctx->status ? ctx->status : CLIPSEARCH_ERR_FORMAT, "%s", ctx->msg);
    else if (rc == -2)
        st = ctx->status;
    if (ctx->created)
        jpeg_destroy_decompress(&ctx->cinfo);
    if (st == CLIPSEARCH_OK) {
        *out = ctx->img;
    } else {
        clipsearch_image_release(&ctx->img);
    }
    free(ctx->row);
    free(ctx);
    return st;
}
