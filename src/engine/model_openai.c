/* model_openai.c — loading a CLIP checkpoint in OpenAI's own tensor layout,
 * which OpenCLIP keeps (open_clip_model.safetensors,
 * open_clip_pytorch_model.safetensors): ViT and ModifiedResNet image towers.
 *
 * Differences from the Hugging Face layout that matter here:
 *  - attention q, k and v are stacked in in_proj_weight [3W][W] and
 *    in_proj_bias [3W]: the three linears point into it at rows 0, W, 2W;
 *  - visual.proj and text_projection are [W][E], applied as x @ W;
 *  - the ResNet's BatchNorms come with running statistics: folded into the
 *    convolutions here, once;
 *  - geometry comes from the shapes; open_clip_config.json, when present,
 *    gives heads, activation and preprocessing, and what it says about the
 *    geometry is checked against the shapes.  Without it the weights are
 *    taken as OpenAI's: QuickGELU, width / 64 heads. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model_config.h"
#include "model_load.h"
#include "resnet.h"

#define CS_MAX_CONFIG_SIZE (4u << 20)
#define CS_BN_EPS 1e-5

int cs_openai_layout(const cs_safetensors *st)
{
    for (int i = 0; i < st->n_tensors; i++) {
        const char *n = st->tensors[i].name;
        if (!strncmp(n, "visual.", 7) || !strncmp(n, "transformer.resblocks.", 22) ||
            !strcmp(n, "token_embedding.weight") || !strcmp(n, "positional_embedding") ||
            !strcmp(n, "text_projection") || !strcmp(n, "ln_final.weight"))
            return 1;
    }
    return 0;
}

static int fail(cs_loader *ld, clipsearch_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(cs_loader *ld, clipsearch_status st, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cs_error_set(ld->err, st, "%s: %s", ld->file, msg);
    return 0;
}

static int norm(cs_loader *ld, cs_norm *n, int dim, const char *prefix)
{
    int64_t s[1] = {dim};
    if (!(n->w = cs_load_weight(ld, 1, s, "%s.weight", prefix)))
        return 0;
    return (n->b = cs_load_weight(ld, 1, s, "%s.bias", prefix)) != NULL;
}

/* PyTorch Linear: weight [out][in], bias [out]. */
static int linear(cs_loader *ld, cs_linear *l, int in, int out, const char *prefix)
{
    int64_t ws[2] = {out, in}, bs[1] = {out};
    *l = (cs_linear){.in = in, .out = out, .w_in_out = 0};
    if (!(l->w = cs_load_weight(ld, 2, ws, "%s.weight", prefix)))
        return 0;
    return (l->b = cs_load_weight(ld, 1, bs, "%s.bias", prefix)) != NULL;
}

/* Heads from the config, else width / head_width (OpenAI: head width 64). */
static int heads_for(cs_loader *ld, int width, int cfg_heads, int head_width, const char *tower)
{
    int heads = cfg_heads ? cfg_heads : width / (head_width ? head_width : 64);
    if (heads < 1 || width % heads != 0) {
        fail(ld, CLIPSEARCH_ERR_MODEL,
             "%s width %d cannot be split into %d attention heads (set heads in "
             "open_clip_config.json)",
             tower, width, heads);
        return 0;
    }
    return heads;
}

