#!/bin/bash
# bench-serve.sh BUILD_DIR [WORK_DIR] — the server's speed (issue 10): text
# search through HTTP on a synthetic library of 100,000 photos with a random
# full-size ViT-B/32 (made once by bench_engine and bench_search, as in
# bench-search.sh), 50 concurrent clients, and a 12-MP JPEG's thumbnail.
# Options for bench_serve can follow in BENCH_SERVE_ARGS (e.g. "--threads 2").
set -eu
B=$(cd "${1:?usage: bench-serve.sh BUILD_DIR [WORK_DIR]}" && pwd)
W=${2:-/tmp/clipsearch-bench-search}
FIX=$(cd "$(dirname "$0")/../../shared/fixtures" && pwd)
mkdir -p "$W"
cd "$W"
[ -e vitb32/model.safetensors ] || "$B/bench_engine" --write-model vitb32 --only-write
cp -f "$FIX/tokenizer/vocab.json" "$FIX/tokenizer/merges.txt" vitb32/
"$B/bench_search" --model vitb32 --db lib100k --photos 100000 --queries 1 >/dev/null
cat vitb32/* lib100k/* >/dev/null # page cache
# shellcheck disable=SC2086
"$B/bench_serve" --model vitb32 --db lib100k --work "$W/serve" ${BENCH_SERVE_ARGS:-}
