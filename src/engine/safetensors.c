/* safetensors.c — validating, memory-mapped safetensors reader.
 *
 * Layout: u64 little-endian N, then N bytes of UTF-8 JSON mapping tensor
 * names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative
 * to the end of the header), optionally "__metadata__", then the data.
 * Everything is checked before use: header length against the file size,
 * dtype names, shape products against overflow, end - begin against
 * numel * dtype size, end against the data size, overlaps between tensors. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/* Same limit as the reference implementation's header size. */
#define CS_MAX_HEADER_SIZE (100u * 1000 * 1000)

static const struct {
    const char *name;
    cs_dtype dtype;
    size_t size;
} dtype_table[] = {
    {"F32", CS_DTYPE_F32, 4}, {"F16", CS_DTYPE_F16, 2}, {"BF16", CS_DTYPE_BF16, 2},
    {"F64", CS_DTYPE_F64, 8}, {"I64", CS_DTYPE_I64, 8}, {"I32", CS_DTYPE_I32, 4},
    {"I16", CS_DTYPE_I16, 2}, {"I8", CS_DTYPE_I8, 1},   {"U8", CS_DTYPE_U8, 1},
    {"BOOL", CS_DTYPE_BOOL, 1},
};

const char *cs_dtype_name(cs_dtype dtype)
{
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dtype == dtype)
            return dtype_table[i].name;
    return "?";
}

size_t cs_dtype_size(cs_dtype dtype)
{
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dtype == dtype)
            return dtype_table[i].size;
    return 0;
}

static int parse_dtype(const char *s, cs_dtype *out)
{
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (!strcmp(dtype_table[i].name, s)) {
            *out = dtype_table[i].dtype;
            return 1;
        }
    return 0;
}