/* The residual attention blocks under "<prefix>N.". */
static int transformer(cs_loader *ld, cs_transformer *tf, const char *prefix, int cfg_layers,
                       const char *tower)
{
    char name[192];
    int64_t fc[2] = {-1, tf->width};
    const int W = tf->width;
    tf->layers = cs_count_layers(ld->st, prefix);
    if (tf->layers == 0)
        return fail(ld, CLIPSEARCH_ERR_MODEL, "no '%s*' tensors: the %s tower is missing", prefix,
                    tower);
    if (!cs_check_layers_present(ld, prefix, tf->layers))
        return 0;
    if (cfg_layers && cfg_layers != tf->layers)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json gives the %s tower %d layers but the weights have %d",
                    tower, cfg_layers, tf->layers);
    tf->eps = 1e-5f;
    if (!cs_load_weight(ld, 2, fc, "%s0.mlp.c_fc.weight", prefix))
        return 0;
    tf->mlp = (int)fc[0];
    tf->blocks = calloc((size_t)tf->layers, sizeof *tf->blocks);
    if (!tf->blocks)
        return fail(ld, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < tf->layers; i++) {
        cs_block *b = &tf->blocks[i];
        int64_t in_w[2] = {3 * W, W}, in_b[1] = {3 * W};
        const float *qkv, *qkv_b;
#define P(sub) (snprintf(name, sizeof name, "%s%d.%s", prefix, i, sub), name)
        if (!norm(ld, &b->ln1, W, P("ln_1")) ||
            !(qkv = cs_load_weight(ld, 2, in_w, "%s", P("attn.in_proj_weight"))) ||
            !(qkv_b = cs_load_weight(ld, 1, in_b, "%s", P("attn.in_proj_bias"))) ||
            !linear(ld, &b->o, W, W, P("attn.out_proj")) || !norm(ld, &b->ln2, W, P("ln_2")) ||
            !linear(ld, &b->fc1, W, tf->mlp, P("mlp.c_fc")) ||
            !linear(ld, &b->fc2, tf->mlp, W, P("mlp.c_proj")))
            return 0;
#undef P
        /* q, k, v: rows [0, W), [W, 2W), [2W, 3W) of the stacked projection. */
        b->q = (cs_linear){.w = qkv, .b = qkv_b, .in = W, .out = W};
        b->k = (cs_linear){.w = qkv + (size_t)W * W, .b = qkv_b + W, .in = W, .out = W};
        b->v = (cs_linear){.w = qkv + (size_t)2 * W * W, .b = qkv_b + 2 * W, .in = W, .out = W};
    }
    return 1;
}

/* A projection [width][dim] used as x @ W.  *dim: expected (> 0) or found. */
static int projection(cs_loader *ld, cs_linear *l, int width, const char *name, int *dim)
{
    int64_t s[2] = {width, *dim > 0 ? *dim : -1};
    const float *w = cs_load_weight(ld, 2, s, "%s", name);
    if (!w)
        return 0;
    *l = (cs_linear){.w = w, .b = NULL, .in = width, .out = (int)s[1], .w_in_out = 1};
    *dim = (int)s[1];
    return 1;
}

/* ---- ViT ---------------------------------------------------------------- */

static int vision_vit(cs_loader *ld, const cs_open_clip_config *oc, clipsearch_activation act,
                      int *proj_dim)
{
    cs_vision_tower *v = &ld->m->vision;
    int64_t cls[1] = {-1};
    if (oc->vision_n_layers == 4)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json describes a ResNet image tower (layers is a list) "
                    "but the weights hold a ViT");
    if (!(v->class_emb = cs_load_weight(ld, 1, cls, "visual.class_embedding")))
        return 0;
    v->tf.width = (int)cls[0];
    if (oc->vision_width && oc->vision_width != v->tf.width)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json gives vision width %d but the weights have %d",
                    oc->vision_width, v->tf.width);
    if (!cs_load_patches_and_positions(ld, v, "visual.conv1.weight", "visual.positional_embedding"))
        return 0;
    if (oc->vision_patch_size && oc->vision_patch_size != v->patch_size)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json says patch_size %d but the weights have %d",
                    oc->vision_patch_size, v->patch_size);
    if (oc->vision_image_size && oc->vision_image_size != v->image_size)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json says image_size %d but the weights are for %d",
                    oc->vision_image_size, v->image_size);
    if (!(v->tf.heads = heads_for(ld, v->tf.width, oc->vision_heads, oc->vision_head_width,
                                  "vision")))
        return 0;
    v->tf.act = act;
    if (!norm(ld, &v->ln_pre, v->tf.width, "visual.ln_pre") ||
        !transformer(ld, &v->tf, "visual.transformer.resblocks.",
                     oc->vision_n_layers == 1 ? oc->vision_layers[0] : 0, "vision") ||
        !norm(ld, &v->ln_post, v->tf.width, "visual.ln_post") ||
        !projection(ld, &v->proj, v->tf.width, "visual.proj", proj_dim))
        return 0;
    return 1;
}

