/* test_engine_bf16.c — the quality bar of bf16 matrix products (issue 12)
 * and the backend / precision API.
 *
 *  - API: names, parsing, AUTO's meaning, bf16 refused on OpenBLAS.
 *  - Every golden tiny model (Hugging Face and OpenAI layouts, ViT and
 *    ResNet), the random full-size ViT-B/32 that `bench_engine
 *    --write-model` writes (kept in the build folder, 605 MB, written once)
 *    and the trained clip-shapes: cosine of every bf16 embedding (images and
 *    texts) to its fp32 one >= 0.999; min and mean printed.
 *  - clip-shapes libraries indexed in fp32 and in bf16: the top 10 of 24
 *    queries agree in >= 9 of 10 photos, zero-shot shape and colour accuracy
 *    within 1 point, and the library records each one's precision.
 * Without oneDNN (or on CLIPSEARCH_BACKEND=openblas) there is no bf16 to
 * test: the API checks run, the rest skips (exit 77). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clipsearch.h"
#include "safetensors.h"
#include "testutil.h"

#define MIN_COSINE 0.999

typedef struct cos_stats {
    double min, sum;
    int n;
} cos_stats;

static void cos_add(cos_stats *s, const float *a, const float *b, int dim)
{
    double ab = 0, aa = 0, bb = 0, c;
    for (int i = 0; i < dim; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    c = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
    if (s->n == 0 || c < s->min)
        s->min = c;
    s->sum += c;
    s->n++;
}

static void cos_report(const char *what, const cos_stats *s)
{
    printf("  %-44s bf16 vs fp32 cosine: min %.6f, mean %.6f over %d\n", what, s->min,
           s->n ? s->sum / s->n : 0, s->n);
    CHECK(s->n > 0 && s->min >= MIN_COSINE, "%s: min cosine %.6f < %.3f", what, s->min,
          MIN_COSINE);
}

static void test_api(void)
{
    clipsearch_precision p = CLIPSEARCH_PRECISION_AUTO;
    clipsearch_model *m = NULL;
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_error err = {0};
    CHECK(clipsearch_precision_parse("bf16", &p) == 0 && p == CLIPSEARCH_PRECISION_BF16, "bf16");
    CHECK(clipsearch_precision_parse("fp32", &p) == 0 && p == CLIPSEARCH_PRECISION_FP32, "fp32");
    CHECK(clipsearch_precision_parse("auto", &p) == 0 && p == CLIPSEARCH_PRECISION_AUTO, "auto");
    CHECK(clipsearch_precision_parse("fp16", &p) != 0 && clipsearch_precision_parse(NULL, &p) != 0,
          "bad names refused");
    CHECK(!strcmp(clipsearch_precision_name(CLIPSEARCH_PRECISION_BF16), "bf16"), "name");
    printf("engine: %s (backend %s, native bf16 %d)\n", clipsearch_engine_describe(),
           clipsearch_engine_backend_name(), clipsearch_engine_native_bf16());

    /* OpenBLAS has no bf16 path: asking for it is an error, AUTO is fp32. */
    setenv("CLIPSEARCH_BACKEND", "openblas", 1);
    CHECK(!strcmp(clipsearch_engine_backend_name(), "openblas"), "env selects openblas");
    mp.precision = CLIPSEARCH_PRECISION_BF16;
    CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), &mp, &m, &err) ==
              CLIPSEARCH_ERR_UNSUPPORTED && !m && strstr(err.message, "bf16"),
          "bf16 on openblas: %s", err.message);
    mp.precision = CLIPSEARCH_PRECISION_AUTO;
    clipsearch_engine_set_precision(CLIPSEARCH_PRECISION_AUTO);
    CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), &mp, &m, &err) ==
              CLIPSEARCH_OK, "%s", err.message);
    if (m) {
        const clipsearch_model_info *info = clipsearch_model_get_info(m);
        CHECK(info->precision == CLIPSEARCH_PRECISION_FP32 && !strcmp(info->backend, "openblas"),
              "auto on openblas: %d %s", (int)info->precision, info->backend);
    }
    clipsearch_model_free(m);
    m = NULL;
    unsetenv("CLIPSEARCH_BACKEND");

    if (strcmp(clipsearch_engine_backend_name(), "onednn") != 0)
        return;
    /* The process setting decides what AUTO means. */
    clipsearch_engine_set_precision(CLIPSEARCH_PRECISION_BF16);
    CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), &mp, &m, &err) ==
              CLIPSEARCH_OK, "%s", err.message);
    if (m)
        CHECK(clipsearch_model_get_info(m)->precision == CLIPSEARCH_PRECISION_BF16 &&
                  !strcmp(clipsearch_model_get_info(m)->backend, "onednn"),
              "set_precision(bf16) makes auto bf16");
    clipsearch_model_free(m);
    m = NULL;
    clipsearch_engine_set_precision(CLIPSEARCH_PRECISION_FP32);
    CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), &mp, &m, &err) ==
              CLIPSEARCH_OK, "%s", err.message);
    if (m)
        CHECK(clipsearch_model_get_info(m)->precision == CLIPSEARCH_PRECISION_FP32,
              "set_precision(fp32) makes auto fp32");
    clipsearch_model_free(m);
    m = NULL;
    clipsearch_engine_set_precision(CLIPSEARCH_PRECISION_AUTO);

    /* quick_start: a one-shot text tower uses the weights in place
     * (OpenBLAS, fp32), unless something pins the precision. */
    {
        const char *pinned = getenv("CLIPSEARCH_PRECISION");
        char saved[16] = "";
        if (pinned)
            snprintf(saved, sizeof saved, "%s", pinned);
        unsetenv("CLIPSEARCH_PRECISION");
        mp.quick_start = 1;
        mp.towers = CLIPSEARCH_TOWER_TEXT;
        CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), &mp, &m, &err) ==
                  CLIPSEARCH_OK, "%s", err.message);
        if (m)
            CHECK(!strcmp(clipsearch_model_get_info(m)->backend, "openblas") &&
                      clipsearch_model_get_info(m)->precision == CLIPSEARCH_PRECISION_FP32,
                  "quick_start text tower: %s", clipsearch_model_get_info(m)->backend);
        clipsearch_model_free(m);
        m = NULL;
        mp.towers = CLIPSEARCH_TOWER_BOTH; /* the image tower is never quick */
        CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), &mp, &m, &err) ==
                  CLIPSEARCH_OK, "%s", err.message);
        if (m)
            CHECK(!strcmp(clipsearch_model_get_info(m)->backend, "onednn"),
                  "quick_start with the image tower stays on oneDNN");
        clipsearch_model_free(m);
        m = NULL;
        clipsearch_engine_set_precision(CLIPSEARCH_PRECISION_BF16);
        mp.towers = CLIPSEARCH_TOWER_TEXT;
        CHECK(clipsearch_model_load(tu_fixture("golden/clip-tiny-b32"), &mp, &m, &err) ==
                  CLIPSEARCH_OK, "%s", err.message);
        if (m)
            CHECK(clipsearch_model_get_info(m)->precision == CLIPSEARCH_PRECISION_BF16,
                  "a pinned precision wins over quick_start");
        clipsearch_model_free(m);
        clipsearch_engine_set_precision(CLIPSEARCH_PRECISION_AUTO);
        if (saved[0])
            setenv("CLIPSEARCH_PRECISION", saved, 1);
    }
}

