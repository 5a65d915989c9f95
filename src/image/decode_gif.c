/* decode_gif.c — GIF through giflib, the first frame only, as Pillow 9.4
 * (Debian 12's) shows it with convert("RGB"):
 *
 *  - the canvas is the logical screen, grown to hold the frame if the frame
 *    reaches past it;
 *  - canvas pixels outside the frame take the transparent index when the
 *    frame's Graphic Control Extension has one, else index 0;
 *  - transparent pixels show their palette colour (convert("RGB") drops the
 *    transparency, it does not composite);
 *  - an index past the end of the colour table is grey (i, i, i), Pillow's
 *    default palette.
 *
 * Only the records up to the first image are read, so a long animation
 * costs no more than a still. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

#include "error.h"
#include "image_decode.h"

typedef struct gif_mem {
    const uint8_t *data;
    size_t size, pos;
} gif_mem;

static int gif_read(GifFileType *gif, GifByteType *buf, int n)
{
    gif_mem *m = gif->UserData;
    size_t k = n < 0 ? 0 : (size_t)n;
    if (k > m->size - m->pos)
        k = m->size - m->pos;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (int)k;
}

static clipsearch_status gif_fail(clipsearch_error *err, int code, const char *what)
{
    const char *why = GifErrorString(code);
    if (code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON)
        why = "truncated file";
    return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "GIF %s (%s)", what,
                        why ? why : "damaged data");
}

clipsearch_status cs_decode_gif(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err)
{
    gif_mem m = {data, size, 0};
    GifFileType *gif = NULL;
    GifPixelType *line = NULL;
    uint8_t *index = NULL; /* canvas of palette indices */
    clipsearch_image img = {0, 0, NULL};
    clipsearch_status st = CLIPSEARCH_OK;
    int code = 0, transparent = -1;
    GifRecordType rec;

    gif = DGifOpen(&m, gif_read, &code);
    if (!gif)
        return gif_fail(err, code, "header is damaged");
    st = cs_check_dimensions("GIF", gif->SWidth, gif->SHeight, opts->max_pixels, err);
    if (st != CLIPSEARCH_OK)
        goto out;
    for (;;) {
        if (DGifGetRecordType(gif, &rec) == GIF_ERROR) {
            st = gif_fail(err, gif->Error, "data is damaged");
            goto out;
        }
        if (rec == TERMINATE_RECORD_TYPE) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "GIF file has no image");
            goto out;
        }
        if (rec == EXTENSION_RECORD_TYPE) {
            int ext = 0;
            GifByteType *block = NULL;
            if (DGifGetExtension(gif, &ext, &block) == GIF_ERROR) {
                st = gif_fail(err, gif->Error, "extension is damaged");
                goto out;
            }
            if (ext == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4) {
                GraphicsControlBlock gcb;
                if (DGifExtensionToGCB(block[0], block + 1, &gcb) == GIF_OK)
                    transparent = gcb.TransparentColor;
            }
            while (block) {
                if (DGifGetExtensionNext(gif, &block) == GIF_ERROR) {
                    st = gif_fail(err, gif->Error, "extension is damaged");
                    goto out;
                }
            }
            continue;
        }
        if (rec == IMAGE_DESC_RECORD_TYPE)
            break;
    }
    if (DGifGetImageDesc(gif) == GIF_ERROR) {
        st = gif_fail(err, gif->Error, "image descriptor is damaged");
        goto out;
    }
    {
        const GifImageDesc *d = &gif->Image;
        const ColorMapObject *cmap = d->ColorMap ? d->ColorMap : gif->SColorMap;
        int64_t cw = gif->SWidth, ch = gif->SHeight;
        uint8_t pal[256 * 3];
        if ((int64_t)d->Left + d->Width > cw)
            cw = (int64_t)d->Left + d->Width;
        if ((int64_t)d->Top + d->Height > ch)
            ch = (int64_t)d->Top + d->Height;
        st = cs_check_dimensions("GIF", cw, ch, opts->max_pixels, err);
        if (st == CLIPSEARCH_OK && (d->Width <= 0 || d->Height <= 0 || d->Left < 0 || d->Top < 0))
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "GIF frame is empty (%dx%d)", d->Width,
                              d->Height);
        if (st != CLIPSEARCH_OK)
            goto out;
        for (int i = 0; i < 256; i++) {
            const int have = cmap && cmap->Colors && i < cmap->ColorCount;
            pal[3 * i] = have ? cmap->Colors[i].Red : (uint8_t)i;
            pal[3 * i + 1] = have ? cmap->Colors[i].Green : (uint8_t)i;
            pal[3 * i + 2] = have ? cmap->Colors[i].Blue : (uint8_t)i;
        }
        snprintf(info->format, sizeof info->format, "gif");
        info->stored_width = (int)cw;
        info->stored_height = (int)ch;
        info->orientation = 1;
        index = malloc((size_t)cw * (size_t)ch);
        line = malloc((size_t)d->Width);
        if (!index || !line) {
            st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
            goto out;
        }
        memset(index, transparent >= 0 ? transparent : 0, (size_t)cw * (size_t)ch);
        {
            static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
            const int passes = d->Interlace ? 4 : 1;
            for (int p = 0; p < passes; p++)
                for (int y = d->Interlace ? start[p] : 0; y < d->Height;
                     y += d->Interlace ? step[p] : 1) {
                    if (DGifGetLine(gif, line, d->Width) == GIF_ERROR) {
                        st = gif_fail(err, gif->Error, "image data is damaged");
                        goto out;
                    }
                    memcpy(index + (size_t)(d->Top + y) * (size_t)cw + (size_t)d->Left, line,
                           (size_t)d->Width);
                }
        }
        st = cs_image_alloc(&img, (int)cw, (int)ch, err);
        if (st != CLIPSEARCH_OK)
            goto out;
        for (size_t i = 0; i < (size_t)cw * (size_t)ch; i++)
            memcpy(img.rgb + 3 * i, pal + 3 * index[i], 3);
    }
    *out = img;
    img.rgb = NULL;
out:
    clipsearch_image_release(&img);
    free(index);
    free(line);
    DGifCloseFile(gif, &code);
    return st;
}