/* ---- ModifiedResNet ----------------------------------------------------- */

/* A convolution weight [out][in][k][k] and its BatchNorm, folded into
 * w' [out][k][k][in] (channels last, for im2col rows) and b' [out]. */
static int conv_bn(cs_loader *ld, cs_conv *c, int in, int out, int k, int stride,
                   const char *conv_name, const char *bn_name)
{
    int64_t ws[4] = {out, in, k, k}, bs[1] = {out};
    const float *g, *beta, *mean, *var, *w;
    float *fw = NULL, *fb = NULL;
    if (!(g = cs_load_weight(ld, 1, bs, "%s.weight", bn_name)) ||
        !(beta = cs_load_weight(ld, 1, bs, "%s.bias", bn_name)) ||
        !(mean = cs_load_weight(ld, 1, bs, "%s.running_mean", bn_name)) ||
        !(var = cs_load_weight(ld, 1, bs, "%s.running_var", bn_name)))
        return 0;
    if (!(w = cs_load_weight(ld, 4, ws, "%s", conv_name)))
        return 0;
    fw = malloc((size_t)out * in * k * k * sizeof *fw);
    fb = malloc((size_t)out * sizeof *fb);
    if (!fw || !fb) {
        free(fw);
        free(fb);
        return fail(ld, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory for '%s'", conv_name);
    }
    for (int o = 0; o < out; o++) {
        double sc;
        if (!(var[o] >= 0) || !isfinite(var[o])) {
            free(fw);
            free(fb);
            return fail(ld, CLIPSEARCH_ERR_MODEL, "%s.running_var[%d] is %g: not a variance",
                        bn_name, o, (double)var[o]);
        }
        sc = g[o] / sqrt((double)var[o] + CS_BN_EPS);
        for (int ci = 0; ci < in; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                    fw[(((size_t)o * k + ky) * k + kx) * in + ci] =
                        (float)(w[(((size_t)o * in + ci) * k + ky) * k + kx] * sc);
        fb[o] = (float)(beta[o] - mean[o] * sc);
    }
    cs_load_release(ld, w); /* the unfolded copy is not needed any more */
    if (!cs_load_own(ld, fw)) {
        free(fb);
        return 0;
    }
    if (!cs_load_own(ld, fb))
        return 0;
    *c = (cs_conv){.w = fw, .b = fb, .in = in, .out = out, .k = k, .stride = stride,
                   .lin = {.w = fw, .b = fb, .in = k * k * in, .out = out}};
    return 1;
}

static int vision_resnet(cs_loader *ld, const cs_open_clip_config *oc, int *proj_dim)
{
    cs_resnet *r = &ld->m->resnet;
    int64_t c3[4] = {-1, -1, 3, 3}, pos[2] = {-1, -1}, cp[2] = {-1, -1};
    char conv[160], bn[160], prefix[64];
    const float *w;
    int half, inplanes, bi = 0, C, T;

    /* Stem: width from conv3 [width][width/2][3][3]. */
    if (!cs_load_weight(ld, 4, c3, "visual.conv3.weight"))
        return 0;
    r->width = (int)c3[0];
    half = (int)c3[1];
    if (r->width != 2 * half)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "visual.conv3.weight is [%d][%d]: the stem should widen w/2 -> w", r->width,
                    half);
    if (oc->vision_n_layers == 1)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json describes a ViT image tower but the weights hold a "
                    "ResNet");
    if (oc->vision_width && oc->vision_width != r->width)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json gives vision width %d but the weights have %d",
                    oc->vision_width, r->width);
    if (!conv_bn(ld, &r->stem[0], 3, half, 3, 2, "visual.conv1.weight", "visual.bn1") ||
        !conv_bn(ld, &r->stem[1], half, half, 3, 1, "visual.conv2.weight", "visual.bn2") ||
        !conv_bn(ld, &r->stem[2], half, r->width, 3, 1, "visual.conv3.weight", "visual.bn3"))
        return 0;

    r->n_blocks = 0;
    for (int s = 0; s < 4; s++) {
        snprintf(prefix, sizeof prefix, "visual.layer%d.", s + 1);
        r->stage_blocks[s] = cs_count_layers(ld->st, prefix);
        if (r->stage_blocks[s] == 0)
            return fail(ld, CLIPSEARCH_ERR_MODEL, "no '%s*' tensors: ResNet stage %d is missing",
                        prefix, s + 1);
        if (!cs_check_layers_present(ld, prefix, r->stage_blocks[s]))
            return 0;
        if (oc->vision_n_layers == 4 && oc->vision_layers[s] != r->stage_blocks[s])
            return fail(ld, CLIPSEARCH_ERR_MODEL,
                        "open_clip_config.json gives ResNet stage %d %d blocks but the weights "
                        "have %d",
                        s + 1, oc->vision_layers[s], r->stage_blocks[s]);
        r->n_blocks += r->stage_blocks[s];
    }
    r->blocks = calloc((size_t)r->n_blocks, sizeof *r->blocks);
    if (!r->blocks)
        return fail(ld, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
    inplanes = r->width;
    for (int s = 0; s < 4; s++) {
        int planes = r->width << s;
        for (int j = 0; j < r->stage_blocks[s]; j++, bi++) {
            cs_bottleneck *b = &r->blocks[bi];
            b->stride = s > 0 && j == 0 ? 2 : 1;
#define NAMES(c, n)                                                                  \
    (snprintf(conv, sizeof conv, "visual.layer%d.%d.%s.weight", s + 1, j, c),      \
     snprintf(bn, sizeof bn, "visual.layer%d.%d.%s", s + 1, j, n), conv)
            if (!conv_bn(ld, &b->c1, inplanes, planes, 1, 1, NAMES("conv1", "bn1"), bn) ||
                !conv_bn(ld, &b->c2, planes, planes, 3, 1, NAMES("conv2", "bn2"), bn) ||
                !conv_bn(ld, &b->c3, planes, 4 * planes, 1, 1, NAMES("conv3", "bn3"), bn))
                return 0;
            if (b->stride > 1 || inplanes != 4 * planes) {
                if (!conv_bn(ld, &b->down, inplanes, 4 * planes, 1, 1,
                             NAMES("downsample.0", "downsample.1"), bn))
                    return 0;
            } else {
                snprintf(conv, sizeof conv, "visual.layer%d.%d.downsample.0.weight", s + 1, j);
                if (cs_safetensors_find(ld->st, conv))
                    return fail(ld, CLIPSEARCH_ERR_MODEL,
                                "'%s' is present but the block keeps its shape: not a "
                                "ModifiedResNet",
                                conv);
            }
#undef NAMES
            inplanes = 4 * planes;
        }
    }

    /* Attention pooling: [grid^2 + 1][channels] positions give the input size. */
    r->channels = C = r->width * 32;
    pos[1] = C;
    if (!(r->pos_emb = cs_load_weight(ld, 2, pos, "visual.attnpool.positional_embedding")))
        return 0;
    T = (int)pos[0];
    r->grid = 1;
    while ((r->grid + 1) * (r->grid + 1) <= T - 1)
        r->grid++;
    if (T < 2 || r->grid * r->grid != T - 1)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "visual.attnpool.positional_embedding: %d positions is not 1 + a square", T);
    if (T > CS_RN_MAX_TOKENS)
        return fail(ld, CLIPSEARCH_ERR_UNSUPPORTED,
                    "visual.attnpool.positional_embedding: %d positions (at most %d supported)",
                    T, CS_RN_MAX_TOKENS);
    r->image_size = r->grid * 32;
    if (oc->vision_image_size && oc->vision_image_size != r->image_size)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json says image_size %d but the weights are for %d",
                    oc->vision_image_size, r->image_size);
    /* OpenAI: heads = width * 32 // 64; OpenCLIP: width * 32 // head_width. */
    if (!(r->heads = heads_for(ld, C, oc->vision_heads, oc->vision_head_width, "attention pool")))
        return 0;
    cp[0] = *proj_dim > 0 ? *proj_dim : -1;
    cp[1] = C;
    if (!linear(ld, &r->q, C, C, "visual.attnpool.q_proj") ||
        !linear(ld, &r->k, C, C, "visual.attnpool.k_proj") ||
        !linear(ld, &r->v, C, C, "visual.attnpool.v_proj") ||
        !(w = cs_load_weight(ld, 2, cp, "visual.attnpool.c_proj.weight")) ||
        (cs_load_release(ld, w), 0) ||
        !linear(ld, &r->c_proj, C, (int)cp[0], "visual.attnpool.c_proj"))
        return 0;
    *proj_dim = (int)cp[0];
    ld->m->vision_kind = CS_VISION_RESNET;
    return 1;
}

