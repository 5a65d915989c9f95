#!/bin/bash
# bench-index.sh — the indexing benchmark of issue 5: end-to-end images/s of
# the real clipsearch-index over a folder of 12-megapixel JPEGs with a
# random-weight full-size ViT-B/32, against the image tower alone (the
# ceiling) in the same run; where the time goes; peak resident memory; the
# library's size on disk per photo; fast vs exact preprocessing.
# Numbers are printed, never asserted.  On a shared machine they move with
# other load: run it twice.
#
# usage: scripts/bench-index.sh [BUILD_DIR] [N_PHOTOS] [THREADS]
#   env WORK (default /tmp/clipsearch-bench-index): model, photos, libraries.
set -eu
BUILD=${1:-build}
N=${2:-96}
TH=${3:-2}
WORK=${WORK:-/tmp/clipsearch-bench-index}
HERE=$(cd "$(dirname "$0")/.." && pwd)
export CLIPSEARCH_FIXTURES_DIR=${CLIPSEARCH_FIXTURES_DIR:-$HERE/../shared/fixtures}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }
mkdir -p "$WORK"
M=$WORK/vit-b32
[ -f "$M/model.safetensors" ] || "$BUILD/bench_engine" --write-model "$M" --only-write
"$BUILD/bench_index" --generate "$WORK/photos" -n "$N"

echo "== image tower alone (ceiling), batch 32, $TH threads"
"$BUILD/bench_engine" --model "$M" --threads "$TH" --batches 4 --queries 1 | grep -E 'sgemm|image tower'

for mode in fast exact; do
    echo "== clipsearch-index --$mode --threads $TH, empty library, $N photos"
    rm -rf "$WORK/lib-$mode"
    /usr/bin/time -f 'peak RSS %M KB, %e s wall, %U s user, %S s sys, %P CPU' \
        "$BUILD/clipsearch-index" --db "$WORK/lib-$mode" --model "$M" --threads "$TH" \
        --"$mode" --json -q "$WORK/photos"
    b=$(du -sb "$WORK/lib-$mode" | cut -f1)
    echo "library: $b bytes, $((b / N)) bytes per photo"
done
echo "== re-run, nothing changed"
/usr/bin/time -f 'peak RSS %M KB, %e s wall' "$BUILD/clipsearch-index" --db "$WORK/lib-fast" \
    --model "$M" --threads "$TH" --json -q "$WORK/photos"

echo "== image tower alone again (load drift check)"
"$BUILD/bench_engine" --model "$M" --threads "$TH" --batches 4 --queries 1 | grep 'image tower'

echo "== fast vs exact preprocessing, ViT-B/32 random weights"
"$BUILD/bench_index" --compare "$M" -n 16 --threads "$TH" "$WORK/photos"