/* A JSON number that is a non-negative integer exactly representable. */
static int json_uint(const cJSON *item, uint64_t *out)
{
    double v;
    if (!cJSON_IsNumber(item))
        return 0;
    v = item->valuedouble;
    if (!(v >= 0) || v > 9007199254740992.0 || v != floor(v))
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static int compare_tensor_name(const void *a, const void *b)
{
    return strcmp(((const cs_tensor *)a)->name, ((const cs_tensor *)b)->name);
}

static int compare_tensor_offset(const void *a, const void *b)
{
    const cs_tensor *x = *(const cs_tensor *const *)a, *y = *(const cs_tensor *const *)b;
    if (x->data != y->data)
        return (const uint8_t *)x->data < (const uint8_t *)y->data ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

void cs_safetensors_close(cs_safetensors *st)
{
    if (!st)
        return;
    if (st->mapped && st->base)
        munmap((void *)st->base, st->size);
    for (int i = 0; i < st->n_tensors; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    free(st->path);
    free(st);
}

/* Parses and validates the header of st->base[0..st->size). */
static clipsearch_status parse_header(cs_safetensors *st, clipsearch_error *err)
{
    clipsearch_status rc = CLIPSEARCH_OK;
    cJSON *root = NULL;
    const cJSON *item;
    char *json = NULL;
    const cs_tensor **by_offset = NULL;
    uint64_t header_len = 0;
    size_t data_start, data_size;
    int count = 0, n = 0;

    if (st->size < 8)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s: file too small for a safetensors header (%zu bytes)",
                            st->path, st->size);
    for (int i = 7; i >= 0; i--)
        header_len = header_len << 8 | st->base[i];
    if (header_len < 2 || header_len > CS_MAX_HEADER_SIZE || header_len > st->size - 8)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                            "%s: header length %llu does not fit the file (%zu bytes): "
                            "truncated or not a safetensors file",
                            st->path, (unsigned long long)header_len, st->size);
    data_start = 8 + (size_t)header_len;
    data_size = st->size - data_start;

    /* cJSON needs a NUL-terminated copy. */
    json = malloc((size_t)header_len + 1);
    if (!json)
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", st->path);
    memcpy(json, st->base + 8, (size_t)header_len);
    json[header_len] = '\0';
    if (strlen(json) != header_len) {
        /* Trailing spaces are allowed padding; a NUL inside is not. */
        rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: header contains a NUL byte", st->path);
        goto out;
    }
    root = cJSON_ParseWithLength(json, (size_t)header_len);
    if (!root || !cJSON_IsObject(root)) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: header is not a JSON object", st->path);
        goto out;
    }
    cJSON_ArrayForEach(item, root) count++;
    st->tensors = calloc(count ? (size_t)count : 1, sizeof *st->tensors);
    if (!st->tensors) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", st->path);
        goto out;
    }
    cJSON_ArrayForEach(item, root) {
        const cJSON *dt, *shape, *offsets, *dim;
        cs_tensor *t = &st->tensors[n];
        uint64_t begin, end, numel = 1, want;
        size_t esize;

        if (!item->string) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: header entry without a name", st->path);
            goto out;
        }
        if (!strcmp(item->string, "__metadata__"))
            continue;
        dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
        shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
        offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
        if (!cJSON_IsObject(item) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) ||
            !cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s: tensor '%s': header entry lacks dtype, shape or data_offsets",
                              st->path, item->string);
            goto out;
        }
        if (!parse_dtype(dt->valuestring, &t->dtype)) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_UNSUPPORTED, "%s: tensor '%s': unknown dtype '%s'",
                              st->path, item->string, dt->valuestring);
            goto out;
        }
        if (cJSON_GetArraySize(shape) > CS_MAX_DIMS) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: tensor '%s': more than %d dimensions",
                              st->path, item->string, CS_MAX_DIMS);
            goto out;
        }
        t->ndim = 0;
        cJSON_ArrayForEach(dim, shape) {
            uint64_t d;
            if (!json_uint(dim, &d) || d > (uint64_t)INT64_MAX ||
                (d != 0 && numel > (uint64_t)INT64_MAX / d)) {
                rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: tensor '%s': invalid shape",
                                  st->path, item->string);
                goto out;
            }
            numel *= d;
            t->shape[t->ndim++] = (int64_t)d;
        }
        esize = cs_dtype_size(t->dtype);
        if (!json_uint(cJSON_GetArrayItem(offsets, 0), &begin) ||
            !json_uint(cJSON_GetArrayItem(offsets, 1), &end) || end < begin || end > data_size) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s: tensor '%s': data offsets outside the file's %zu data bytes "
                              "(truncated file?)",
                              st->path, item->string, data_size);
            goto out;
        }
        if (numel > (uint64_t)SIZE_MAX / esize || (want = numel * esize) != end - begin) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                              "%s: tensor '%s': shape and dtype need %llu bytes but offsets give %llu",
                              st->path, item->string, (unsigned long long)(numel * esize),
                              (unsigned long long)(end - begin));
            goto out;
        }
        t->name = strdup(item->string);
        if (!t->name) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", st->path);
            goto out;
        }
        t->numel = (int64_t)numel;
        t->data = st->base + data_start + begin;
        t->nbytes = (size_t)want;
        n++;
        st->n_tensors = n;
    }
    st->n_tensors = n;
    qsort(st->tensors, (size_t)n, sizeof *st->tensors, compare_tensor_name);
    for (int i = 1; i < n; i++)
        if (!strcmp(st->tensors[i - 1].name, st->tensors[i].name)) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: tensor '%s' appears twice",
                              st->path, st->tensors[i].name);
            goto out;
        }
    /* No two tensors may share bytes: a lying header could otherwise alias. */
    by_offset = malloc((n ? (size_t)n : 1) * sizeof *by_offset);
    if (!by_offset) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", st->path);
        goto out;
    }
    for (int i = 0; i < n; i++)
        by_offset[i] = &st->tensors[i];
    qsort(by_offset, (size_t)n, sizeof *by_offset, compare_tensor_offset);
    for (int i = 1; i < n; i++) {
        const uint8_t *prev_end = (const uint8_t *)by_offset[i - 1]->data + by_offset[i - 1]->nbytes;
        if ((const uint8_t *)by_offset[i]->data < prev_end) {
            rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap",
                              st->path, by_offset[i - 1]->name, by_offset[i]->name);
            goto out;
        }
    }
out:
    free(by_offset);
    cJSON_Delete(root);
    free(json);
    return rc;
}

