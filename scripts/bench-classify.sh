#!/bin/sh
# bench-classify.sh — zero-shot classification cost with a random full-size
# ViT-B/32 text tower (issue 11): text side uncached and cached, then
# 100,000 embeddings x 1,000 classes.  Usage: scripts/bench-classify.sh
# [BUILD_DIR] [LABELS] (LABELS measured uncached; default 10 = 800 prompts).
set -eu
B=$(cd "${1:-build/rel}" && pwd)
L=${2:-10}
FIX=${CLIPSEARCH_FIXTURES_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/fixtures}
mkdir -p "$B/bench" && cd "$B/bench"
[ -e vitb32/model.safetensors ] || "$B/bench_engine" --write-model vitb32 --only-write
cp -f "$FIX/tokenizer/vocab.json" "$FIX/tokenizer/merges.txt" vitb32/
"$B/bench_classify" --model vitb32 --labels "$L" --classes 1000 --embeddings 100000
