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
        /usr/bin/time -f "%e %M" -o "$W/time.$i" \
            "$B/clipsearch" --db "$lib" --model vitb32 "dog on a beach" >/dev/null
    done
    "$B/clipsearch" --db "$lib" --model vitb32 --timing "dog on a beach" 2>&1 >/dev/null |
        sed "s/^/one run: /"
    cat "$W"/time.* | sort -n | awk -v n="$n" -v runs="$RUNS" '
        { wall[NR] = $1; if ($2 > peak) peak = $2 }
        END { p99 = int(NR * 0.99 + 0.999);
              printf "%d photos, whole clipsearch process (auto index), %d runs: p50 %.2f s, p99 %.2f s, peak RSS %.0f MB\n",
                     n, runs, wall[int((NR + 1) / 2)], wall[(p99 > NR) ? NR : p99], peak / 1024 }'
    rm -f "$W"/time.*
done
