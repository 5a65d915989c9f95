/* bench_engine — speed of the CLIP engine on a full-size model.
 *
 *   bench_engine [--model DIR] [--write-model DIR] [--write-rn50 DIR] [--threads N] [--batch B]
 *                [--batches K] [--queries Q] [--only-write] [--precision fp32|bf16|auto]
 *
 * With --write-model DIR it first writes a random-weight model of the real
 * ViT-B/32 geometry (--arch B/16 or L/14: those models') in the Hugging Face layout (config.json +
 * model.safetensors, F32) to DIR (kept if already there); with --write-rn50
 * DIR, one of RN50's geometry (ModifiedResNet [3,4,6,3], width 64, embed
 * 1024, ViT-B/32's text tower) in the OpenAI / OpenCLIP layout
 * (open_clip_config.json + open_clip_model.safetensors, F32).  Then measures:
 *   - the CPU features found, the matrix backend (CLIPSEARCH_BACKEND) and
 *     precision in use,
 *   - the matrix ceiling on a ViT-sized product: OpenBLAS sgemm, and with
 *     oneDNN its f32 and bf16 matmul (weights in its preferred layout),
 *   - image tower images/s (batch B, N threads),
 *   - text tower latency of an 8-token query (median of Q).
 * Numbers are printed, never asserted: this is not a test. */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_common.h"
#include "clipsearch.h"
#ifdef CS_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif

/* ---- random model writer ---------------------------------------------- */

typedef struct spec {
    char name[192];
    int ndim;
    int64_t shape[4];
    int kind; /* 0 random, 1 ones (norm weight), 2 zeros (norm bias) */
} spec;

static spec specs[1024];
static int n_specs;

