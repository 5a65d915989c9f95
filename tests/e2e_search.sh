#!/bin/bash
# e2e_search.sh — end-to-end test of `clipsearch` searching, `clipsearch stats`
# and their error messages, on a library indexed by clipsearch-index from the
# fixture photos with the tiny CLIP model (clip-tiny-b32).
#
# Each check of an option is built so that it fails if the option were
# ignored.  Needs python3 (JSON parsing, EXIF dates); skips (77) without it
# or without the fixtures.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
HERE=$(cd "$(dirname "$0")" && pwd)
CS=$BIN/clipsearch
IDX=$BIN/clipsearch-index
for f in golden/clip-tiny-b32/model.safetensors golden/clip-tiny-b16-f16/model.safetensors \
         tokenizer/vocab.json images/astronaut.jpg; do
    [ -e "$FIX/$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

. "$(dirname "$0")/e2e-lib.sh" e2e_search

# A clean environment: nothing from the user's own setup.
export HOME=$T/home XDG_CACHE_HOME=$T/home/.cache XDG_DATA_HOME=$T/home/.local/share
export HF_HOME=$T/home/.cache/huggingface
unset CLIPSEARCH_MODEL CLIPSEARCH_DB HF_HUB_CACHE
mkdir -p "$HOME"

# Model folder with the tokenizer next to the weights.
M=$T/model
mkdir -p "$M"
cp "$FIX"/golden/clip-tiny-b32/* "$M"/
cp "$FIX"/tokenizer/vocab.json "$FIX"/tokenizer/merges.txt "$M"/

# Photos in two folders (for --in), the broken ones, and two dated copies.
P=$T/photos
mkdir -p "$P/a" "$P/b" "$P/broken"
for f in "$FIX"/images/*.*; do
    case $(basename "$f") in
        astronaut*|chelsea*|coffee*|camera*) cp "$f" "$P/a/" ;;
        rocket.jpg|motorcycle.jpg) ;; # only as dated copies below (a copy would tie)
        *) cp "$f" "$P/b/" ;;
    esac
done
cp "$FIX"/images/broken/* "$P/broken/" 2>/dev/null
python3 "$HERE/exif_date.py" "$FIX/images/rocket.jpg" "$P/b/dated_2015.jpg" "2015:06:01 12:00:00"
python3 "$HERE/exif_date.py" "$FIX/images/motorcycle.jpg" "$P/b/dated_2021.jpg" "2021:03:04 05:06:07"
n_photos=$(ls "$P"/a/* "$P"/b/* | wc -l)

DB=$T/lib
"$IDX" --db "$DB" --model "$M" -q "$P" >/dev/null 2>"$T/index.err" \
    || { echo "FAIL: indexing failed:"; cat "$T/index.err"; exit 1; }

S() { "$CS" --db "$DB" --model "$M" "$@"; }
jsonfield() { python3 -c 'import json,sys; rows=[json.loads(l) for l in sys.stdin]; print("\n".join(str(r[sys.argv[1]]) for r in rows))' "$1"; }

# ---- every photo finds itself first (stored embedding), score >= 0.99 -----------
for f in "$P"/a/* "$P"/b/*; do
    out=$(S --image "$f" -n 1 --json) || { fail "search by $f failed"; continue; }
    path=$(echo "$out" | jsonfield path)
    score=$(echo "$out" | jsonfield score)
    check "by-photo $f: first is $path" [ "$path" = "$f" ]
    check "by-photo $f: score $score" python3 -c "import sys; sys.exit(not float('$score') >= 0.99)"
done

# ---- a photo outside the library: the image tower, same result ------------------
mkdir -p "$T/outside"
for f in "$P"/a/*; do
    b=$(basename "$f")
    cp "$f" "$T/outside/$b"
    out=$(S --image "$T/outside/$b" -n 1 --json) || { fail "search by outside copy of $b"; continue; }
    path=$(echo "$out" | jsonfield path)
    score=$(echo "$out" | jsonfield score)
    check "outside copy of $b: first is $path" [ "$path" = "$f" ]
    check "outside copy of $b: score $score" python3 -c "import sys; sys.exit(not float('$score') >= 0.99)"
done

# ---- text query: --limit results, descending ------------------------------------
out=$(S dog on a beach -n 5 --json)
check "text query exit" [ $? -eq 0 ]
check "text query: 5 results" [ "$(echo "$out" | wc -l)" -eq 5 ]
check "text query: descending scores" python3 -c '
import json,sys
s=[json.loads(l)["score"] for l in sys.stdin]
sys.exit(not all(a >= b for a, b in zip(s, s[1:])))' <<<"$out"
check "text query: ranks 1..5" [ "$(echo "$out" | jsonfield rank | tr '\n' ' ')" = "1 2 3 4 5 " ]
out=$(S dog on a beach)
check "default limit 10 (+ header)" [ "$(echo "$out" | wc -l)" -eq 11 ]
# search alias and default dispatch give the same answer
check "search alias" [ "$("$CS" search --db "$DB" --model "$M" dog on a beach)" = "$out" ]

# ---- --json fields and types ----------------------------------------------------
check "--json fields" python3 -c '
import json,sys,os
rows=[json.loads(l) for l in sys.stdin]
assert len(rows) == 10, len(rows)
for r in rows:
    assert set(r) == {"rank","score","path","width","height","taken","tags"}, r
    assert isinstance(r["tags"], list)
    assert isinstance(r["rank"], int) and isinstance(r["score"], float)
    assert os.path.isabs(r["path"]) and os.path.isfile(r["path"])
    assert isinstance(r["width"], int) and r["width"] > 0 and r["height"] > 0
    assert r["taken"] is None or isinstance(r["taken"], str)
' <<<"$(S cat --json)"

# ---- --threshold: a cut inside the ranking --------------------------------------
all=$(S --image "$P/a/astronaut.jpg" -n 100 --json)
check "all photos returned with a big limit" [ "$(echo "$all" | wc -l)" -eq "$n_photos" ]
cut=$(echo "$all" | jsonfield score | sed -n 6p)
out=$(S --image "$P/a/astronaut.jpg" -n 100 --threshold "$cut" --json)
n=$(echo "$out" | grep -c . )
check "--threshold keeps fewer ($n)" [ "$n" -ge 6 ] && [ "$n" -lt "$n_photos" ]
check "--threshold: all scores >= cut" python3 -c "
import json,sys
sys.exit(not all(json.loads(l)['score'] >= $cut for l in sys.stdin))" <<<"$out"
out=$(S --image "$P/a/astronaut.jpg" --threshold 1.01 --json)
check "--threshold above every score: nothing" [ -z "$out" ]

# ---- --in: only photos under a folder -------------------------------------------
n_b=$(ls "$P"/b | wc -l)
out=$(S --image "$P/a/astronaut.jpg" -n 100 --in "$P/b" --paths)
check "--in: all $n_b photos of b" [ "$(echo "$out" | wc -l)" -eq "$n_b" ]
check "--in: nothing outside b" [ -z "$(echo "$out" | grep -v "^$P/b/")" ]
out=$(cd "$P" && S --image a/astronaut.jpg -n 100 --in a --paths)
check "--in relative folder" [ "$(echo "$out" | grep -vc "^$P/a/")" -eq 0 ] && [ -n "$out" ]

# ---- --add / --subtract -----------------------------------------------------------
A=$P/a/astronaut.jpg
Bp=$P/b/dated_2015.jpg
out=$(S --image "$A" --add "3:$Bp" -n 1 --paths)
check "--add 3:B puts B first ($out)" [ "$out" = "$Bp" ]
score_of() { python3 -c '
import json,sys
for l in sys.stdin:
    r=json.loads(l)
    if r["path"] == sys.argv[1]: print(r["score"])' "$1"; }
plain=$(S --image "$A" -n 100 --json | score_of "$P/a/chelsea_444.jpg")
sub=$(S --image "$A" --subtract "0.9:$P/a/chelsea_444.jpg" -n 100 --json | score_of "$P/a/chelsea_444.jpg")
check "--subtract lowers the subtracted photo's score ($plain -> $sub)" \
    python3 -c "import sys; sys.exit(not $sub < $plain - 0.05)"
out=$(S --image "$A" --add "$Bp" --subtract "$Bp" -n 1 --json)
check "--add B --subtract B gives back A" [ "$(echo "$out" | jsonfield path)" = "$A" ]
check "... with score ~1" python3 -c "import sys; sys.exit(not $(echo "$out" | jsonfield score) >= 0.999)"
# text terms with weights change a text query's ranking
r1=$(S dog -n 100 --paths | grep -nxF "$Bp" | cut -d: -f1)
r2=$(S dog --add "4:$Bp" -n 100 --paths | grep -nxF "$Bp" | cut -d: -f1)
check "text --add 4:photo moves the photo up (rank $r1 -> $r2)" [ "$r1" -gt 3 ] && [ "$r2" -le 3 ]
S --image "$A" --subtract "$A" >/dev/null 2>"$T/err"
check "terms that cancel out: exit 1" [ $? -eq 1 ]
check "... and says so" grep -q "cancel out" "$T/err"

# ---- --after / --before (EXIF capture date) ----------------------------------------
out=$(S --image "$A" -n 100 --after 2010 --paths | sort | tr '\n' ' ')
check "--after 2010: the two dated photos ($out)" [ "$out" = "$P/b/dated_2015.jpg $P/b/dated_2021.jpg " ]
out=$(S --image "$A" -n 100 --after 2018-01-01 --paths)
check "--after 2018-01-01" [ "$out" = "$P/b/dated_2021.jpg" ]
out=$(S --image "$A" -n 100 --before 2018 --paths)
check "--before 2018" [ "$out" = "$P/b/dated_2015.jpg" ]
out=$(S --image "$A" -n 100 --after "2021-03-04 05:06:07" --before 2021-03-05 --json)
check "--after/--before with a time" [ "$(echo "$out" | jsonfield taken)" = "2021-03-04 05:06:07" ]
S --image "$A" --after yesterday >/dev/null 2>&1
check "bad date: exit 2" [ $? -eq 2 ]

# ---- output forms ----------------------------------------------------------------
out=$(cd "$T" && S --image "$A" -n 3)
check "table header" [ "$(echo "$out" | head -1 | tr -s ' ')" = "rank score path" ]
check "table: paths relative to the cwd" [ "$(echo "$out" | sed -n 2p | awk '{print $3}')" = "photos/a/astronaut.jpg" ]
out=$(cd / && S --image "$A" -n 1 | sed -n 2p | awk '{print $3}')
check "table from / ($out)" [ "$out" = "${A#/}" ]
out=$(cd "$HOME" && S --image "$A" -n 1 | sed -n 2p | awk '{print $3}')
check "table: absolute outside the cwd" [ "$out" = "$A" ]
n=$(S --image "$A" -n 4 -0 | tr -cd '\0' | wc -c)
check "-0: 4 NUL-terminated paths" [ "$n" -eq 4 ]
first=$(S --image "$A" -n 4 -0 | xargs -0 -n1 echo | sed -n 1p)
check "-0 through xargs" [ "$first" = "$A" ]

# ---- errors: what to run --------------------------------------------------------------
"$CS" --db "$T/nothing" --model "$M" dog >/dev/null 2>"$T/err"
check "missing library: exit 3" [ $? -eq 3 ]
check "missing library: says clipsearch-index" grep -q "clipsearch-index" "$T/err"
mkdir -p "$T/empty_photos"
"$IDX" --db "$T/emptylib" --model "$M" -q "$T/empty_photos" >/dev/null 2>&1
"$CS" --db "$T/emptylib" --model "$M" dog >/dev/null 2>"$T/err"
check "empty library: exit 3" [ $? -eq 3 ]
check "empty library: says so" grep -q "empty" "$T/err"
"$CS" --db "$DB" dog >/dev/null 2>"$T/err"
check "no model installed: exit 4" [ $? -eq 4 ]
check "no model: says --model" grep -q -- "--model" "$T/err"
"$CS" --db "$DB" --model "$T/no_such_model" dog >/dev/null 2>"$T/err"
check "missing model folder: exit 4" [ $? -eq 4 ]
M2=$T/model16
mkdir -p "$M2" && cp "$FIX"/golden/clip-tiny-b16-f16/* "$M2"/ && cp "$M"/vocab.json "$M"/merges.txt "$M2"/
"$CS" --db "$DB" --model "$M2" dog >/dev/null 2>"$T/err"
check "different model: exit 4" [ $? -eq 4 ]
check "different model: names the library's model and what to run" \
    grep -q "not the one the library.*built with.*clipsearch-index" "$T/err"
"$CS" --db "$DB" --model "$M" >/dev/null 2>&1
check "no query: exit 2" [ $? -eq 2 ]
"$CS" --db "$DB" --model "$M" --limit 0 dog >/dev/null 2>&1
check "--limit 0: exit 2" [ $? -eq 2 ]
"$CS" --db "$DB" --model "$M" --bogus dog >/dev/null 2>&1
check "bad option: exit 2" [ $? -eq 2 ]
mkdir -p "$T/notok" && cp "$FIX"/golden/clip-tiny-b32/* "$T/notok/"
"$CS" --db "$DB" --model "$T/notok" dog >/dev/null 2>"$T/err"
check "model without tokenizer: exit 1 and says --vocab" [ $? -eq 1 ] && grep -q -- "--vocab" "$T/err"
out=$("$CS" --db "$DB" --model "$T/notok" --vocab "$FIX/tokenizer" dog -n 1 --paths)
check "--vocab" [ -n "$out" ]

# ---- the model from the library, found among installed models ---------------------
mkdir -p "$XDG_CACHE_HOME/clipsearch/models/test--tiny"
cp "$M"/* "$XDG_CACHE_HOME/clipsearch/models/test--tiny/"
out=$("$CS" --db "$DB" --image "$A" -n 1 --paths)
check "installed model found by fingerprint" [ "$out" = "$A" ]
out=$("$CS" --db "$DB" --model test/tiny --image "$A" -n 1 --paths)
check "--model ORG/NAME" [ "$out" = "$A" ]
out=$(CLIPSEARCH_DB=$DB CLIPSEARCH_MODEL=$M "$CS" --image "$A" -n 1 --paths)
check "CLIPSEARCH_DB + CLIPSEARCH_MODEL" [ "$out" = "$A" ]
"$CS" model list >"$T/list"
check "model list shows it" grep -q "^test/tiny .*$XDG_CACHE_HOME/clipsearch/models/test--tiny" "$T/list"

# ---- stats -----------------------------------------------------------------------------
out=$("$CS" stats --db "$DB")
check "stats: exit 0" [ $? -eq 0 ]
check "stats: photos" grep -q "^photos *$n_photos indexed" <<<"$out"
check "stats: failures" grep -q "^failures *5" <<<"$out"
check "stats: model and index type" grep -q "dim 64, $n_photos photos, index auto (Flat, exact)" <<<"$out"
check "stats --json" python3 -c "
import json,sys
s=json.load(sys.stdin)
assert s['photos'] == $n_photos and s['failures'] == 5, s
assert s['models'][0]['index_type'] == 'auto' and s['models'][0]['dim'] == 64
ix = s['models'][0]['index']
assert ix['built'] == 'Flat' and ix['exact'] and ix['current'] and ix['vectors'] == $n_photos, ix
assert s['database_bytes'] > 0 and s['index_bytes'] > 0
" <<<"$("$CS" stats --db "$DB" --json)"
check "stats --failures lists the broken files" [ "$("$CS" stats --db "$DB" --failures | grep -c "/broken/")" -eq 5 ]
out=$("$CS" stats --db "$DB" --failures)
check "stats --failures groups by reason" bash -c 'grep -q "^  truncated file: 1 file$" <<<"$1" &&
  grep -q "^  unsupported format: .jpg: 1 file$" <<<"$1" && grep -q "^  empty file: 1 file$" <<<"$1" &&
  grep -q "^  over the pixel budget: 1 file$" <<<"$1" && grep -q "^  damaged PNG file: 1 file$" <<<"$1"' _ "$out"
check "stats --failures --json: a group on each line" python3 -c "
import json,sys
rows=[json.loads(l) for l in sys.stdin if l.startswith('{\"failure')]
assert len(rows) == 5 and {r['group'] for r in rows} == {'truncated file', 'unsupported format: .jpg', 'empty file', 'over the pixel budget', 'damaged PNG file'}, rows
" <<<"$("$CS" stats --db "$DB" --failures --json)"
"$CS" stats --db "$T/nothing" >/dev/null 2>&1
check "stats on no library: exit 3" [ $? -eq 3 ]

# ---- a library made by an older clipsearch (schema 1) is upgraded by a search --
OLD=$T/oldlib
cp -r "$DB" "$OLD"
python3 - "$OLD/library.sqlite3" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
keep = {"roots", "files", "models", "embeddings", "meta"}
for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
    if name not in keep and not name.startswith("sqlite_"):
        db.execute('DROP TABLE "%s"' % name)
# Columns later migrations add to schema-1 tables (0005: models.precision).
for table, column in [("models", "precision")]:
    if column in [r[1] for r in db.execute('PRAGMA table_info("%s")' % table)]:
        db.execute('ALTER TABLE "%s" DROP COLUMN "%s"' % (table, column))
# Columns added after schema 1 (0006: embeddings.generation) go too.
cols = [r[1] for r in db.execute("PRAGMA table_info(embeddings)")]
if "generation" in cols:
    db.execute("ALTER TABLE embeddings DROP COLUMN generation")
db.execute("PRAGMA user_version = 1")
db.commit()
PY
out=$("$CS" --db "$OLD" --model "$M" "a photo" -n 1 --paths 2>&1)
check "search on a schema-1 library works ($out)" [ -n "$out" -a -e "$(echo "$out" | head -1)" ]
v=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$OLD/library.sqlite3")
check "the search upgraded the schema (now $v)" [ "$v" -gt 1 ]

# ---- search at scale (issue 16): --exact, a missing index rebuilt once and saved --
a=$("$CS" --db "$DB" --model "$M" "a photo" -n 5 --json)
b=$("$CS" --db "$DB" --model "$M" "a photo" -n 5 --json --exact)
check "--exact gives the same results on an exact index" [ -n "$a" -a "$a" = "$b" ]
rm -f "$DB"/vectors-*.faiss
out=$("$CS" --db "$DB" --model "$M" "a photo" -n 5 --json 2>"$T/err")
check "search without an index file" [ "$out" = "$a" ]
check "the rebuilt index was saved" ls "$DB"/vectors-*.faiss
check "nothing to say when it was saved ($(cat "$T/err"))" [ ! -s "$T/err" ]
"$CS" search --help 2>&1 | grep -q -- "--exact"
check "--help explains --exact" [ $? -eq 0 ]
"$CS" export --help | grep -q "img_emb_0.npy"
check "export --help" [ $? -eq 0 ]

echo "e2e_search: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
