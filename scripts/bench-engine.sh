#!/bin/bash
# bench-engine.sh — the engine benchmark of issue 12: clipsearch's image
# tower (bench_engine) in fp32 and bf16, on oneDNN and on OpenBLAS, against
# ONNX Runtime 1.30 fp32 on the same weights, cores and batch, in the same
# run; ratios printed.  Then the text query, RN50, ViT-B/16 and ViT-L/14.
# Numbers are printed, never asserted.  On a shared machine they move with
# other load: read the same-run ratios, and run it twice.
#
# usage: scripts/bench-engine.sh [BUILD_DIR] [THREADS] [BATCHES]
#   env ROUNDS (default 3): rounds over the configurations, best kept.
#   env WORK   (default /tmp/clipsearch-bench-engine): models, ONNX graphs.
#   env CACHE  (default ~/.cache/clipsearch-bench): onnxruntime-node from the
#              npm registry is installed there, outside the repository.
#   env SKIP_LARGE=1: leave out ViT-B/16 and ViT-L/14 (slow).
# Needs: node + npm (ONNX Runtime), Debian's python3-torch (ONNX export).
# Without them the ONNX Runtime part is skipped with a message.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$HERE/build/rel}
TH=${2:-2}
K=${3:-4}
WORK=${WORK:-/tmp/clipsearch-bench-engine}
CACHE=${CACHE:-$HOME/.cache/clipsearch-bench}
mkdir -p "$WORK" "$CACHE/ort"
if [ ! -x "$BUILD/bench_engine" ]; then
    cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j"$TH" --target bench_engine >/dev/null
fi
B=$BUILD/bench_engine
M=$WORK/vit-b32
"$B" --write-model "$M" --only-write

# ---- ONNX Runtime: install (once), export the graph (once) ----------------
ort_ok=0
if command -v npm >/dev/null && command -v node >/dev/null && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    if [ ! -d "$CACHE/ort/node_modules/onnxruntime-node" ]; then
        (cd "$CACHE/ort" && { [ -f package.json ] || echo '{"name":"cs-bench-ort","private":true}' >package.json; } &&
         # --ignore-scripts: its install script only fetches GPU providers.
         npm install --no-audit --no-fund --ignore-scripts onnxruntime-node@1.30.0 >/dev/null)
    fi
    [ -f "$WORK/vit-b32-b32.onnx" ] || /usr/bin/python3 "$HERE/scripts/bench_ort_export.py" "$M" "$WORK/vit-b32-b32.onnx" 32
    ort_ok=1
else
    echo "ONNX Runtime: skipped (needs node, npm and python3-torch)"
fi

best() { sed -n 's/.*best \([0-9.]*\) img\/s.*/\1/p' | head -1; }
max() { python3 -c 'import sys; print(max(float(x) for x in sys.argv[1:] if x))' "$@"; }
# Rounds alternate the configurations (and ONNX Runtime), so that load from
# elsewhere hits them alike; each figure is the best batch over all rounds.
ROUNDS=${ROUNDS:-3}
CFGS=("onednn bf16" "onednn fp32" "openblas fp32")
declare -A R
echo "== ViT-B/32 image tower, batch 32, $TH threads, $K batches x $ROUNDS rounds each"
for round in $(seq "$ROUNDS"); do
    for cfg in "${CFGS[@]}"; do
        set -- $cfg
        out=$(CLIPSEARCH_BACKEND=$1 "$B" --model "$M" --threads "$TH" --batches "$K" --queries 30 --precision "$2")
        if [ "$round" = 1 ]; then
            echo "-- CLIPSEARCH_BACKEND=$1 --precision $2"
            echo "$out" | grep -E 'engine:|ceiling|model: backend'
        fi
        echo "   round $round, $1 $2: $(echo "$out" | grep -E 'image tower|text query \(8|embedding\[0\]' | sed 's/.*threads: //' | tr '\n' ' ')"
        R["$cfg"]="${R["$cfg"]:-} $(echo "$out" | best)"
    done
    if [ "$ort_ok" = 1 ]; then
        out=$(ORT_MODULE_DIR="$CACHE/ort" node "$HERE/scripts/bench_ort.js" "$WORK/vit-b32-b32.onnx" 32 "$TH" "$K")
        echo "   round $round, $(echo "$out" | tr '\n' ' ')"
        R[ort]="${R[ort]:-} $(echo "$out" | best)"
    fi
done
for cfg in "${CFGS[@]}"; do
    b=$(max ${R["$cfg"]})
    if [ "$ort_ok" = 1 ]; then
        o=$(max ${R[ort]})
        python3 -c "import sys; print('best %-14s %6.1f img/s = %.2fx ONNX Runtime 1.30 fp32 (best %.1f img/s)' % (sys.argv[1], float(sys.argv[2]), float(sys.argv[2]) / float(sys.argv[3]), float(sys.argv[3])))" "$cfg" "$b" "$o"
    else
        echo "best $cfg $b img/s"
    fi
done

echo "== RN50 image tower (random weights), batch 32"
"$B" --write-rn50 "$WORK/rn50" --only-write
for cfg in "onednn bf16" "onednn fp32" "openblas fp32"; do
    set -- $cfg
    echo "-- CLIPSEARCH_BACKEND=$1 --precision $2: $(CLIPSEARCH_BACKEND=$1 "$B" --model "$WORK/rn50" --threads "$TH" --batches 2 --queries 1 --precision "$2" | grep 'image tower')"
done

if [ "${SKIP_LARGE:-0}" != 1 ]; then
    for arch in B/16 L/14; do
        d=$WORK/vit-$(echo "$arch" | tr -d / | tr A-Z a-z)
        "$B" --write-model "$d" --arch "$arch" --only-write
        echo "== ViT-$arch image tower (random weights), batch 32"
        for cfg in "onednn bf16" "onednn fp32"; do
            set -- $cfg
            echo "-- --precision $2: $(CLIPSEARCH_BACKEND=$1 "$B" --model "$d" --threads "$TH" --batches 1 --queries 1 --precision "$2" | grep 'image tower')"
        done
    done
fi
