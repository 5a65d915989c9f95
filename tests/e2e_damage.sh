#!/bin/bash
# e2e_damage.sh — a damaged library.sqlite3 (truncated, bytes flipped in a
# page, a table dropped, a newer schema version, an empty file, a directory
# in its place): every command (search, stats, index, serve, classify,
# check) gives a clear message and a non-zero exit, never a crash, and the
# commands that only read leave the file's bytes as they were.  Then
# `clipsearch check --repair` on damage it can repair (photos gone, invalid
# vectors, stale and stray index files, a dropped SQLite index).
#
# Uses the clip-shapes model and 40 of its photos; needs
# python3 (its sqlite3 module damages the copies).
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
IDX=$BIN/clipsearch-index
CS=$BIN/clipsearch
for f in clip-shapes/model.safetensors clip-shapes/vocab.json clip-shapes/photos; do
    [ -e "$FIX/$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
python3 -c 'import sqlite3' 2>/dev/null || { echo "SKIP: python3 has no sqlite3"; exit 77; }
[ -x "$IDX" ] && [ -x "$CS" ] || { echo "FAIL: programs not built"; exit 1; }

. "$(dirname "$0")/e2e-lib.sh" e2e_damage
limit=120
export HOME=$T/home XDG_DATA_HOME=$T/home/.local/share XDG_CACHE_HOME=$T/home/.cache
unset CLIPSEARCH_MODEL CLIPSEARCH_DB
mkdir -p "$HOME"
M=$FIX/clip-shapes
P=$T/photos
mkdir -p "$P"
ls "$FIX"/clip-shapes/photos/*.jpg | head -n 40 | xargs -I{} cp {} "$P/"
BASE=$T/base
"$IDX" --db "$BASE" --model "$M" --threads 2 -q "$P" >/dev/null 2>"$T/err" ||
    { echo "FAIL: indexing the base library: $(cat "$T/err")"; exit 1; }
"$CS" check --db "$BASE" >"$T/out" 2>&1
rc=$?
check "a fresh library is healthy (rc $rc: $(cat "$T/out"))" test $rc -eq 0

# damage NAME: a copy of the base library in $T/$NAME, damaged.
damage() {
    local d=$T/$1
    rm -rf "$d"
    cp -r "$BASE" "$d"
    python3 - "$d/library.sqlite3" "$1" <<'PY' || { echo "FAIL: damaging $1"; exit 1; }
import os, shutil, sqlite3, sys
path, kind = sys.argv[1], sys.argv[2]
def root_page(table):
    con = sqlite3.connect(path)
    n, ps = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0], \
        con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    return n, ps
if kind == "truncated":
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)
elif kind == "flipped":
    # The b-tree header of the files table's root page: every command reads it.
    n, ps = root_page("files")
    with open(path, "r+b") as f:
        f.seek((n - 1) * ps)
        b = bytearray(f.read(16))
        for i in range(len(b)):
            b[i] ^= 0x5A
        f.seek((n - 1) * ps)
        f.write(b)
elif kind == "dropped":
    con = sqlite3.connect(path)
    con.execute("DROP TABLE tagged_files")
    con.commit()
    con.close()
elif kind == "newer":
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 999")
    con.commit()
    con.close()
elif kind == "empty":
    open(path, "w").close()
elif kind == "directory":
    os.remove(path)
    os.mkdir(path)
    open(os.path.join(path, "x"), "w").close()
PY
}

digest() { # the file's bytes (or the directory's listing)
    if [ -d "$1" ]; then ls -la "$1"; else sha256sum <"$1"; fi
}

# run_cmd CASE WHAT READONLY CMD...: non-zero, not a crash (< 128 and no
# sanitizer report), a message on stderr naming the problem, and for a
# command that only reads, the database file unchanged.
run_cmd() {
    local case=$1 what=$2 ro=$3 before after rc
    shift 3
    before=$(digest "$T/$case/library.sqlite3")
    timeout "$limit" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    after=$(digest "$T/$case/library.sqlite3")
    check "$case: $what exits non-zero (rc $rc)" test "$rc" -ne 0
    check "$case: $what does not crash (rc $rc)" test "$rc" -lt 124
    check "$case: $what: no sanitizer report" test -z "$(grep -l 'Sanitizer\|runtime error' "$T/err")"
    check "$case: $what says why ($(head -c 300 "$T/err"))" grep -qi "$expect" "$T/err" "$T/out"
    if [ "$ro" = ro ]; then
        check "$case: $what leaves the file as it was" test "$before" = "$after"
    fi
}

for case in truncated flipped dropped newer empty directory; do
    case $case in
        truncated) expect='truncated' ;;
        flipped) expect='malformed\|damaged' ;;
        dropped) expect="tagged_files' is missing" ;;
        newer) expect='newer than this program' ;;
        empty) expect='empty' ;;
        directory) expect='is a directory' ;;
    esac
    damage $case
    D=$T/$case
    run_cmd $case search ro "$CS" --db "$D" --model "$M" red circle
    run_cmd $case "search --json" ro "$CS" search --db "$D" --model "$M" --json -n 3 blue
    run_cmd $case stats ro "$CS" stats --db "$D"
    limit=20 run_cmd $case serve ro "$CS" serve --db "$D" --model "$M" --port 0 --cache ''
    # classify writes its prompt cache (another table) before it reads the
    # damaged page, and initialises an empty file (see below).
    cro=ro
    [ $case = empty -o $case = flipped ] && cro=rw
    run_cmd $case classify $cro "$CS" classify --db "$D" --model "$M" --labels "circle,square" --library
    run_cmd $case check ro "$CS" check --db "$D"
    run_cmd $case "check --repair" ro "$CS" check --repair --db "$D"
    if [ $case = empty ]; then
        # An empty file is what a library whose creation was interrupted
        # leaves behind: commands that write (the indexer, classify's prompt
        # cache) create the library in it (nothing to lose), the read-only
        # commands above refuse it.
        "$IDX" --db "$D" --model "$M" -q "$P" >/dev/null 2>"$T/err"
        rc=$?
        check "empty: the indexer creates the library (rc $rc: $(cat "$T/err"))" test $rc -eq 0
        "$CS" check --db "$D" >"$T/out" 2>&1
        rc=$?
        check "empty: then healthy (rc $rc: $(cat "$T/out"))" test $rc -eq 0
    else
        run_cmd $case index ro "$IDX" --db "$D" --model "$M" -q "$P"
    fi
    # Exit codes of check: 8 damaged beyond repair, 1 for a newer schema.
    if [ $case != empty ]; then
        "$CS" check --db "$D" >/dev/null 2>&1
        rc=$?
        want=8
        [ $case = newer ] && want=1
        check "$case: check exits $want (got $rc)" test $rc -eq $want
    fi
done

# ---- repairable damage ------------------------------------------------------
D=$T/fix
rm -rf "$D"
cp -r "$BASE" "$D"
n0=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from embeddings").fetchone()[0])' "$D/library.sqlite3")
gone=$(ls "$P" | head -n 3)
mkdir -p "$T/away"
for f in $gone; do mv "$P/$f" "$T/away/"; done
python3 - "$D/library.sqlite3" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
# An embedding whose bytes were damaged, a SQLite index dropped, a tag of
# a file that does not exist (foreign keys are off in this connection).
fid = con.execute("SELECT id FROM files ORDER BY id DESC LIMIT 1").fetchone()[0]
con.execute("UPDATE embeddings SET vector = zeroblob(length(vector)) WHERE file_id = ?", (fid,))
con.execute("DROP INDEX files_taken")
con.execute("INSERT INTO tags(model_id, file_id, tag, probability) VALUES(1, 987654, 'x', 0.5)")
con.commit()
PY
touch "$D/vectors-1.faiss.tmp.999999999" "$D/vectors-77.faiss"
before=$(digest "$D/library.sqlite3")
"$CS" check --db "$D" >"$T/out" 2>&1
rc=$?
check "check finds repairable problems: exit 6 (got $rc: $(cat "$T/out"))" test $rc -eq 6
check "check without --repair writes nothing" test "$before" = "$(digest "$D/library.sqlite3")"
for w in "no longer exists" "not a valid vector" "index 'files_taken' is missing" "tags of photos"; do
    check "check reports '$w'" grep -q "$w" "$T/out"
done
"$CS" check --repair --db "$D" >"$T/out" 2>&1
rc=$?
check "check --repair: exit 7 (got $rc: $(cat "$T/out"))" test $rc -eq 7
for w in "stray vector index file: removed" "rebuilt"; do
    check "check --repair reports '$w'" grep -q "$w" "$T/out"
done
check "stray index files removed" test ! -e "$D/vectors-77.faiss" -a ! -e "$D/vectors-1.faiss.tmp.999999999"
"$CS" check --db "$D" --json >"$T/out" 2>&1
rc=$?
check "after the repair: healthy (got $rc: $(cat "$T/out"))" test $rc -eq 0
n1=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from embeddings").fetchone()[0])' "$D/library.sqlite3")
check "the repair removed exactly the 3 gone photos and the invalid vector ($n0 -> $n1)" test $((n0 - 4)) -eq "$n1"
# The indexer embeds the photo whose vector was invalid again, nothing else.
"$IDX" --db "$D" --model "$M" -q --json "$P" >"$T/out" 2>"$T/err"
rc=$?
check "re-index after the repair (rc $rc: $(cat "$T/err"))" test $rc -eq 0
check "re-index encodes the one photo whose vector was removed ($(tail -n 1 "$T/out"))" \
    grep -q '"encoded": *1[,}]' "$T/out"
# A vanished root keeps its photos: check notes it, --repair removes nothing.
D2=$T/unmounted
cp -r "$BASE" "$D2"
mv "$P" "$T/photos-unmounted"
"$CS" check --repair --db "$D2" >"$T/out" 2>&1
rc=$?
check "a vanished root is a note, not a repair (rc $rc: $(cat "$T/out"))" test $rc -eq 0
check "the note names the folder" grep -q "no longer exists: its photos are kept" "$T/out"
n2=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from embeddings").fetchone()[0])' "$D2/library.sqlite3")
check "photos under a vanished root are kept ($n2 of $n0)" test "$n2" -eq "$n0"
mv "$T/photos-unmounted" "$P"
# Limits: more query terms than CLIPSEARCH_MAX_QUERY_TERMS (64) is refused.
args=()
for i in $(seq 1 64); do args+=(--add "circle $i"); done
"$CS" --db "$BASE" --model "$M" red "${args[@]}" >/dev/null 2>"$T/err"
rc=$?
check "65 query terms: exit 1 with a message (rc $rc: $(cat "$T/err"))" \
    test $rc -eq 1 -a -n "$(grep 'at most 64' "$T/err")"
"$CS" check --bogus >/dev/null 2>&1
check "bad option: exit 2" test $? -eq 2
"$CS" check --db "$T/nothing-here" >/dev/null 2>&1
check "no library: exit 3" test $? -eq 3

echo "e2e_damage: $checks checks, $fails failures"
[ $fails -eq 0 ]