static void add(const char *name, int kind, int ndim, int64_t a, int64_t b, int64_t c, int64_t d)
{
    spec *s = &specs[n_specs++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = ndim;
    s->shape[0] = a;
    s->shape[1] = b;
    s->shape[2] = c;
    s->shape[3] = d;
    s->kind = kind;
}

static void add_tower(const char *tower, int width, int mlp, int layers)
{
    char n[128];
    for (int l = 0; l < layers; l++) {
        const char *lin[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        for (int i = 0; i < 4; i++) {
            snprintf(n, sizeof n, "%s.encoder.layers.%d.self_attn.%s.weight", tower, l, lin[i]);
            add(n, 0, 2, width, width, 0, 0);
            snprintf(n, sizeof n, "%s.encoder.layers.%d.self_attn.%s.bias", tower, l, lin[i]);
            add(n, 2, 1, width, 0, 0, 0);
        }
        for (int i = 1; i <= 2; i++) {
            snprintf(n, sizeof n, "%s.encoder.layers.%d.layer_norm%d.weight", tower, l, i);
            add(n, 1, 1, width, 0, 0, 0);
            snprintf(n, sizeof n, "%s.encoder.layers.%d.layer_norm%d.bias", tower, l, i);
            add(n, 2, 1, width, 0, 0, 0);
        }
        snprintf(n, sizeof n, "%s.encoder.layers.%d.mlp.fc1.weight", tower, l);
        add(n, 0, 2, mlp, width, 0, 0);
        snprintf(n, sizeof n, "%s.encoder.layers.%d.mlp.fc1.bias", tower, l);
        add(n, 2, 1, mlp, 0, 0, 0);
        snprintf(n, sizeof n, "%s.encoder.layers.%d.mlp.fc2.weight", tower, l);
        add(n, 0, 2, width, mlp, 0, 0);
        snprintf(n, sizeof n, "%s.encoder.layers.%d.mlp.fc2.bias", tower, l);
        add(n, 2, 1, width, 0, 0, 0);
    }
}

/* Writes specs[] as <dir>/<weights> (F32, random / ones / zeros) and the
 * config text as <dir>/<config>; reuses an existing weight file. */
static int write_specs(const char *dir, const char *weights, const char *config,
                       const char *config_text, const char *label)
{
    char path[4096];
    FILE *f;
    char *header;
    size_t hlen = 0, cap = 1 << 20, offset = 0;
    uint32_t seed = 12345;

    snprintf(path, sizeof path, "%s/%s", dir, weights);
    header = malloc(cap);
    hlen += (size_t)snprintf(header + hlen, cap - hlen, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n_specs; i++) {
        size_t numel = 1;
        for (int d = 0; d < specs[i].ndim; d++)
            numel *= (size_t)specs[i].shape[d];
        hlen += (size_t)snprintf(header + hlen, cap - hlen, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                                 specs[i].name);
        for (int d = 0; d < specs[i].ndim; d++)
            hlen += (size_t)snprintf(header + hlen, cap - hlen, "%s%lld", d ? "," : "",
                                     (long long)specs[i].shape[d]);
        hlen += (size_t)snprintf(header + hlen, cap - hlen, "],\"data_offsets\":[%zu,%zu]}",
                                 offset, offset + numel * 4);
        offset += numel * 4;
    }
    hlen += (size_t)snprintf(header + hlen, cap - hlen, "}");
    while (hlen % 8)
        header[hlen++] = ' ';
    f = fopen(path, "wb");
    if (!f) {
        perror(path);
        free(header);
        return 1;
    }
    {
        uint8_t len8[8];
        for (int i = 0; i < 8; i++)
            len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
        fwrite(len8, 1, 8, f);
        fwrite(header, 1, hlen, f);
    }
    for (int i = 0; i < n_specs; i++) {
        size_t numel = 1;
        float buf[4096];
        for (int d = 0; d < specs[i].ndim; d++)
            numel *= (size_t)specs[i].shape[d];
        for (size_t done = 0; done < numel;) {
            size_t k = numel - done < 4096 ? numel - done : 4096;
            for (size_t j = 0; j < k; j++) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                buf[j] = specs[i].kind == 1   ? 1.0f
                         : specs[i].kind == 2 ? 0.0f
                                              : ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.06f;
            }
            fwrite(buf, 4, k, f);
            done += k;
        }
    }
    if (fclose(f) != 0) {
        perror(path);
        free(header);
        return 1;
    }
    free(header);
    snprintf(path, sizeof path, "%s/%s", dir, config);
    f = fopen(path, "w");
    if (!f)
        return 1;
    fputs(config_text, f);
    fclose(f);
    printf("model: wrote random %s (F32, %.0f MB) to %s\n", label, offset / 1e6, dir);
    return 0;
}

/* Returns 1 (and says so) when <dir>/<file> already exists. */
static int exists(const char *dir, const char *file)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (stat(path, &st) == 0) {
        printf("model: %s exists, reused\n", path);
        return 1;
    }
    mkdir(dir, 0755);
    return 0;
}

/* A random ViT CLIP in the Hugging Face layout: "B/32" (ViT-B/32's
 * geometry), "B/16" or "L/14" (image and text towers of those models). */
