#!/bin/bash
# e2e_probe.sh — end-to-end test of personal classifiers: `clipsearch learn`,
# `clipsearch classifiers`, `clipsearch --classifier NAME`, `clipsearch
# forget`, and their bad inputs (exit codes, messages, nothing stored), on a
# library of the clip-shapes fixture photos indexed with the clip-shapes model
# (a small trained CLIP: its rankings mean something).
#
# Needs python3 (JSON, sqlite3); skips (77) without it or without the fixtures.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
CS=$BIN/clipsearch
IDX=$BIN/clipsearch-index
for f in clip-shapes/model.safetensors clip-shapes/vocab.json clip-shapes/photos/labels.json \
         golden/clip-tiny-b32/model.safetensors tokenizer/vocab.json images/broken/not_an_image.jpg; do
    [ -e "$FIX/$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

. "$(dirname "$0")/e2e-lib.sh" e2e_probe

export HOME=$T/home XDG_CACHE_HOME=$T/home/.cache XDG_DATA_HOME=$T/home/.local/share
unset CLIPSEARCH_MODEL CLIPSEARCH_DB HF_HUB_CACHE
mkdir -p "$HOME"

M=$FIX/clip-shapes
P=$T/photos
mkdir -p "$P/warm" "$P/other" "$P/outside" "$P/unindexed"
# Single-object photos; the first 16 warm ones (red, orange, yellow) apart
# in warm/ as the positives, everything else in other/.
n=0
for f in "$FIX"/clip-shapes/photos/*_*.*; do
    b=$(basename "$f")
    case $b in *+*) continue ;; esac
    if [[ $b =~ ^[0-9]+_(red|orange|yellow)_ ]] && [ $n -lt 16 ]; then
        cp "$f" "$P/warm/"
        n=$((n + 1))
    else
        cp "$f" "$P/other/"
    fi
done
# Two warm photos kept out of the library (embedded for training only), an
# undecodable one, and an empty folder.
for b in $(ls "$P/other" | grep -E '^[0-9]+_(red|orange|yellow)_' | tail -2); do
    mv "$P/other/$b" "$P/outside/"
done
cp "$FIX/images/broken/not_an_image.jpg" "$P/outside/broken.jpg"

DB=$T/lib
"$IDX" --db "$DB" --model "$M" -q "$P/warm" "$P/other" >/dev/null 2>"$T/index.err" \
    || { echo "FAIL: indexing failed:"; cat "$T/index.err"; exit 1; }

L() { "$CS" learn --db "$DB" --model "$M" "$@"; }
S() { "$CS" --db "$DB" --model "$M" "$@"; }
n_classifiers() { "$CS" classifiers --db "$DB" --json | grep -c .; }
n_example_rows() { python3 -c '
import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM classifier_examples").fetchone()[0])' "$DB/library.sqlite3"; }
# precision of the first K results (paths on stdin) for warm, among photos not
# used for training (the warm/ folder)
precision() { python3 -c '
import re,sys
rows=[l.strip() for l in sys.stdin if "/warm/" not in l]
k=int(sys.argv[1]); rows=rows[:k]
hit=sum(1 for r in rows if re.search(r"/[0-9]+_(red|orange|yellow)_", r))
print("%.3f" % (hit / k if len(rows) == k else 0))' "$1"; }

# ---- learn: prints the accuracy -------------------------------------------------------
out=$(L warm --positive "$P/warm" 2>"$T/err")
check "learn: exit 0 ($(cat "$T/err"))" [ $? -eq 0 ]
check "learn: prints the counts" grep -q "learned 'warm': 16 positive and 160 negative examples (random library photos)" <<<"$out"
check "learn: prints C by cross-validation" grep -q "^C .*5-fold cross-validation" <<<"$out"
check "learn: prints the accuracy" grep -qE "^accuracy +0\.[0-9]{3} \(cross-validated" <<<"$out"
echo "$out"

# ---- classifiers ------------------------------------------------------------------------
out=$("$CS" classifiers --db "$DB")
check "classifiers: lists warm" grep -qE "^warm +clip-shapes +16 +160 " <<<"$out"
check "classifiers --json" python3 -c '
import json,sys
r=[json.loads(l) for l in sys.stdin]
assert len(r) == 1 and r[0]["name"] == "warm" and r[0]["model"] == "clip-shapes", r
assert r[0]["positives"] == 16 and r[0]["negatives"] == 160 and r[0]["random_negatives"] is True
assert r[0]["cv_folds"] == 5 and 0 < r[0]["cv_accuracy"] <= 1 and r[0]["C"] > 0 and r[0]["like"] is None
assert r[0]["dim"] == 64
' <<<"$("$CS" classifiers --db "$DB" --json)"
check "training set stored: 176 rows" [ "$(n_example_rows)" -eq 176 ]

# ---- --classifier: ranks by probability --------------------------------------------------
out=$(S --classifier warm -n 40 --json)
check "--classifier: exit 0" [ $? -eq 0 ]
check "--classifier: 40 results, descending probabilities in [0, 1]" python3 -c '
import json,sys
s=[json.loads(l)["score"] for l in sys.stdin]
assert len(s) == 40, len(s)
assert all(0 <= x <= 1 for x in s) and all(a >= b for a, b in zip(s, s[1:])), s' <<<"$out"
p=$(S --classifier warm -n 60 --paths | precision 20)
echo "warm probe: precision@20 among photos not trained on: $p"
check "--classifier: precision@20 of warm $p >= 0.8" python3 -c "import sys; sys.exit(not $p >= 0.8)"
# Scores are printed rounded (5 digits): cut just below the 10th, so the
# 10th itself (whose true score may be a hair under its printed one) is in.
cut=$(S --classifier warm -n 100 --json | python3 -c 'import json,sys; print([json.loads(l)["score"] for l in sys.stdin][9] * (1 - 1e-4))')
out=$(S --classifier warm -n 1000 --threshold "$cut" --json)
nt=$(echo "$out" | grep -c .)
check "--threshold: a probability cut ($nt results >= $cut)" [ "$nt" -ge 10 ] && [ "$nt" -lt 200 ]
check "--threshold: all above" python3 -c "
import json,sys
sys.exit(not all(json.loads(l)['score'] >= $cut for l in sys.stdin))" <<<"$out"
out=$(S --classifier warm -n 100 --in "$P/warm" --paths)
check "--classifier with --in" [ "$(echo "$out" | grep -c "^$P/warm/")" -eq 16 ] && [ "$(echo "$out" | grep -vc "^$P/warm/")" -eq 0 ]
S --classifier warm red circle >/dev/null 2>"$T/err"
check "--classifier with query words: exit 2" [ $? -eq 2 ]

# ---- photos outside the library, --like, given negatives ---------------------------------
out=$(L warm-few --positive "$P/outside/"* --like "a red, orange or yellow shape" --json 2>"$T/err")
rc=$?
check "learn from photos outside the library: exit $rc" [ $rc -eq 1 ]  # broken.jpg is among them
check "... names the undecodable photo" grep -q "broken.jpg: not in the library and it cannot be read as a photo" "$T/err"
good=$(ls "$P/outside/" | grep -v broken | sed "s|^|$P/outside/|")
out=$(L warm-few --positive $good --like "a red, orange or yellow shape" --json 2>"$T/err")
check "learn from 2 outside photos + --like: exit 0 ($(cat "$T/err"))" [ $? -eq 0 ]
check "... stored with the prior and file_id NULL" python3 -c '
import json,sys,sqlite3
r=json.loads(sys.stdin.read())
assert r["positives"] == 2 and r["like"] == "a red, orange or yellow shape", r
db=sqlite3.connect(sys.argv[1])
rows=db.execute("SELECT e.file_id FROM classifier_examples e JOIN classifiers c ON c.id = e.classifier_id WHERE c.name = ? AND e.label = 1", ("warm-few",)).fetchall()
assert len(rows) == 2 and all(x[0] is None for x in rows), rows' "$DB/library.sqlite3" <<<"$out"
p2=$(S --classifier warm-few -n 60 --paths | precision 20)
echo "warm probe from 2 examples + --like: precision@20 $p2"
check "2 examples + --like: precision@20 $p2 >= 0.6" python3 -c "import sys; sys.exit(not $p2 >= 0.6)"
out=$(L warm-neg --positive "$P/warm" --negative $(ls "$P"/other/*_{blue,green,purple}_* | head -30) --json)
check "given negatives: counts" python3 -c '
import json,sys
r=json.loads(sys.stdin.read()); assert r["positives"] == 16 and r["negatives"] == 30 and r["random_negatives"] is False, r' <<<"$out"

# ---- bad input: clear message, non-zero exit, nothing stored ------------------------------
before=$(n_classifiers); rows_before=$(n_example_rows)
L nopos >/dev/null 2>"$T/err"
check "no positives: exit 2" [ $? -eq 2 ]
check "no positives: says so" grep -q "no positive examples" "$T/err"
L nopos --positive >/dev/null 2>"$T/err"
check "--positive without photos: exit 2" [ $? -eq 2 ]
L missing --positive "$T/no_such.jpg" >/dev/null 2>"$T/err"
check "missing photo: exit 1" [ $? -eq 1 ]
check "missing photo: names it" grep -q "no_such.jpg" "$T/err"
L broken --positive "$P/warm" "$P/outside/broken.jpg" >/dev/null 2>"$T/err"
check "undecodable photo not in the library: exit 1" [ $? -eq 1 ]
check "... says why" grep -q "broken.jpg: not in the library and it cannot be read as a photo" "$T/err"
L empty --positive "$P/unindexed" >/dev/null 2>"$T/err"
check "folder without indexed photos: exit 1" [ $? -eq 1 ]
check "... says to index it" grep -q "no photo under this folder is in the library" "$T/err"
w1=$(ls "$P"/warm/* | head -1)
L both --positive "$P/warm" --negative "$w1" >/dev/null 2>"$T/err"
check "photo both positive and negative: exit 1" [ $? -eq 1 ]
check "... says so" grep -q "both a positive and a negative" "$T/err"
L warm --positive "$P/warm" >/dev/null 2>"$T/err"
check "duplicate name: exit 1" [ $? -eq 1 ]
check "... says --force" grep -q "exists already.*--force" "$T/err"
L "" --positive "$P/warm" >/dev/null 2>"$T/err"
check "empty name: exit 1" [ $? -eq 1 ]
L like-empty --positive "$P/warm" --like "" >/dev/null 2>"$T/err"
check "empty --like: exit 1" [ $? -eq 1 ]
L badc --positive "$P/warm" --C -3 >/dev/null 2>"$T/err"
check "--C -3: exit 2" [ $? -eq 2 ]
check "nothing stored by the failures" [ "$(n_classifiers)" -eq "$before" ] && [ "$(n_example_rows)" -eq "$rows_before" ]
S --classifier nope >/dev/null 2>"$T/err"
check "unknown classifier: exit 1" [ $? -eq 1 ]
check "... names the known ones" grep -q "no classifier named 'nope' (the library has: warm" "$T/err"
"$CS" learn --db "$T/nolib" --model "$M" x --positive "$P/warm" >/dev/null 2>"$T/err"
check "learn without a library: exit 3" [ $? -eq 3 ]
check "... and created none" [ ! -e "$T/nolib" ]

# ---- --force replaces ------------------------------------------------------------------------
out=$(L warm --positive "$P/warm" --negatives 50 --force --json)
check "--force: exit 0" [ $? -eq 0 ]
check "--force: replaced (50 negatives)" python3 -c '
import json,sys; r=json.loads(sys.stdin.read()); assert r["negatives"] == 50, r' <<<"$out"
check "--force: still one 'warm'" [ "$("$CS" classifiers --db "$DB" --json | grep -c '"name":"warm"')" -eq 1 ]

# ---- a classifier trained with another model ---------------------------------------------------
M2=$T/tiny
mkdir -p "$M2" && cp "$FIX"/golden/clip-tiny-b32/* "$M2"/ && cp "$FIX"/tokenizer/vocab.json "$FIX"/tokenizer/merges.txt "$M2"/
"$IDX" --db "$DB" --model "$M2" -q "$P/warm" "$P/other" >/dev/null 2>&1
"$CS" --db "$DB" --model "$M2" --classifier warm >/dev/null 2>"$T/err"
check "another model: exit 4" [ $? -eq 4 ]
check "... says which model it was trained with" grep -q "classifier 'warm' was trained with the model clip-shapes" "$T/err"

# ---- forget ---------------------------------------------------------------------------------
out=$("$CS" forget --db "$DB" warm)
check "forget: exit 0" [ $? -eq 0 ]
check "forget: gone from the list" [ -z "$("$CS" classifiers --db "$DB" --json | grep '"name":"warm"')" ]
check "forget: its training set too" python3 -c '
import sqlite3,sys
db=sqlite3.connect(sys.argv[1])
n=db.execute("SELECT count(*) FROM classifier_examples WHERE classifier_id NOT IN (SELECT id FROM classifiers)").fetchone()[0]
sys.exit(n != 0)' "$DB/library.sqlite3"
"$CS" forget --db "$DB" warm >/dev/null 2>"$T/err"
check "forget again: exit 1" [ $? -eq 1 ]
"$CS" forget --db "$T/nolib" warm >/dev/null 2>&1
check "forget without a library: exit 3" [ $? -eq 3 ]
"$CS" forget --db "$DB" >/dev/null 2>&1
check "forget without a name: exit 2" [ $? -eq 2 ]
"$CS" learn --help | grep -q -- "--like TEXT"
check "learn --help" [ $? -eq 0 ]

echo "e2e_probe: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