clipsearch_status cs_safetensors_open_memory(const void *data, size_t size, const char *name,
                                             cs_safetensors **out, clipsearch_error *err)
{
    cs_safetensors *st;
    clipsearch_status rc;
    *out = NULL;
    st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(name ? name : "<memory>"))) {
        free(st);
        return cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    }
    st->base = data;
    st->size = size;
    rc = parse_header(st, err);
    if (rc != CLIPSEARCH_OK) {
        cs_safetensors_close(st);
        return rc;
    }
    *out = st;
    return CLIPSEARCH_OK;
}

clipsearch_status cs_safetensors_open(const char *path, cs_safetensors **out,
                                      clipsearch_error *err)
{
    cs_safetensors *st = NULL;
    clipsearch_status rc = CLIPSEARCH_OK;
    struct stat sb;
    int fd = -1;
    void *map;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_set(err, errno == ENOENT ? CLIPSEARCH_ERR_NOT_FOUND : CLIPSEARCH_ERR_IO,
                            "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        goto out;
    }
    if (sb.st_size < 8) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_FORMAT,
                          "%s: file too small for a safetensors header (%lld bytes)", path,
                          (long long)sb.st_size);
        goto out;
    }
    map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        rc = cs_error_set(err, CLIPSEARCH_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        goto out;
    }
    st->base = map;
    st->size = (size_t)sb.st_size;
    st->mapped = 1;
    rc = parse_header(st, err);
out:
    if (fd >= 0)
        close(fd);
    if (rc != CLIPSEARCH_OK) {
        cs_safetensors_close(st);
        return rc;
    }
    *out = st;
    return CLIPSEARCH_OK;
}

const cs_tensor *cs_safetensors_find(const cs_safetensors *st, const char *name)
{
    int lo = 0, hi = st->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(st->tensors[mid].name, name);
        if (c == 0)
            return &st->tensors[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

float cs_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    float f;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while (!(mant & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    }
    memcpy(&f, &bits, 4);
    return f;
}

float cs_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Reads element i of a floating tensor as double.  Data may be unaligned. */
static double element_f64(const cs_tensor *t, size_t i)
{
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case CS_DTYPE_F32: {
        float v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    case CS_DTYPE_F64: {
        double v;
        memcpy(&v, p + 8 * i, 8);
        return v;
    }
    case CS_DTYPE_F16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return cs_f16_to_f32(v);
    }
    case CS_DTYPE_BF16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return cs_bf16_to_f32(v);
    }
    case CS_DTYPE_I64: {
        int64_t v;
        memcpy(&v, p + 8 * i, 8);
        return (double)v;
    }
    case CS_DTYPE_I32: {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    default:
        return 0;
    }
}

static int is_float_dtype(cs_dtype d)
{
    return d == CS_DTYPE_F32 || d == CS_DTYPE_F16 || d == CS_DTYPE_BF16 || d == CS_DTYPE_F64;
}

clipsearch_status cs_tensor_to_f32(const cs_tensor *t, float *dst, clipsearch_error *err)
{
    if (!is_float_dtype(t->dtype))
        return cs_error_set(err, CLIPSEARCH_ERR_MODEL, "tensor '%s' has dtype %s, not a float type",
                            t->name, cs_dtype_name(t->dtype));
    if (t->dtype == CS_DTYPE_F32) {
        memcpy(dst, t->data, t->nbytes);
        return CLIPSEARCH_OK;
    }
    for (size_t i = 0; i < (size_t)t->numel; i++)
        dst[i] = (float)element_f64(t, i);
    return CLIPSEARCH_OK;
}

clipsearch_status cs_tensor_to_f64(const cs_tensor *t, double *dst, clipsearch_error *err)
{
    if (!is_float_dtype(t->dtype) && t->dtype != CS_DTYPE_I64 && t->dtype != CS_DTYPE_I32)
        return cs_error_set(err, CLIPSEARCH_ERR_FORMAT, "tensor '%s' has dtype %s, not a number type",
                            t->name, cs_dtype_name(t->dtype));
    for (size_t i = 0; i < (size_t)t->numel; i++)
        dst[i] = element_f64(t, i);
    return CLIPSEARCH_OK;
}
