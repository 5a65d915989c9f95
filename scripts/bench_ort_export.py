#!/usr/bin/python3
"""bench_ort_export.py MODEL_DIR OUT.onnx BATCH

Exports the image tower of a Hugging Face layout CLIP ViT (config.json +
model.safetensors, F32, as bench_engine --write-model writes it) to ONNX,
for timing ONNX Runtime against clipsearch on the same weights
(scripts/bench-engine.sh).  A small torch module of CLIPVisionModel's
forward (pre-LN, QuickGELU, class-token pooling, projection); the weights
are read from the safetensors file directly (no safetensors package).
Needs Debian's python3-torch.  Prints a checksum of its output for one
batch, so the graph can be compared with clipsearch's embeddings."""
import json
import struct
import sys

import numpy as np
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).reshape(t["shape"]).copy())
    return out


class Block(torch.nn.Module):
    def __init__(self, w, p, heads):
        super().__init__()
        self.heads = heads
        g = lambda n: torch.nn.Parameter(w[p + n], requires_grad=False)
        self.ln1_w, self.ln1_b = g("layer_norm1.weight"), g("layer_norm1.bias")
        self.ln2_w, self.ln2_b = g("layer_norm2.weight"), g("layer_norm2.bias")
        self.q_w, self.q_b = g("self_attn.q_proj.weight"), g("self_attn.q_proj.bias")
        self.k_w, self.k_b = g("self_attn.k_proj.weight"), g("self_attn.k_proj.bias")
        self.v_w, self.v_b = g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias")
        self.o_w, self.o_b = g("self_attn.out_proj.weight"), g("self_attn.out_proj.bias")
        self.f1_w, self.f1_b = g("mlp.fc1.weight"), g("mlp.fc1.bias")
        self.f2_w, self.f2_b = g("mlp.fc2.weight"), g("mlp.fc2.bias")

    def forward(self, x):
        B, T, W = x.shape
        hd = W // self.heads
        h = torch.nn.functional.layer_norm(x, (W,), self.ln1_w, self.ln1_b, 1e-5)
        q = torch.nn.functional.linear(h, self.q_w, self.q_b).reshape(B, T, self.heads, hd).transpose(1, 2)
        k = torch.nn.functional.linear(h, self.k_w, self.k_b).reshape(B, T, self.heads, hd).transpose(1, 2)
        v = torch.nn.functional.linear(h, self.v_w, self.v_b).reshape(B, T, self.heads, hd).transpose(1, 2)
        a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (hd ** -0.5), dim=-1)
        a = torch.matmul(a, v).transpose(1, 2).reshape(B, T, W)
        x = x + torch.nn.functional.linear(a, self.o_w, self.o_b)
        h = torch.nn.functional.layer_norm(x, (W,), self.ln2_w, self.ln2_b, 1e-5)
        h = torch.nn.functional.linear(h, self.f1_w, self.f1_b)
        h = h * torch.sigmoid(1.702 * h)
        return x + torch.nn.functional.linear(h, self.f2_w, self.f2_b)


class Vision(torch.nn.Module):
    def __init__(self, w, cfg):
        super().__init__()
        vc = cfg["vision_config"]
        self.P = vc["patch_size"]
        g = lambda n: torch.nn.Parameter(w[n], requires_grad=False)
        self.patch = g("vision_model.embeddings.patch_embedding.weight")
        self.cls = g("vision_model.embeddings.class_embedding")
        self.pos = g("vision_model.embeddings.position_embedding.weight")
        self.pre_w, self.pre_b = g("vision_model.pre_layrnorm.weight"), g("vision_model.pre_layrnorm.bias")
        self.post_w, self.post_b = g("vision_model.post_layernorm.weight"), g("vision_model.post_layernorm.bias")
        self.proj = g("visual_projection.weight")
        self.blocks = torch.nn.ModuleList(
            Block(w, "vision_model.encoder.layers.%d." % i, vc["num_attention_heads"])
            for i in range(vc["num_hidden_layers"]))

    def forward(self, pixels):
        x = torch.nn.functional.conv2d(pixels, self.patch, stride=self.P)
        B, W = x.shape[0], x.shape[1]
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(B, 1, W), x], dim=1) + self.pos
        x = torch.nn.functional.layer_norm(x, (W,), self.pre_w, self.pre_b, 1e-5)
        for b in self.blocks:
            x = b(x)
        x = torch.nn.functional.layer_norm(x[:, 0], (W,), self.post_w, self.post_b, 1e-5)
        return torch.nn.functional.linear(x, self.proj)


def main():
    model_dir, out, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = json.load(open(model_dir + "/config.json"))
    w = load_safetensors(model_dir + "/model.safetensors")
    m = Vision(w, cfg).eval()
    S = cfg["vision_config"]["image_size"]
    x = torch.zeros(batch, 3, S, S)
    with torch.no_grad():
        torch.onnx.export(m, (x,), out, input_names=["pixel_values"], output_names=["image_embeds"],
                          opset_version=14, do_constant_folding=True)
    print("exported %s (batch %d, image %d)" % (out, batch, S))


if __name__ == "__main__":
    main()