static int write_random_model(const char *dir, const char *arch)
{
    int W = 768, L = 12, H = 12, P = 32, S = 224, TW = 512, TL = 12, TH = 8, proj = 512;
    char config[1024];
    if (!strcmp(arch, "B/16"))
        P = 16;
    else if (!strcmp(arch, "L/14")) {
        W = 1024, L = 24, H = 16, P = 14, TW = 768, TH = 12, proj = 768;
    } else if (strcmp(arch, "B/32") != 0) {
        fprintf(stderr, "bench_engine: --arch takes B/32, B/16 or L/14, not '%s'\n", arch);
        return 1;
    }
    if (exists(dir, "model.safetensors"))
        return 0;
    n_specs = 0;
    add("vision_model.embeddings.class_embedding", 0, 1, W, 0, 0, 0);
    add("vision_model.embeddings.patch_embedding.weight", 0, 4, W, 3, P, P);
    add("vision_model.embeddings.position_embedding.weight", 0, 2, (S / P) * (S / P) + 1, W, 0, 0);
    add("vision_model.pre_layrnorm.weight", 1, 1, W, 0, 0, 0);
    add("vision_model.pre_layrnorm.bias", 2, 1, W, 0, 0, 0);
    add_tower("vision_model", W, 4 * W, L);
    add("vision_model.post_layernorm.weight", 1, 1, W, 0, 0, 0);
    add("vision_model.post_layernorm.bias", 2, 1, W, 0, 0, 0);
    add("visual_projection.weight", 0, 2, proj, W, 0, 0);
    add("text_model.embeddings.token_embedding.weight", 0, 2, 49408, TW, 0, 0);
    add("text_model.embeddings.position_embedding.weight", 0, 2, 77, TW, 0, 0);
    add_tower("text_model", TW, 4 * TW, TL);
    add("text_model.final_layer_norm.weight", 1, 1, TW, 0, 0, 0);
    add("text_model.final_layer_norm.bias", 2, 1, TW, 0, 0, 0);
    add("text_projection.weight", 0, 2, proj, TW, 0, 0);
    add("logit_scale", 0, 0, 0, 0, 0, 0);
    snprintf(config, sizeof config,
             "{\"architectures\":[\"CLIPModel\"],\"model_type\":\"clip\",\"projection_dim\":%d,"
             "\"text_config\":{\"hidden_size\":%d,\"intermediate_size\":%d,"
             "\"num_attention_heads\":%d,\"num_hidden_layers\":%d,\"hidden_act\":\"quick_gelu\","
             "\"eos_token_id\":49407},"
             "\"vision_config\":{\"hidden_size\":%d,\"intermediate_size\":%d,"
             "\"num_attention_heads\":%d,\"num_hidden_layers\":%d,\"patch_size\":%d,"
             "\"image_size\":%d,\"hidden_act\":\"quick_gelu\"}}\n",
             proj, TW, 4 * TW, TH, TL, W, 4 * W, H, L, P, S);
    {
        char label[32];
        snprintf(label, sizeof label, "ViT-%s", arch);
        return write_specs(dir, "model.safetensors", "config.json", config, label);
    }
}

/* OpenAI-layout residual attention blocks under "<prefix>N.". */
static void add_resblocks(const char *prefix, int width, int layers)
{
    char n[160];
    for (int l = 0; l < layers; l++) {
#define A(sub, kind, nd, a, b) \
    (snprintf(n, sizeof n, "%s%d.%s", prefix, l, sub), add(n, kind, nd, a, b, 0, 0))
        A("ln_1.weight", 1, 1, width, 0);
        A("ln_1.bias", 2, 1, width, 0);
        A("attn.in_proj_weight", 0, 2, 3 * width, width);
        A("attn.in_proj_bias", 2, 1, 3 * width, 0);
        A("attn.out_proj.weight", 0, 2, width, width);
        A("attn.out_proj.bias", 2, 1, width, 0);
        A("ln_2.weight", 1, 1, width, 0);
        A("ln_2.bias", 2, 1, width, 0);
        A("mlp.c_fc.weight", 0, 2, 4 * width, width);
        A("mlp.c_fc.bias", 2, 1, 4 * width, 0);
        A("mlp.c_proj.weight", 0, 2, width, 4 * width);
        A("mlp.c_proj.bias", 2, 1, width, 0);
#undef A
    }
}

/* A convolution [out][in][k][k] and its BatchNorm (identity statistics). */
static void add_conv_bn(const char *conv, const char *bn, int out, int in, int k)
{
    char n[160];
    add(conv, 0, 4, out, in, k, k);
    snprintf(n, sizeof n, "%s.weight", bn);
    add(n, 1, 1, out, 0, 0, 0);
    snprintf(n, sizeof n, "%s.bias", bn);
    add(n, 2, 1, out, 0, 0, 0);
    snprintf(n, sizeof n, "%s.running_mean", bn);
    add(n, 2, 1, out, 0, 0, 0);
    snprintf(n, sizeof n, "%s.running_var", bn);
    add(n, 1, 1, out, 0, 0, 0);
}

/* RN50 in the OpenAI / OpenCLIP layout: ModifiedResNet width 64, stages
 * [3, 4, 6, 3], 32 attention-pool heads, embed 1024, image 224; the text
 * tower of ViT-B/32 (width 512, 8 heads, 12 layers). */
