/* thumbs.c — thumbnail rendering and the disk cache (thumbs.h). */
#include "thumbs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#include "error.h"
#include "image_decode.h"
#include "preprocess.h"

/* ---- rendering ------------------------------------------------------------ */

typedef struct enc_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
} enc_err;

static void enc_error_exit(j_common_ptr ci)
{
    enc_err *e = (enc_err *)ci->err;
    longjmp(e->jb, 1);
}

static void enc_output_message(j_common_ptr ci) { (void)ci; }

/* Encodes rgb[h][w][3] as a baseline JPEG (quality 85). */
static clipsearch_status encode_jpeg(const uint8_t *rgb, int w, int h, uint8_t **out,
                                     size_t *out_len, clipsearch_error *err)
{
    struct jpeg_compress_struct ci;
    enc_err e;
    unsigned char *volatile mem = NULL;
    unsigned long volatile mem_len = 0;
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = enc_error_exit;
    e.mgr.output_message = enc_output_message;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&ci);
        free(mem);
        return cs_error_set(err, CLIPSEARCH_ERR_INTERNAL, "JPEG encoding failed");
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, (unsigned char **)&mem, (unsigned long *)&mem_len);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 85, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)ci.next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    *out = mem;
    *out_len = mem_len;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_thumb_render(const uint8_t *data, size_t size, int max_side,
                                  int64_t max_pixels, uint8_t **jpeg, size_t *jpeg_len,
                                  int *w, int *h, clipsearch_error *err)
{
    cs_decode_opts opts;
    clipsearch_image img = {0};
    clipsearch_image_info info;
    uint8_t *small = NULL;
    int tw, th;
    clipsearch_status r;
    *jpeg = NULL;
    *jpeg_len = 0;
    if (max_side < 1)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "bad thumbnail size");
    memset(&opts, 0, sizeof opts);
    memset(&info, 0, sizeof info);
    opts.max_pixels = max_pixels > 0 ? max_pixels : CLIPSEARCH_DEFAULT_MAX_PIXELS;
    /* DCT scaling keeps the short side >= max_side, so the long side (the
     * one that matters) is too, and the bicubic pass still downscales. */
    opts.min_short_side = max_side;
    if ((r = cs_image_decode(data, size, &opts, &img, &info, err)) != CLIPSEARCH_OK)
        return r;
    if (img.width >= img.height) {
        tw = img.width > max_side ? max_side : img.width;
        th = (int)(((int64_t)img.height * tw + img.width / 2) / img.width);
    } else {
        th = img.height > max_side ? max_side : img.height;
        tw = (int)(((int64_t)img.width * th + img.height / 2) / img.height);
    }
    if (tw < 1)
        tw = 1;
    if (th < 1)
        th = 1;
    if (tw == img.width && th == img.height) {
        r = encode_jpeg(img.rgb, tw, th, jpeg, jpeg_len, err);
    } else if (!(small = malloc((size_t)tw * (size_t)th * 3))) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    } else if ((r = cs_resize_bicubic_window(img.rgb, img.width, img.height, tw, th, 0, 0, tw,
                                             th, small, err)) == CLIPSEARCH_OK) {
        r = encode_jpeg(small, tw, th, jpeg, jpeg_len, err);
    }
    if (r == CLIPSEARCH_OK) {
        *w = tw;
        *h = th;
    }
    free(small);
    clipsearch_image_release(&img);
    return r;
}

/* ---- the disk cache ---------------------------------------------------------- */

void cs_thumb_cache_dir(char *buf, size_t size)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (x && x[0] == '/')
        snprintf(buf, size, "%s/clipsearch/thumbs", x);
    else if (home && home[0] == '/')
        snprintf(buf, size, "%s/.cache/clipsearch/thumbs", home);
    else if (size)
        buf[0] = '\0';
}

static int key_ok(const char *key)
{
    size_t n = strlen(key);
    return n >= 3 && n < 100 && strspn(key, "0123456789abcdef-") == n;
}

/* dir/ab/KEY.jpg: 256 subfolders keep each folder small. */
static int cache_path(const char *dir, const char *key, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%.2s/%s.jpg", dir, key, key);
    return n > 0 && (size_t)n < size;
}

int cs_thumb_cache_read(const char *dir, const char *key, uint8_t **data, size_t *len)
{
    char path[PATH_MAX];
    clipsearch_error e;
    *data = NULL;
    *len = 0;
    if (!dir || !*dir || !key_ok(key) || !cache_path(dir, key, path, sizeof path))
        return 0;
    if (cs_read_file(path, data, len, &e) != CLIPSEARCH_OK)
        return 0;
    /* A JPEG starts with SOI and ends with EOI; anything else is not ours. */
    if (*len < 4 || (*data)[0] != 0xFF || (*data)[1] != 0xD8 || (*data)[*len - 2] != 0xFF ||
        (*data)[*len - 1] != 0xD9) {
        free(*data);
        *data = NULL;
        *len = 0;
        return 0;
    }
    return 1;
}

static int mkdir_p(char *path)
{
    for (char *s = path + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST)
                return -1;
            *s = c;
            if (!c)
                return 0;
        }
    }
}

int cs_thumb_cache_write(const char *dir, const char *key, const uint8_t *data, size_t len)
{
    static unsigned counter; /* distinct temporary names within one process */
    char path[PATH_MAX], tmp[PATH_MAX + 64], folder[PATH_MAX];
    unsigned k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    size_t done = 0;
    int fd, n, ok;
    if (!dir || !*dir || !key_ok(key) || !cache_path(dir, key, path, sizeof path))
        return -1;
    n = snprintf(folder, sizeof folder, "%s/%.2s", dir, key);
    if (n <= 0 || (size_t)n >= sizeof folder || mkdir_p(folder) != 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), k);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        return -1;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    ok = done == len;
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