static clipsearch_model *load(const char *dir, clipsearch_precision p, int towers)
{
    clipsearch_model *m = NULL;
    clipsearch_model_params mp = clipsearch_model_default_params();
    clipsearch_error err = {0};
    mp.precision = p;
    mp.towers = towers;
    CHECK(clipsearch_model_load(dir, &mp, &m, &err) == CLIPSEARCH_OK, "load %s (%s): %s", dir,
          clipsearch_precision_name(p), err.message);
    if (m)
        CHECK(clipsearch_model_get_info(m)->precision == p, "%s: precision %d", dir,
              (int)clipsearch_model_get_info(m)->precision);
    return m;
}

/* Embeds n random images and the given texts with both precisions. */
static void compare_model(const char *label, const char *dir, const int32_t *ids, int n_texts,
                          int stride, int n_images, int towers)
{
    clipsearch_model *m[2] = {load(dir, CLIPSEARCH_PRECISION_FP32, towers),
                              load(dir, CLIPSEARCH_PRECISION_BF16, towers)};
    clipsearch_context *ctx[2] = {NULL, NULL};
    clipsearch_error err = {0};
    clipsearch_context_params cp = clipsearch_context_default_params();
    const clipsearch_model_info *info;
    float *pix = NULL, *emb[2] = {NULL, NULL};
    int S, dim;
    char what[160];
    if (!m[0] || !m[1])
        goto out;
    info = clipsearch_model_get_info(m[0]);
    S = info->image_size;
    dim = info->projection_dim;
    cp.n_threads = 2;
    for (int k = 0; k < 2; k++)
        CHECK(clipsearch_context_new(m[k], &cp, &ctx[k], &err) == CLIPSEARCH_OK, "%s",
              err.message);
    if (!ctx[0] || !ctx[1])
        goto out;
    if (n_images > 0) {
        cos_stats cs = {0};
        uint32_t seed = 99;
        size_t np = (size_t)n_images * 3 * S * S;
        pix = malloc(np * sizeof *pix);
        for (size_t i = 0; i < np; i++) {
            seed = seed * 1664525u + 1013904223u;
            pix[i] = ((float)(seed >> 8) / 16777216.0f) * 3.8f - 1.8f; /* preprocessed range */
        }
        for (int k = 0; k < 2; k++) {
            emb[k] = malloc((size_t)n_images * dim * sizeof(float));
            CHECK(clipsearch_encode_images(ctx[k], pix, n_images, emb[k], &err) == CLIPSEARCH_OK,
                  "%s", err.message);
        }
        for (int i = 0; i < n_images; i++)
            cos_add(&cs, emb[0] + (size_t)i * dim, emb[1] + (size_t)i * dim, dim);
        snprintf(what, sizeof what, "%s images", label);
        cos_report(what, &cs);
        free(emb[0]);
        free(emb[1]);
        emb[0] = emb[1] = NULL;
    }
    if (n_texts > 0) {
        cos_stats cs = {0};
        for (int k = 0; k < 2; k++) {
            emb[k] = malloc((size_t)n_texts * dim * sizeof(float));
            CHECK(clipsearch_encode_text(ctx[k], ids, n_texts, stride, emb[k], &err) ==
                      CLIPSEARCH_OK, "%s", err.message);
        }
        for (int i = 0; i < n_texts; i++)
            cos_add(&cs, emb[0] + (size_t)i * dim, emb[1] + (size_t)i * dim, dim);
        snprintf(what, sizeof what, "%s texts", label);
        cos_report(what, &cs);
    }
out:
    free(pix);
    free(emb[0]);
    free(emb[1]);
    for (int k = 0; k < 2; k++) {
        clipsearch_context_free(ctx[k]);
        clipsearch_model_free(m[k]);
    }
}

