#!/bin/bash
# bench-search.sh BUILD_DIR [WORK_DIR] [SIZES] — search at scale (issue 16).
#
# For each size (default "10000 100000"; pass e.g. "10000 100000 1000000"
# for the 1M run, which writes ~2 GB of vectors and takes several minutes):
#   1. bench_search builds a synthetic library of clustered embeddings with a
#      random full-size ViT-B/32's fingerprint and dimension, builds each
#      index type (auto, and Flat for comparison below 1M) and reports build
#      time, file size, the search process's peak memory, in-process p50/p99
#      and recall@10 against brute force;
#   2. the whole `clipsearch --db LIB --model vitb32 "dog on a beach"`
#      process is run RUNS times (default 20) on the library's automatic
#      index, files in the page cache, under /usr/bin/time: p50 / p99 wall
#      time and the largest peak RSS.
# The model (605 MB, bench_engine --write-model) and the libraries are kept
# in WORK_DIR (default /tmp/clipsearch-bench-search) and reused.
set -eu
B=$(cd "${1:?usage: bench-search.sh BUILD_DIR [WORK_DIR] [SIZES]}" && pwd)
W=${2:-/tmp/clipsearch-bench-search}
SIZES=${3:-10000 100000}
RUNS=${RUNS:-20}
FIX=$(cd "$(dirname "$0")/../../shared/fixtures" && pwd)
mkdir -p "$W"
cd "$W"
[ -e vitb32/model.safetensors ] || "$B/bench_engine" --write-model vitb32 --only-write
cp -f "$FIX/tokenizer/vocab.json" "$FIX/tokenizer/merges.txt" vitb32/
for n in $SIZES; do
    lib=clustered-$n
    types=(--index-type auto)
    [ "$n" -lt 1000000 ] && types+=(--index-type Flat)
    "$B/bench_search" --model vitb32 --db "$lib" --photos "$n" --queries 100 "${types[@]}"
    cat vitb32/* "$lib"/* >/dev/null # page cache
    "$B/clipsearch" stats --db "$lib" | grep "index"
    for i in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M %U %S" -o "$W/time.$i" \
            "$B/clipsearch" --db "$lib" --model vitb32 "dog on a beach" >/dev/null
    done
    "$B/clipsearch" --db "$lib" --model vitb32 --timing "dog on a beach" 2>&1 >/dev/null |
        sed "s/^/one run: /"
    pct() { sort -n | awk -v q="$1" '{ v[NR] = $1 } END { i = int(NR * q + 0.999); if (i < 1) i = 1; print v[i] }'; }
    echo "$n photos, whole clipsearch process (auto index), $RUNS runs:" \
        "wall p50 $(awk '{ print $1 }' "$W"/time.* | pct 0.5) s," \
        "p99 $(awk '{ print $1 }' "$W"/time.* | pct 0.99) s;" \
        "CPU (user+sys) p50 $(awk '{ print $3 + $4 }' "$W"/time.* | pct 0.5) s;" \
        "peak RSS $(awk '{ print int($2 / 1024) }' "$W"/time.* | pct 1) MB"
    rm -f "$W"/time.*
done
