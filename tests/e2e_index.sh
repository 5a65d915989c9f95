#!/bin/bash
# e2e_index.sh — end-to-end test of the real clipsearch-index program: --help
# and exit codes, the --json summary, incremental re-runs (unchanged, move,
# delete, touch), missing folders, CLIPSEARCH_DB / CLIPSEARCH_MODEL, and that
# the library it writes is searchable with `clipsearch`.
#
# Uses the tiny CLIP model (clip-tiny-b32) and a copy of the fixture photos.
# Needs python3 (JSON parsing); skips (77) without it or without the fixtures.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
IDX=$BIN/clipsearch-index
CS=$BIN/clipsearch
for f in golden/clip-tiny-b32/model.safetensors images/astronaut.jpg images/broken; do
    [ -e "$FIX/$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
[ -x "$IDX" ] || { echo "FAIL: $IDX not built"; exit 1; }

. "$(dirname "$0")/e2e-lib.sh" e2e_index

export HOME=$T/home XDG_DATA_HOME=$T/home/.local/share XDG_CACHE_HOME=$T/home/.cache
unset CLIPSEARCH_MODEL CLIPSEARCH_DB
mkdir -p "$HOME"
M=$FIX/golden/clip-tiny-b32
P=$T/photos
mkdir -p "$P/sub" "$P/broken"
cp "$FIX"/images/*.* "$P/"
mv "$P/rocket.jpg" "$P/motorcycle.jpg" "$P/sub/"
cp "$FIX"/images/broken/* "$P/broken/"
n_photos=$(ls "$P"/*.* "$P"/sub/* | wc -l)
n_broken=$(ls "$P"/broken/* | wc -l)
DB=$T/lib

# Runs the indexer; $out = stdout, $errout = stderr, $rc = exit status.
run() {
    "$IDX" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    errout=$(cat "$T/err")
}
# The value of key $1 in the JSON object on the last line of $out ("MISSING"
# if absent, "NOTJSON" if the line is not a JSON object).
jv() {
    printf '%s\n' "$out" | tail -n 1 | python3 -c '
import json, sys
try:
    o = json.loads(sys.stdin.read())
except ValueError:
    print("NOTJSON"); sys.exit(0)
v = o
for k in sys.argv[1].split("."):
    if not isinstance(v, dict) or k not in v:
        print("MISSING"); sys.exit(0)
    v = v[k]
print(v)' "$1"
}
expect() { # expect WHAT KEY VALUE
    local v
    v=$(jv "$2")
    check "$1: $2 = $v, want $3" [ "$v" = "$3" ]
}

# ---- help, usage errors, exit codes ----------------------------------------------
run --help
check "--help exits 0 (got $rc)" [ "$rc" -eq 0 ]
for w in --db --model --threads --batch --exclude --follow-symlinks --index-type \
         --exact --fast --json --quiet "exit status"; do
    check "--help mentions $w" grep -q -e "$w" "$T/out"
done
for code in 0 1 2 3 4 130; do
    check "--help documents exit code $code" grep -Eq "^  $code " "$T/out"
done
run -h
check "-h exits 0" [ "$rc" -eq 0 ]
run --version
check "--version exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "--version prints the version ($out)" grep -q "^clipsearch-index " "$T/out"
run --no-such-option "$P"
check "unknown option exits 2 (got $rc)" [ "$rc" -eq 2 ]
run --db "$DB" --model "$M"
check "no folder exits 2 (got $rc)" [ "$rc" -eq 2 ]
run --db "$DB" "$P"
check "no model exits 2 (got $rc)" [ "$rc" -eq 2 ]
check "no model: says how to give one" grep -q -e "--model" "$T/err"
run --db "$DB" --model "$M" --threads 0 "$P"
check "--threads 0 exits 2 (got $rc)" [ "$rc" -eq 2 ]
run --db "$DB" --model "$M" --batch x "$P"
check "--batch x exits 2 (got $rc)" [ "$rc" -eq 2 ]
run --db "$DB" --model "$T/no-such-model" "$P"
check "missing model exits 4 (got $rc)" [ "$rc" -eq 4 ]
check "missing model: names the folder" grep -q "no-such-model" "$T/err"
check "missing model: no library writes beyond opening" \
    bash -c "! ls '$DB'/vectors-* >/dev/null 2>&1"

# ---- first run ---------------------------------------------------------------------------
run --db "$DB" --model "$M" --threads 2 --batch 4 --json "$P"
check "first run exits 0 (got $rc): $errout" [ "$rc" -eq 0 ]
for k in seen encoded unchanged moved removed failed seconds images_per_second; do
    v=$(jv "$k")
    check "--json has key $k ($v)" bash -c "[ '$v' != MISSING ] && [ '$v' != NOTJSON ]"
done
expect "first run" seen $((n_photos + n_broken))
expect "first run" encoded "$n_photos"
expect "first run" failed "$n_broken"
expect "first run" unchanged 0
expect "first run" removed 0
expect "first run" status "no error"
check "first run: broken files are warned about on stderr" grep -q "truncated.jpg" "$T/err"
check "first run: a summary line on stderr" grep -q "photos:" "$T/err"
check "first run: stdout is only the JSON line" [ "$(wc -l <"$T/out")" -eq 1 ]
check "library files exist" [ -f "$DB/library.sqlite3" ]
check "vector index written" bash -c "ls '$DB'/vectors-*.faiss >/dev/null"
if command -v sqlite3 >/dev/null; then
    check "integrity_check ok" [ "$(sqlite3 "$DB/library.sqlite3" 'PRAGMA integrity_check')" = ok ]
    check "failures recorded with a reason" \
        [ "$(sqlite3 "$DB/library.sqlite3" "SELECT count(*) FROM files WHERE error IS NOT NULL AND error <> ''")" = "$n_broken" ]
fi

# ---- re-run: nothing to do, quiet; a FIFO named like a photo is not opened -------------
mkfifo "$P/sub/pipe.jpg" 2>/dev/null
timeout 120 "$IDX" --db "$DB" --model "$M" --json -q "$P" >"$T/out" 2>"$T/err"
rc=$?
out=$(cat "$T/out")
errout=$(cat "$T/err")
check "re-run exits 0 (got $rc)" [ "$rc" -eq 0 ]
expect "re-run" encoded 0
expect "re-run" unchanged $((n_photos + n_broken))
expect "re-run" failed 0
check "-q: nothing on stderr ($errout)" [ -z "$errout" ]
rm -f "$P/sub/pipe.jpg"

# ---- move, delete, touch ----------------------------------------------------------------
mv "$P/sub/rocket.jpg" "$P/renamed_rocket.jpg"
run --db "$DB" --model "$M" --json -q "$P"
expect "rename" moved 1
expect "rename" encoded 0
rm "$P/chelsea_444.jpg"
run --db "$DB" --model "$M" --json -q "$P"
expect "delete" removed 1
expect "delete" encoded 0
touch -d '2001-02-03 04:05:06' "$P/coffee.webp"
run --db "$DB" --model "$M" --json -q "$P"
expect "touch" encoded 1
expect "touch" unchanged $((n_photos + n_broken - 2))
cp "$P/astronaut.jpg" "$P/sub/astronaut_copy.jpg"
run --db "$DB" --model "$M" --json -q "$P"
expect "copy" copied 1
expect "copy" encoded 0

# ---- missing folder (exit 3, nothing removed), --exclude ---------------------------------
run --db "$DB" --model "$M" --json -q "$P" "$T/no-such-folder"
check "missing folder exits 3 (got $rc)" [ "$rc" -eq 3 ]
expect "missing folder" missing_roots 1
expect "missing folder" removed 0
expect "missing folder" encoded 0
run --db "$DB" --model "$M" --json -q --exclude 'sub' "$P"
expect "--exclude sub" removed 2
run --db "$DB" --model "$M" --json -q "$P"
expect "sub back" encoded 1
expect "sub back" copied 1

# ---- environment variables instead of options ----------------------------------------------
mkdir -p "$T/p2"
cp "$FIX/images/astronaut.jpg" "$FIX/images/rocket.jpg" "$T/p2/"
CLIPSEARCH_DB=$T/lib2 CLIPSEARCH_MODEL=$M run --json -q "$T/p2"
check "env: exits 0 (got $rc)" [ "$rc" -eq 0 ]
expect "env" encoded 2
check "env: CLIPSEARCH_DB used" [ -f "$T/lib2/library.sqlite3" ]
run --model "$M" --json -q "$T/p2"
check "default location: exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "default location is \$XDG_DATA_HOME/clipsearch" \
    [ -f "$XDG_DATA_HOME/clipsearch/library.sqlite3" ]

# ---- no --model, no CLIPSEARCH_MODEL: the default model, once installed -------------------
run --db "$T/lib3" --json -q "$T/p2"
check "no model installed: usage error (got $rc)" [ "$rc" -eq 2 ]
mkdir -p "$XDG_CACHE_HOME/clipsearch/models"
cp -r "$M" "$XDG_CACHE_HOME/clipsearch/models/laion--CLIP-ViT-B-32-laion2B-s34B-b79K"
run --db "$T/lib3" --json -q "$T/p2"
check "default installed model: exits 0 (got $rc)" [ "$rc" -eq 0 ]
expect "default installed model" encoded 2
run --db "$T/lib4" --model laion/CLIP-ViT-B-32-laion2B-s34B-b79K --json -q "$T/p2"
check "--model ORG/NAME of an installed model: exits 0 (got $rc)" [ "$rc" -eq 0 ]

# ---- the library is searchable by the search program -------------------------------------
if [ -x "$CS" ]; then
    res=$("$CS" --db "$DB" --model "$M" --image "$P/astronaut.jpg" -n 1 --json 2>"$T/cs.err")
    c=$?
    check "search exits 0 (got $c): $(cat "$T/cs.err")" [ "$c" -eq 0 ]
    check "search finds the photo itself" grep -q "astronaut" <<<"$res"
fi

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
