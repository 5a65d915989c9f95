#!/bin/bash
# e2e_openai_layout.sh — an OpenAI / OpenCLIP-layout model (the tiny
# ModifiedResNet, weights under OpenCLIP's file name) through the real
# programs: clipsearch-index indexes the fixture photos with it, and
# searching by each photo finds that photo at the top with score >= 0.99.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
for f in golden/openai-tiny-rn/model.safetensors tokenizer/vocab.json images/astronaut.jpg; do
    [ -e "$FIX/$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_openai.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
checks=0
check() { local what=$1; shift; checks=$((checks + 1)); "$@" || { fails=$((fails + 1)); echo "FAIL: $what" >&2; }; }

M=$T/rn
mkdir -p "$M"
cp "$FIX/golden/openai-tiny-rn/open_clip_config.json" "$M/"
cp "$FIX/golden/openai-tiny-rn/model.safetensors" "$M/open_clip_model.safetensors"
cp "$FIX/tokenizer/bpe_simple_vocab_16e6.txt.gz" "$M/"
mkdir -p "$T/photos"
cp "$FIX"/images/*.* "$T/photos/"
n=$(ls "$T"/photos/* | wc -l)

out=$("$BIN/clipsearch-index" --db "$T/lib" --model "$M" --json -q "$T/photos" | tail -n 1)
rc=$?
check "index exits 0 (got $rc)" test "$rc" -eq 0
check "all $n photos encoded: $out" grep -q "\"encoded\":$n," <<<"$out"
check "no failures: $out" grep -q '"failed":0,' <<<"$out"

# The tiny random ResNet maps versions of one picture (EXIF-rotated, CMYK,
# PNG...) to nearly the same vector, so ties at the top are expected: the
# photo must be in the results with the top score (to 1e-4), >= 0.99.
for f in "$T"/photos/*; do
    res=$("$BIN/clipsearch" --db "$T/lib" --model "$M" --json -n "$n" --image "$f")
    top=$(head -n 1 <<<"$res" | sed -n 's/.*"score": *\([-0-9.e]*\).*/\1/p')
    mine=$(grep "\"path\": *\"$f\"" <<<"$res" | sed -n 's/.*"score": *\([-0-9.e]*\).*/\1/p')
    check "$(basename "$f") is in its own results" test -n "$mine"
    check "$(basename "$f") scores $mine (top $top), >= 0.99 and tied with the top" \
        awk -v s="${mine:-0}" -v t="${top:-1}" 'BEGIN { exit !(s >= 0.99 && t - s <= 1e-4) }'
done
# A text query works with the OpenAI tokenizer table in the model folder.
res=$("$BIN/clipsearch" --db "$T/lib" --model "$M" --paths -n 5 "a rocket on a launch pad")
check "text search returns 5 paths" test "$(wc -l <<<"$res")" -eq 5

echo "e2e_openai_layout: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