/* The golden tiny models, with the golden strings' token ids. */
static void test_golden_models(void)
{
    static const char *const models[4][2] = {
        {"golden/clip-tiny-b32", "golden/golden-b32.safetensors"},
        {"golden/clip-tiny-b16-f16", "golden/golden-b16-f16.safetensors"},
        {"golden/openai-tiny-vit", "golden/golden-openai-vit.safetensors"},
        {"golden/openai-tiny-rn", "golden/golden-openai-rn.safetensors"}};
    for (int i = 0; i < 4; i++) {
        cs_safetensors *gold = NULL;
        const cs_tensor *t = NULL;
        clipsearch_error err = {0};
        double *ids64;
        int32_t *ids = NULL;
        int n = 0;
        CHECK(cs_safetensors_open(tu_fixture(models[i][1]), &gold, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        if (!gold)
            continue;
        ids64 = tu_golden(gold, "input_ids", &t);
        if (ids64 && t) {
            n = (int)(t->numel / 77);
            ids = malloc((size_t)t->numel * sizeof *ids);
            for (int64_t j = 0; j < t->numel; j++)
                ids[j] = (int32_t)ids64[j];
        }
        compare_model(models[i][0], tu_fixture(models[i][0]), ids, n, 77, 18,
                      CLIPSEARCH_TOWER_BOTH);
        free(ids);
        free(ids64);
        cs_safetensors_close(gold);
    }
}

/* The random full-size ViT-B/32 of bench_engine, written once into the
 * build folder (605 MB; about 10 s), 8 images and 4 texts. */
static void test_full_size(void)
{
    char dir[2048], cmd[4600];
    struct stat st;
    static const int32_t ids[4][8] = {{49406, 1929, 525, 320, 2117, 530, 518, 49407},
                                      {49406, 320, 1125, 539, 320, 2368, 49407, 0},
                                      {49406, 3086, 49407, 0, 0, 0, 0, 0},
                                      {49406, 518, 1901, 530, 518, 2117, 3086, 49407}};
    snprintf(dir, sizeof dir, "%s/vitb32-random", CLIPSEARCH_BUILD_DIR);
    snprintf(cmd, sizeof cmd, "%s/model.safetensors", dir);
    if (stat(cmd, &st) != 0) {
        snprintf(cmd, sizeof cmd, "'%s/bench_engine' --write-model '%s' --only-write >/dev/null",
                 CLIPSEARCH_BUILD_DIR, dir);
        CHECK(system(cmd) == 0, "%s", cmd);
    }
    compare_model("random ViT-B/32 (full size)", dir, &ids[0][0], 4, 8, 8, CLIPSEARCH_TOWER_BOTH);
}

/* ---- clip-shapes: libraries indexed in both precisions ---------------------- */

static const char *shapes[] = {"circle", "square", "triangle", "star", "diamond", "cross"};
static const char *colours[] = {"red", "green", "blue", "yellow", "purple", "orange", "white",
                                "black"};

static double accuracy(const clipsearch_model *m, clipsearch_tokenizer *tok, const float *emb,
                       char **names, int n, const char **labels, int nl, int shape)
{
    int dim = clipsearch_model_get_info(m)->projection_dim, right = 0, total = 0;
    const char *tmpl[] = {"a photo of a {}."};
    float *cv = malloc((size_t)nl * dim * sizeof *cv), *pr = malloc((size_t)n * nl * sizeof *pr),
          *sc = malloc((size_t)n * nl * sizeof *sc);
    clipsearch_error err = {0};
    CHECK(clipsearch_class_vectors(m, tok, labels, nl, tmpl, 1, NULL, cv, NULL, &err) == 0, "%s",
          err.message);
    clipsearch_classify_embeddings(emb, n, dim, cv, nl, clipsearch_model_logit_scale(m), sc, pr,
                                   NULL);
    for (int i = 0; i < n; i++) {
        char colour[32] = "", sh[32] = "";
        const char *base = strrchr(names[i], '/') ? strrchr(names[i], '/') + 1 : names[i];
        int top;
        if (strchr(base, '+') || sscanf(base, "%*4d_%31[a-z]_%31[a-z]", colour, sh) != 2)
            continue;
        clipsearch_top_k(pr + (size_t)i * nl, nl, 1, &top);
        total++;
        right += !strcmp(labels[top], shape ? sh : colour);
    }
    free(cv);
    free(sc);
    free(pr);
    return total ? (double)right / total : 0;
}

typedef struct shapes_lib {
    clipsearch_library *lib;
    clipsearch_model *model;
    int64_t *ids, n;
    float *emb; /* [n][dim], normalised */
    char **names;
} shapes_lib;

static int open_shapes(shapes_lib *L, clipsearch_precision p, const char *tag)
{
    char dir[1024];
    const char *roots[1];
    clipsearch_index_params ip = clipsearch_index_default_params();
    clipsearch_index_summary sum;
    clipsearch_library_model lm;
    clipsearch_error err = {0};
    memset(L, 0, sizeof *L);
    snprintf(dir, sizeof dir, "%s/shapes-%s", tu_tmpdir(), tag);
    roots[0] = tu_fixture("clip-shapes/photos");
    ip.n_threads = 2;
    ip.precision = p;
    if (clipsearch_library_open(dir, NULL, &L->lib, &err) ||
        clipsearch_library_index(L->lib, tu_fixture("clip-shapes"), roots, 1, &ip, &sum, &err) ||
        clipsearch_library_find_model(L->lib, tu_fixture("clip-shapes"), &lm, &err) ||
        clipsearch_library_get_embeddings(L->lib, &lm, &L->ids, &L->emb, &L->n, &err)) {
        CHECK(0, "%s library: %s", tag, err.message);
        return 0;
    }
    CHECK(!strcmp(sum.precision, clipsearch_precision_name(p)), "summary precision '%s'",
          sum.precision);
    CHECK(!strcmp(lm.precision, clipsearch_precision_name(p)), "%s library records '%s'", tag,
          lm.precision);
    L->model = load(tu_fixture("clip-shapes"), p, CLIPSEARCH_TOWER_TEXT);
    L->names = calloc((size_t)L->n, sizeof *L->names);
    for (int64_t i = 0; i < L->n; i++)
        clipsearch_library_file_path(L->lib, L->ids[i], &L->names[i], NULL);
    return L->model != NULL;
}

static void close_shapes(shapes_lib *L)
{
    for (int64_t i = 0; L->names && i < L->n; i++)
        clipsearch_free(L->names[i]);
    free(L->names);
    clipsearch_free(L->ids);
    clipsearch_free(L->emb);
    clipsearch_model_free(L->model);
    clipsearch_library_close(L->lib);
}

/* Indices of the k best rows of emb against q (k <= 16). */
static void top_k(const float *emb, int64_t n, int dim, const float *q, int k, int64_t *out)
{
    double best[16];
    for (int j = 0; j < k; j++) {
        best[j] = -1e9;
        out[j] = -1;
    }
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int d = 0; d < dim; d++)
            s += (double)emb[(size_t)i * dim + d] * q[d];
        for (int j = 0; j < k; j++)
            if (s > best[j]) {
                for (int t = k - 1; t > j; t--) {
                    best[t] = best[t - 1];
                    out[t] = out[t - 1];
                }
                best[j] = s;
                out[j] = i;
                break;
            }
    }
}