static int write_random_rn50(const char *dir)
{
    static const int blocks[4] = {3, 4, 6, 3};
    const int width = 64, embed = 1024, C = width * 32;
    char conv[96], bn[96];
    int inplanes = width;
    if (exists(dir, "open_clip_model.safetensors"))
        return 0;
    n_specs = 0;
    add_conv_bn("visual.conv1.weight", "visual.bn1", width / 2, 3, 3);
    add_conv_bn("visual.conv2.weight", "visual.bn2", width / 2, width / 2, 3);
    add_conv_bn("visual.conv3.weight", "visual.bn3", width, width / 2, 3);
    for (int s = 0; s < 4; s++) {
        int planes = width << s;
        for (int j = 0; j < blocks[s]; j++) {
            static const char *const names[3] = {"conv1", "conv2", "conv3"};
            for (int c = 0; c < 3; c++) {
                snprintf(conv, sizeof conv, "visual.layer%d.%d.%s.weight", s + 1, j, names[c]);
                snprintf(bn, sizeof bn, "visual.layer%d.%d.bn%d", s + 1, j, c + 1);
                add_conv_bn(conv, bn, c == 2 ? 4 * planes : planes, c == 0 ? inplanes : planes,
                            c == 1 ? 3 : 1);
            }
            if (j == 0) {
                snprintf(conv, sizeof conv, "visual.layer%d.%d.downsample.0.weight", s + 1, j);
                snprintf(bn, sizeof bn, "visual.layer%d.%d.downsample.1", s + 1, j);
                add_conv_bn(conv, bn, 4 * planes, inplanes, 1);
            }
            inplanes = 4 * planes;
        }
    }
    add("visual.attnpool.positional_embedding", 0, 2, 50, C, 0, 0);
    add("visual.attnpool.q_proj.weight", 0, 2, C, C, 0, 0);
    add("visual.attnpool.q_proj.bias", 2, 1, C, 0, 0, 0);
    add("visual.attnpool.k_proj.weight", 0, 2, C, C, 0, 0);
    add("visual.attnpool.k_proj.bias", 2, 1, C, 0, 0, 0);
    add("visual.attnpool.v_proj.weight", 0, 2, C, C, 0, 0);
    add("visual.attnpool.v_proj.bias", 2, 1, C, 0, 0, 0);
    add("visual.attnpool.c_proj.weight", 0, 2, embed, C, 0, 0);
    add("visual.attnpool.c_proj.bias", 2, 1, embed, 0, 0, 0);
    add("token_embedding.weight", 0, 2, 49408, 512, 0, 0);
    add("positional_embedding", 0, 2, 77, 512, 0, 0);
    add_resblocks("transformer.resblocks.", 512, 12);
    add("ln_final.weight", 1, 1, 512, 0, 0, 0);
    add("ln_final.bias", 2, 1, 512, 0, 0, 0);
    add("text_projection", 0, 2, 512, embed, 0, 0);
    add("logit_scale", 0, 0, 0, 0, 0, 0);
    return write_specs(dir, "open_clip_model.safetensors", "open_clip_config.json",
                       "{\"model_cfg\": {\"embed_dim\": 1024, \"quick_gelu\": true, "
                       "\"vision_cfg\": {\"image_size\": 224, \"layers\": [3, 4, 6, 3], "
                       "\"width\": 64, \"patch_size\": null}, \"text_cfg\": {\"context_length\": 77, "
                       "\"vocab_size\": 49408, \"width\": 512, \"heads\": 8, \"layers\": 12}}, "
                       "\"preprocess_cfg\": {\"mean\": [0.48145466, 0.4578275, 0.40821073], "
                       "\"std\": [0.26862954, 0.26130258, 0.27577711]}}\n",
                       "RN50 (OpenAI layout)");
}

/* Multiply-adds x 2 of one image through the ResNet tower (convolutions,
 * attention pool), from the geometry in the model info. */
static double resnet_flops(const clipsearch_model_info *info)
{
    double f = 0, H = info->image_size / 2.0, w = info->vision_width;
    double C = w * 32, T = (info->image_size / 32.0) * (info->image_size / 32.0) + 1;
    double inplanes = w;
    f += H * H * 27 * (w / 2) + H * H * 9 * (w / 2) * (w / 2) + H * H * 9 * (w / 2) * w;
    H /= 2;
    for (int s = 0; s < 4; s++) {
        double planes = w * (1 << s);
        for (int j = 0; j < info->resnet_blocks[s]; j++) {
            double Ho = (s > 0 && j == 0) ? H / 2 : H;
            f += H * H * inplanes * planes + H * H * 9 * planes * planes +
                 Ho * Ho * planes * 4 * planes;
            if (j == 0)
                f += Ho * Ho * inplanes * 4 * planes;
            inplanes = 4 * planes;
            H = Ho;
        }
    }
    f += 2 * T * C * C + C * C + C * info->projection_dim;
    return 2 * f;
}

