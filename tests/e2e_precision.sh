#!/bin/bash
# e2e_precision.sh — --precision on the real programs (issue 12): bad values
# are usage errors (exit 2), clipsearch-index's --json summary and
# `clipsearch stats` (text and --json) say which precision built the
# library, and `clipsearch embed --precision` gives embeddings whose cosine
# to fp32's is >= 0.999.  bf16 needs the oneDNN backend: without it those
# checks are replaced by "bf16 is refused with a clear error".
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
IDX=$BIN/clipsearch-index
CS=$BIN/clipsearch
for f in golden/clip-tiny-b32/model.safetensors images/astronaut.jpg tokenizer; do
    [ -e "$FIX/$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
. "$(dirname "$0")/e2e-lib.sh" e2e_precision
export HOME=$T/home XDG_DATA_HOME=$T/home/.local/share XDG_CACHE_HOME=$T/home/.cache
unset CLIPSEARCH_MODEL CLIPSEARCH_DB CLIPSEARCH_PRECISION
mkdir -p "$HOME" "$T/photos"
M=$FIX/golden/clip-tiny-b32
cp "$FIX"/images/astronaut.jpg "$FIX"/images/coffee.webp "$T/photos/"

"$CS" embed --model "$M" --vocab "$FIX/tokenizer" --precision fp16 --text hi >/dev/null 2>"$T/err"
check "clipsearch --precision fp16: exit 2" [ $? -eq 2 ]
check "  says what it takes" grep -q "bf16, fp32 or auto" "$T/err"
"$CS" embed --model "$M" --vocab "$FIX/tokenizer" --text hi --precision >/dev/null 2>"$T/err"
check "clipsearch --precision without a value: exit 2" [ $? -eq 2 ]
"$IDX" --db "$T/lib" --model "$M" --precision half -q "$T/photos" 2>"$T/err"
check "clipsearch-index --precision half: exit 2" [ $? -eq 2 ]
"$CS" --help | grep -q -- "--precision bf16|fp32|auto"
check "clipsearch --help explains --precision" [ $? -eq 0 ]
"$IDX" --help | grep -q -- "--precision"
check "clipsearch-index --help explains --precision" [ $? -eq 0 ]

out=$("$IDX" --db "$T/lib" --model "$M" --precision fp32 --json -q "$T/photos")
check "index --precision fp32: summary says fp32 ($out)" python3 -c '
import json,sys; s=json.loads(sys.argv[1].splitlines()[-1]); assert s["precision"] == "fp32" and s["encoded"] == 2, s' "$out"
check "stats --json: precision fp32" python3 -c '
import json,sys; s=json.load(sys.stdin); assert s["models"][0]["precision"] == "fp32", s' <<<"$("$CS" stats --db "$T/lib" --json)"
check "stats: precision fp32" grep -q "precision fp32" <<<"$("$CS" stats --db "$T/lib")"

if "$CS" embed --model "$M" --vocab "$FIX/tokenizer" --precision bf16 --text hi >/dev/null 2>"$T/err"; then
    # bf16 available: the CLI's embeddings stay close to fp32's.
    "$CS" embed --model "$M" --vocab "$FIX/tokenizer" --precision fp32 --text "a photo of a cat" --image "$FIX/images/astronaut.jpg" >"$T/f32"
    "$CS" embed --model "$M" --vocab "$FIX/tokenizer" --precision bf16 --text "a photo of a cat" --image "$FIX/images/astronaut.jpg" >"$T/b16"
    check "embed bf16 vs fp32: cosine >= 0.999" python3 -c '
import json,sys,math
a=[json.loads(l) for l in open(sys.argv[1])]; b=[json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) == 2, (len(a), len(b))
for x, y in zip(a, b):
    u, v = x["embedding"], y["embedding"]
    c = sum(p*q for p, q in zip(u, v)) / math.sqrt(sum(p*p for p in u) * sum(q*q for q in v))
    assert c >= 0.999, c
    print("cosine %.6f" % c)' "$T/f32" "$T/b16"
    cp "$FIX"/images/chelsea_444.jpg "$T/photos/"
    out=$("$IDX" --db "$T/lib" --model "$M" --precision bf16 --json -q "$T/photos")
    check "index --precision bf16 on an fp32 library: summary bf16" python3 -c '
import json,sys; s=json.loads(sys.argv[1].splitlines()[-1]); assert s["precision"] == "bf16" and s["encoded"] == 1, s' "$out"
    check "stats: a library of both is 'mixed'" grep -q "precision mixed" <<<"$("$CS" stats --db "$T/lib")"
else
    check "bf16 refused with a clear error" grep -q "bf16 needs the oneDNN backend" "$T/err"
fi
echo "e2e_precision: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