static void test_shapes(void)
{
    shapes_lib L[2];
    clipsearch_tokenizer *tok = NULL;
    clipsearch_error err = {0};
    cos_stats cs = {0};
    int dim, ok = open_shapes(&L[0], CLIPSEARCH_PRECISION_FP32, "fp32");
    ok = open_shapes(&L[1], CLIPSEARCH_PRECISION_BF16, "bf16") && ok;
    if (!ok || clipsearch_tokenizer_load(tu_fixture("clip-shapes"), &tok, &err)) {
        CHECK(0, "clip-shapes: %s", err.message);
        goto out;
    }
    dim = clipsearch_model_get_info(L[0].model)->projection_dim;
    CHECK(L[0].n == L[1].n && L[0].n >= 300, "both libraries hold every photo: %lld %lld",
          (long long)L[0].n, (long long)L[1].n);
    /* The same photo in both (matched by path). */
    for (int64_t i = 0; i < L[0].n; i++)
        for (int64_t j = 0; j < L[1].n; j++)
            if (L[0].names[i] && L[1].names[j] && !strcmp(L[0].names[i], L[1].names[j])) {
                cos_add(&cs, L[0].emb + (size_t)i * dim, L[1].emb + (size_t)j * dim, dim);
                break;
            }
    CHECK(cs.n == L[0].n, "photos matched by path: %d of %lld", cs.n, (long long)L[0].n);
    cos_report("clip-shapes photos (libraries)", &cs);

    /* Zero-shot accuracy: each library with its own precision's text tower. */
    {
        double a[2], c[2];
        for (int k = 0; k < 2; k++) {
            a[k] = accuracy(L[k].model, tok, L[k].emb, L[k].names, (int)L[k].n, shapes, 6, 1);
            c[k] = accuracy(L[k].model, tok, L[k].emb, L[k].names, (int)L[k].n, colours, 8, 0);
        }
        printf("  clip-shapes zero-shot: shape fp32 %.4f bf16 %.4f; colour fp32 %.4f bf16 %.4f\n",
               a[0], a[1], c[0], c[1]);
        CHECK(fabs(a[0] - a[1]) <= 0.01 && fabs(c[0] - c[1]) <= 0.01,
              "zero-shot accuracy differs by more than 1 point");
        CHECK(a[0] >= 0.85, "fp32 shape accuracy %.3f (the model did not load right?)", a[0]);
    }

    /* Search: 24 queries, top 10 by cosine, bf16 library + bf16 query
     * against fp32 + fp32; also the mixed case (bf16 query, fp32 library). */
    {
        int worst = 10, worst_mixed = 10, same_place = 0, total = 0;
        cos_stats qc = {0};
        for (int ci = 0; ci < 8; ci++)
            for (int si = 0; si < 3; si++) {
                char text[96];
                int32_t ids[77];
                int n_ids = 0;
                float q[2][256];
                int64_t top[3][10];
                snprintf(text, sizeof text, "a %s %s", colours[ci], shapes[(ci + si * 2) % 6]);
                if (clipsearch_tokenize(tok, text, strlen(text), ids, 77, &n_ids, &err) ||
                    dim > 256) {
                    CHECK(0, "tokenize: %s", err.message);
                    goto out;
                }
                for (int k = 0; k < 2; k++) {
                    clipsearch_context *ctx = NULL;
                    if (clipsearch_context_new(L[k].model, NULL, &ctx, &err) ||
                        clipsearch_encode_text(ctx, ids, 1, 77, q[k], &err)) {
                        CHECK(0, "%s", err.message);
                        clipsearch_context_free(ctx);
                        goto out;
                    }
                    clipsearch_context_free(ctx);
                    clipsearch_normalize(q[k], 1, dim);
                }
                cos_add(&qc, q[0], q[1], dim);
                top_k(L[0].emb, L[0].n, dim, q[0], 10, top[0]);
                top_k(L[1].emb, L[1].n, dim, q[1], 10, top[1]);
                top_k(L[0].emb, L[0].n, dim, q[1], 10, top[2]);
                for (int v = 1; v <= 2; v++) {
                    int agree = 0;
                    for (int a = 0; a < 10; a++)
                        for (int b = 0; b < 10; b++)
                            if (top[v][b] >= 0 && top[0][a] >= 0 &&
                                !strcmp(L[0].names[top[0][a]], L[v == 1 ? 1 : 0].names[top[v][b]])) {
                                agree++;
                                same_place += v == 1 && a == b;
                                break;
                            }
                    if (v == 1 && agree < worst)
                        worst = agree;
                    if (v == 2 && agree < worst_mixed)
                        worst_mixed = agree;
                    CHECK(agree >= 9, "'%s': top 10 %s agree in %d of 10", text,
                          v == 1 ? "bf16" : "bf16 query on the fp32 library", agree);
                }
                total += 10;
            }
        cos_report("clip-shapes queries (24 texts)", &qc);
        printf("  clip-shapes top-10 of 24 queries: worst agreement %d/10 (bf16), %d/10 (bf16 "
               "query, fp32 library); same rank %d of %d\n",
               worst, worst_mixed, same_place, total);
    }

    /* A bf16 run that adds nothing keeps the fp32 library's precision;
     * one that adds photos makes it "mixed". */
    {
        const char *roots[1];
        char extra[1024], src[1200], dst[1200];
        clipsearch_index_params ip = clipsearch_index_default_params();
        clipsearch_library_model lm;
        char *data;
        size_t size = 0;
        ip.precision = CLIPSEARCH_PRECISION_BF16;
        ip.n_threads = 2;
        roots[0] = tu_fixture("clip-shapes/photos");
        CHECK(clipsearch_library_index(L[0].lib, tu_fixture("clip-shapes"), roots, 1, &ip, NULL,
                                       &err) == CLIPSEARCH_OK, "%s", err.message);
        clipsearch_library_find_model(L[0].lib, tu_fixture("clip-shapes"), &lm, &err);
        CHECK(!strcmp(lm.precision, "fp32"), "nothing re-embedded: still '%s'", lm.precision);
        snprintf(extra, sizeof extra, "%s/shapes-extra", tu_tmpdir());
        mkdir(extra, 0755);
        snprintf(src, sizeof src, "%s/%s", tu_fixture("clip-shapes/photos"), "0000_green_triangle.jpg");
        snprintf(dst, sizeof dst, "%s/new.jpg", extra);
        data = tu_read_file(src, &size);
        /* A changed byte in the JPEG comment-free tail would break it: flip
         * the last byte before EOI instead, a different hash, same picture. */
        if (data && size > 4) {
            data[size - 3] ^= 1;
            tu_write_file(dst, data, size);
        }
        free(data);
        roots[0] = extra;
        CHECK(clipsearch_library_index(L[0].lib, tu_fixture("clip-shapes"), roots, 1, &ip, NULL,
                                       &err) == CLIPSEARCH_OK, "%s", err.message);
        clipsearch_library_find_model(L[0].lib, tu_fixture("clip-shapes"), &lm, &err);
        CHECK(!strcmp(lm.precision, "mixed"), "fp32 + bf16 photos: '%s'", lm.precision);
    }
out:
    clipsearch_tokenizer_free(tok);
    close_shapes(&L[0]);
    close_shapes(&L[1]);
}

int main(void)
{
    tu_require_fixture("golden/clip-tiny-b32");
    tu_require_fixture("clip-shapes/photos");
    test_api();
    if (strcmp(clipsearch_engine_backend_name(), "onednn") != 0) {
        printf("%d checks, %d failures; SKIP: no oneDNN backend, no bf16 to compare\n", tu_checks,
               tu_failures);
        return tu_failures ? 1 : 77;
    }
    test_golden_models();
    test_full_size();
    test_shapes();
    printf("%d checks, %d failures\n", tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}