/* ---- measurements --------------------------------------------------------- */

static double sgemm_gflops(int threads)
{
    /* fc1 of a batch of 32 ViT-B/32 images: [1600 x 768] . [768 x 3072] */
    int M = 1600, N = 3072, K = 768, reps = 5;
    float *a = calloc((size_t)M * K, 4), *b = calloc((size_t)N * K, 4), *c = calloc((size_t)M * N, 4);
    double t0, best = 1e9;
    openblas_set_num_threads(threads);
    for (int r = 0; r < reps; r++) {
        t0 = bench_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
        t0 = bench_now() - t0;
        if (t0 < best)
            best = t0;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * M * N * K / best / 1e9;
}

#ifdef CS_HAVE_ONEDNN
/* The same product on a oneDNN matmul, weights in its preferred layout:
 * the ceiling of the oneDNN backend (bf16: bf16 inputs, f32 output). */
static double dnnl_gflops(int threads, int bf16, int M, int K, int N, char *impl, size_t impl_size)
{
    dnnl_engine_t eng = NULL;
    dnnl_stream_t st = NULL;
    dnnl_memory_desc_t smd, wmd, dmd;
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_memory_t ms = NULL, mw = NULL, mdst = NULL;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N};
    dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    double best = 1e9;
    const char *name = "?";
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) || dnnl_stream_create(&st, eng, dnnl_stream_default_flags) ||
        dnnl_memory_desc_init_by_tag(&smd, 2, sd, dt, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&wmd, 2, wd, dt, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab) ||
        dnnl_matmul_desc_init(&md, &smd, &wmd, NULL, &dmd) ||
        dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL) || dnnl_primitive_create(&p, pd) ||
        dnnl_memory_create(&ms, &smd, eng, DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&mw, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), eng,
                           DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&mdst, &dmd, eng, DNNL_MEMORY_ALLOCATE)) {
        best = 0;
        goto out;
    }
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    snprintf(impl, impl_size, "%s", name);
    {
        void *h;
        dnnl_memory_get_data_handle(ms, &h);
        memset(h, 0, dnnl_memory_desc_get_size(&smd));
        dnnl_memory_get_data_handle(mw, &h);
        memset(h, 0, dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)));
    }
    for (int r = 0; r < 6; r++) {
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, mdst}};
        double t0 = bench_now();
        dnnl_primitive_execute(p, st, 3, a);
        dnnl_stream_wait(st);
        t0 = bench_now() - t0;
        if (t0 < best)
            best = t0;
    }
    best = 2.0 * M * N * K / best / 1e9;
out:
    dnnl_memory_destroy(ms);
    dnnl_memory_destroy(mw);
    dnnl_memory_destroy(mdst);
    dnnl_primitive_destroy(p);
    dnnl_primitive_desc_destroy(pd);
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    omp_set_num_threads(saved);
    return best;
}
#endif

/* Time to stream `bytes` of memory once with `threads` threads: the floor
 * for a short text query, which must read every text-tower weight. */
static double stream_ms(size_t bytes, int threads)
{
    size_t n = bytes / sizeof(float);
    float *a = malloc(n * sizeof(float));
    double best = 1e9;
    float sink = 0;
    if (!a)
        return 0;
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 7);
    for (int r = 0; r < 5; r++) {
        double t0 = bench_now();
        float s = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : s) schedule(static)
        for (size_t i = 0; i < n; i += 16) /* one float per 64-byte line */
            s += a[i];
        t0 = bench_now() - t0;
        sink += s;
        if (t0 < best)
            best = t0;
    }
    free(a);
    return sink == -1 ? 0 : best * 1e3;
}

