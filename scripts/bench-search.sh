#!/bin/bash
# bench-search.sh BUILD_DIR [WORK_DIR] — wall time and peak RSS of the whole
# `clipsearch "dog on a beach"` process on a synthetic library of 100,000
# photos with a random full-size ViT-B/32 (issue 6's benchmark).
#
# Writes the model (605 MB, bench_engine --write-model) and the library
# (bench_search: random normalised embeddings through the store, FAISS index
# saved) into WORK_DIR (default /tmp/clipsearch-bench-search) once, warms the
# page cache, then runs the search 10 times under /usr/bin/time -v and prints
# each run's wall time, peak RSS and the program's own --timing breakdown.
set -eu
B=$(cd "${1:?usage: bench-search.sh BUILD_DIR [WORK_DIR]}" && pwd)
W=${2:-/tmp/clipsearch-bench-search}
FIX=$(cd "$(dirname "$0")/../../shared/fixtures" && pwd)
mkdir -p "$W"
cd "$W"
[ -e vitb32/model.safetensors ] || "$B/bench_engine" --write-model vitb32 --only-write
cp -f "$FIX/tokenizer/vocab.json" "$FIX/tokenizer/merges.txt" vitb32/
"$B/bench_search" --model vitb32 --db lib100k --photos 100000 --queries 10
cat vitb32/* lib100k/* >/dev/null # page cache
for i in $(seq 10); do
    /usr/bin/time -f "run $i: wall %e s, peak RSS %M KB" \
        "$B/clipsearch" --db lib100k --model vitb32 --timing "dog on a beach" >/dev/null
done
