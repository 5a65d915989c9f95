/* decode_jxl.c — JPEG XL through libjxl (bare codestream or container),
 * the first frame, 8-bit RGB in the colour space libjxl decodes to by
 * default (the image's own, sRGB for XYB-coded files); alpha dropped, gray
 * replicated.  libjxl is told to keep the stored orientation, which it
 * reports (same values as EXIF) and the front end applies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jxl/decode.h>

#include "error.h"
#include "image_decode.h"

clipsearch_status cs_decode_jxl(const uint8_t *data, size_t size,
                                const cs_decode_opts *opts, clipsearch_image *out,
                                clipsearch_image_info *info, clipsearch_error *err)
{
    JxlDecoder *dec = JxlDecoderCreate(NULL);
    JxlBasicInfo bi;
    JxlPixelFormat pf = {3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
    clipsearch_image img = {0, 0, NULL};
    uint8_t *gray = NULL;
    clipsearch_status st = CLIPSEARCH_OK;
    int have_info = 0;

    memset(&bi, 0, sizeof bi);
    if (!dec)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    if (JxlDecoderSubscribeEvents(dec, JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE) != JXL_DEC_SUCCESS ||
        JxlDecoderSetKeepOrientation(dec, JXL_TRUE) != JXL_DEC_SUCCESS ||
        JxlDecoderSetInput(dec, data, size) != JXL_DEC_SUCCESS) {
        st = cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "JPEG XL decoder setup failed");
        goto out;
    }
    /* The input is not closed: a file that ends early then asks for more
     * input, which says "truncated" better than a decoding error. */
    for (;;) {
        JxlDecoderStatus s = JxlDecoderProcessInput(dec);
        if (s == JXL_DEC_ERROR) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "JPEG XL data is damaged");
            goto out;
        }
        if (s == JXL_DEC_NEED_MORE_INPUT) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "JPEG XL data ends early (truncated file)");
            goto out;
        }
        if (s == JXL_DEC_BASIC_INFO) {
            if (JxlDecoderGetBasicInfo(dec, &bi) != JXL_DEC_SUCCESS) {
                st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "JPEG XL header is damaged");
                goto out;
            }
            st = cs_check_dimensions("JPEG XL", bi.xsize, bi.ysize, opts->max_pixels, err);
            if (st != CLIPSEARCH_OK)
                goto out;
            have_info = 1;
            snprintf(info->format, sizeof info->format, "jxl");
            info->stored_width = (int)bi.xsize;
            info->stored_height = (int)bi.ysize;
            info->orientation = bi.orientation >= 1 && bi.orientation <= 8 ? (int)bi.orientation : 1;
            pf.num_channels = bi.num_color_channels == 1 ? 1 : 3;
            st = cs_image_alloc(&img, (int)bi.xsize, (int)bi.ysize, err);
            if (st != CLIPSEARCH_OK)
                goto out;
            if (pf.num_channels == 1 && !(gray = malloc((size_t)bi.xsize * bi.ysize))) {
                st = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
                goto out;
            }
        } else if (s == JXL_DEC_NEED_IMAGE_OUT_BUFFER) {
            size_t need = 0, have;
            if (!have_info) {
                st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "JPEG XL header is damaged");
                goto out;
            }
            have = (size_t)bi.xsize * bi.ysize * pf.num_channels;
            if (JxlDecoderImageOutBufferSize(dec, &pf, &need) != JXL_DEC_SUCCESS || need != have ||
                JxlDecoderSetImageOutBuffer(dec, &pf, gray ? gray : img.rgb, have) !=
                    JXL_DEC_SUCCESS) {
                st = cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED,
                                  "JPEG XL image could not be converted to 8-bit RGB");
                goto out;
            }
        } else if (s == JXL_DEC_FULL_IMAGE) {
            break; /* the first frame */
        } else if (s == JXL_DEC_SUCCESS) {
            st = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "JPEG XL file has no image");
            goto out;
        }
    }
    if (gray)
        for (size_t i = 0; i < (size_t)bi.xsize * bi.ysize; i++)
            img.rgb[3 * i] = img.rgb[3 * i + 1] = img.rgb[3 * i + 2] = gray[i];
    *out = img;
    img.rgb = NULL;
out:
    clipsearch_image_release(&img);
    free(gray);
    JxlDecoderDestroy(dec);
    return st;
}