int main(int argc, char **argv)
{
    const char *model_dir = NULL, *write_dir = NULL, *rn50_dir = NULL, *arch = "B/32";
    int threads = 2, batch = 32, batches = 4, queries = 50, only_write = 0;
    clipsearch_model_params mp = clipsearch_model_default_params();
    double ceiling = 0, dnnl_ceiling[2] = {0, 0};
    clipsearch_model *model = NULL;
    clipsearch_context *ctx = NULL;
    clipsearch_error err = {0};
    clipsearch_context_params cp = clipsearch_context_default_params();
    const clipsearch_model_info *info;
    double t0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_dir = argv[++i];
        else if (!strcmp(argv[i], "--write-model") && i + 1 < argc)
            write_dir = model_dir = argv[++i];
        else if (!strcmp(argv[i], "--write-rn50") && i + 1 < argc)
            rn50_dir = model_dir = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batches") && i + 1 < argc)
            batches = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
            queries = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--arch") && i + 1 < argc)
            arch = argv[++i];
        else if (!strcmp(argv[i], "--only-write"))
            only_write = 1;
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            if (clipsearch_precision_parse(argv[++i], &mp.precision) != 0) {
                fprintf(stderr, "bench_engine: --precision takes fp32, bf16 or auto\n");
                return 2;
            }
        }
        else {
            fprintf(stderr,
                    "usage: bench_engine [--model DIR | --write-model DIR | --write-rn50 DIR] [--threads N] "
                    "[--batch B] [--batches K] [--queries Q] [--only-write] "
                    "[--precision fp32|bf16|auto] [--arch B/32|B/16|L/14]\n");
            return 2;
        }
    }
    if (!model_dir) {
        fprintf(stderr, "bench_engine: --model DIR or --write-model DIR is required\n");
        return 2;
    }
    if (write_dir && write_random_model(write_dir, arch) != 0)
        return 1;
    if (rn50_dir && write_random_rn50(rn50_dir) != 0)
        return 1;
    if (only_write)
        return 0;

    printf("engine: %s\n", clipsearch_engine_describe());
    {
        double s2 = sgemm_gflops(threads), s1 = sgemm_gflops(1);
        printf("OpenBLAS sgemm ceiling [1600x768]x[768x3072]: %.1f GFLOP/s on %d threads, %.1f on 1\n",
               s2, threads, s1);
        ceiling = s2;
    }
#ifdef CS_HAVE_ONEDNN
    {
        char impl[2][64] = {"", ""};
        double f = dnnl_gflops(threads, 0, 1600, 768, 3072, impl[0], sizeof impl[0]);
        double b = dnnl_gflops(threads, 1, 1600, 768, 3072, impl[1], sizeof impl[1]);
        printf("oneDNN matmul ceiling, same product, %d threads: f32 %.1f GFLOP/s (%s), "
               "bf16 %.1f GFLOP/s (%s)\n",
               threads, f, impl[0], b, impl[1]);
        dnnl_ceiling[0] = f;
        dnnl_ceiling[1] = b;
    }