/* ---- text ---------------------------------------------------------------- */

static int text_tower(cs_loader *ld, const cs_open_clip_config *oc, clipsearch_activation act,
                      int *proj_dim)
{
    cs_text_tower *t = &ld->m->text;
    if (!cs_load_token_embeddings(ld, t, "token_embedding.weight", "positional_embedding"))
        return 0;
    if (oc->text_width && oc->text_width != t->tf.width)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json gives text width %d but the weights have %d",
                    oc->text_width, t->tf.width);
    if (oc->text_vocab && oc->text_vocab != t->vocab)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json gives vocab_size %d but the weights have %d",
                    oc->text_vocab, t->vocab);
    if (oc->text_context && oc->text_context != t->context)
        return fail(ld, CLIPSEARCH_ERR_MODEL,
                    "open_clip_config.json gives context_length %d but the weights have %d",
                    oc->text_context, t->context);
    if (t->context < 2)
        return fail(ld, CLIPSEARCH_ERR_MODEL, "positional_embedding has only %d positions",
                    t->context);
    /* OpenAI pools at argmax(ids): with <|endoftext|> the largest id, that is
     * its first occurrence. */
    t->eot_id = t->vocab - 1;
    if (!(t->tf.heads = heads_for(ld, t->tf.width, oc->text_heads, 0, "text")))
        return 0;
    t->tf.act = act;
    if (!transformer(ld, &t->tf, "transformer.resblocks.", oc->text_layers, "text") ||
        !norm(ld, &t->ln_final, t->tf.width, "ln_final") ||
        !projection(ld, &t->proj, t->tf.width, "text_projection", proj_dim))
        return 0;
    return 1;
}