#endif

    t0 = bench_now();
    if (clipsearch_model_load(model_dir, &mp, &model, &err) != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_engine: %s\n", err.message);
        return 1;
    }
    printf("load: %.3f s\n", bench_now() - t0);
    info = clipsearch_model_get_info(model);
    if (!strcmp(info->backend, "onednn"))
        ceiling = dnnl_ceiling[info->precision == CLIPSEARCH_PRECISION_BF16];
    printf("model: backend %s, precision %s (ceiling below: %.1f GFLOP/s, the %s one)\n",
           info->backend, clipsearch_precision_name(info->precision), ceiling,
           !strcmp(info->backend, "onednn") ? "oneDNN matmul" : "OpenBLAS sgemm");
    cp.n_threads = threads;
    cp.max_batch = batch;
    if (clipsearch_context_new(model, &cp, &ctx, &err) != CLIPSEARCH_OK) {
        fprintf(stderr, "bench_engine: %s\n", err.message);
        return 1;
    }

    /* Image tower. */
    if (batches > 0) {
        int S = info->image_size;
        size_t img = (size_t)3 * S * S;
        float *pixels = malloc((size_t)batch * img * sizeof(float));
        float *embeds = malloc((size_t)batch * info->projection_dim * sizeof(float));
        uint32_t seed = 7;
        double best = 1e9, total = 0;
        for (size_t i = 0; i < (size_t)batch * img; i++) {
            seed = seed * 1664525u + 1013904223u;
            pixels[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
        }
        clipsearch_encode_images(ctx, pixels, batch, embeds, &err); /* warm-up */
        for (int b = 0; b < batches; b++) {
            t0 = bench_now();
            clipsearch_encode_images(ctx, pixels, batch, embeds, &err);
            t0 = bench_now() - t0;
            total += t0;
            if (t0 < best)
                best = t0;
        }
        if (info->vision_kind == CLIPSEARCH_VISION_RESNET) {
            double g = resnet_flops(info) * batch / best / 1e9;
            printf("image tower (ResNet %d-%d-%d-%d, width %d): batch %d, %d threads: %.1f img/s "
                   "(mean of %d), best %.1f img/s, %.1f GFLOP/s (%.0f%% of the ceiling)\n",
                   info->resnet_blocks[0], info->resnet_blocks[1], info->resnet_blocks[2],
                   info->resnet_blocks[3], info->vision_width, batch, threads,
                   batch * batches / total, batches, batch / best, g, 100 * g / ceiling);
        } else
        /* FLOPs of one image: patch GEMM + per layer QKV/out/MLP + attention. */
        {
            double T = info->image_size / info->patch_size;
            double W = info->vision_width, L = info->vision_layers, tokens = T * T + 1;
            double flop = 2.0 * (T * T * 3 * info->patch_size * info->patch_size * W +
                                 L * (tokens * (4 * W * W + 2 * W * 4 * W) + 2 * tokens * tokens * W) +
                                 W * info->projection_dim);
            double g = flop * batch / best / 1e9;
            printf("image tower (ViT-%d/%d, width %d): batch %d, %d threads: %.1f img/s (mean of %d), "
                   "best %.1f img/s, %.1f GFLOP/s (%.0f%% of the ceiling)\n",
                   info->vision_layers, info->patch_size, info->vision_width, batch, threads,
                   batch * batches / total, batches, batch / best, g, 100 * g / ceiling);
        }
        printf("  embedding[0][0..3]: %.5f %.5f %.5f %.5f (compare with ONNX Runtime's, same pixels)\n",
               embeds[0], embeds[1], embeds[2], embeds[3]);
        free(pixels);
        free(embeds);
    }

    /* Text tower: an 8-token query (SOT, 6 words, EOT). */
    {
        int32_t ids[8] = {49406, 1929, 525, 320, 2117, 530, 518, 49407};
        float *embed = malloc((size_t)info->projection_dim * sizeof(float));
        double *lat = malloc((size_t)queries * sizeof(double));
        t0 = bench_now();
        clipsearch_encode_text(ctx, ids, 1, 8, embed, &err);
        printf("text query: first in this process %.2f ms (weights paged in, threads started)\n",
               (bench_now() - t0) * 1e3);
        for (int w = 0; w < 2; w++)
            clipsearch_encode_text(ctx, ids, 1, 8, embed, &err);
        for (int q = 0; q < queries; q++) {
            t0 = bench_now();
            clipsearch_encode_text(ctx, ids, 1, 8, embed, &err);
            lat[q] = bench_now() - t0;
        }
        qsort(lat, (size_t)queries, sizeof *lat, bench_cmp_double);
        printf("text query (8 tokens), %d threads: median %.2f ms, min %.2f ms, max %.2f ms\n",
               threads, lat[queries / 2] * 1e3, lat[0] * 1e3, lat[queries - 1] * 1e3);
        {
            double W = info->text_width, L = info->text_layers;
            size_t bytes = (size_t)(L * (4 * W * W + 2 * W * 4 * W) * sizeof(float));
            printf("  (floor: streaming its %.0f MB of layer weights once takes %.2f ms here)\n",
                   bytes / 1e6, stream_ms(bytes, threads));
        }
        free(embed);
        free(lat);
    }
    clipsearch_context_free(ctx);
    clipsearch_model_free(model);
    return 0;
}