static int has_tensor(const cs_safetensors *st, const char *name)
{
    return cs_safetensors_find(st, name) != NULL;
}

clipsearch_status cs_openai_load(clipsearch_model *m, const char *dir, const char *weights_path,
                                 clipsearch_error *err)
{
    cs_open_clip_config oc;
    cs_model_config defaults;
    cs_loader ld = {.m = m, .st = m->weights, .file = weights_path, .err = err};
    clipsearch_status rc;
    clipsearch_activation act;
    clipsearch_model_info *i = &m->info;
    char path[4096];
    char *json = NULL;
    size_t len = 0;
    int proj_dim = 0, has_cfg;

    cs_open_clip_config_defaults(&oc);
    cs_model_config_defaults(&defaults);
    snprintf(path, sizeof path, "%s/open_clip_config.json", dir);
    rc = cs_read_small_file(path, CS_MAX_CONFIG_SIZE, &json, &len, err);
    has_cfg = rc == CLIPSEARCH_OK;
    if (rc == CLIPSEARCH_OK)
        rc = cs_open_clip_config_parse(json, len, path, &oc, err);
    else if (rc == CLIPSEARCH_ERR_NOT_FOUND)
        rc = CLIPSEARCH_OK; /* OpenAI's own weights come without one */
    free(json);
    if (rc != CLIPSEARCH_OK)
        return rc;
    /* OpenCLIP's default is GELU; OpenAI-trained weights say quick_gelu. */
    act = !has_cfg || oc.quick_gelu == 1 ? CLIPSEARCH_ACT_QUICK_GELU : CLIPSEARCH_ACT_GELU;

    if (m->towers & CLIPSEARCH_TOWER_VISION) {
        int resnet = has_tensor(m->weights, "visual.attnpool.positional_embedding") ||
                     has_tensor(m->weights, "visual.layer1.0.conv1.weight") ||
                     has_tensor(m->weights, "visual.bn1.weight");
        if (!has_tensor(m->weights, "visual.conv1.weight"))
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                "%s: tensor 'visual.conv1.weight' is missing: no image tower "
                                "(load the text tower only?)",
                                weights_path);
        if (resnet ? !vision_resnet(&ld, &oc, &proj_dim) : !vision_vit(&ld, &oc, act, &proj_dim))
            return err->status;
        if (oc.embed_dim && proj_dim != oc.embed_dim)
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                "%s: open_clip_config.json gives embed_dim %d but the image "
                                "tower projects to %d",
                                weights_path, oc.embed_dim, proj_dim);
    }
    if (m->towers & CLIPSEARCH_TOWER_TEXT) {
        int text_dim = 0;
        if (!text_tower(&ld, &oc, act, &text_dim))
            return err->status;
        if (oc.embed_dim && text_dim != oc.embed_dim)
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                "%s: open_clip_config.json gives embed_dim %d but the text "
                                "tower projects to %d",
                                weights_path, oc.embed_dim, text_dim);
        if (proj_dim && text_dim != proj_dim)
            return cs_error_set(err, CLIPSEARCH_ERR_MODEL,
                                "%s: the text tower projects to %d dimensions but the image "
                                "tower to %d",
                                weights_path, text_dim, proj_dim);
        proj_dim = text_dim;
    }
    if (proj_dim <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_MODEL, "%s: no projection found", weights_path);

    i->projection_dim = proj_dim;
    i->layout = CLIPSEARCH_LAYOUT_OPENAI;
    cs_load_fill_tower_info(m);
    if (m->vision_kind == CS_VISION_RESNET) {
        const cs_resnet *r = &m->resnet;
        i->vision_kind = CLIPSEARCH_VISION_RESNET;
        i->image_size = r->image_size;
        i->patch_size = 32;
        i->vision_width = r->width;
        i->vision_layers = r->n_blocks;
        i->vision_heads = r->heads;
        i->vision_act = act;
        i->vision_eps = (float)CS_BN_EPS;
        memcpy(i->resnet_blocks, r->stage_blocks, sizeof i->resnet_blocks);
    } else {
        i->vision_kind = CLIPSEARCH_VISION_VIT;
    }
    memcpy(i->image_mean, oc.has_mean ? oc.mean : defaults.image_mean, sizeof i->image_mean);
    memcpy(i->image_std, oc.has_std ? oc.std : defaults.image_std, sizeof i->image_std);
    cs_load_fill_dtype(&ld, i);
    return CLIPSEARCH_OK;
}
