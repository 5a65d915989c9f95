#!/bin/bash
# e2e_index_disk.sh — clipsearch-index on a full disk and on a read-only
# library, with the real programs.
#
#   disk full:  the library lives on a small tmpfs.  Indexing more photos than
#               fit must fail with a clear message and exit status 1, leave a
#               consistent database (PRAGMA integrity_check, whole batches
#               only, every embedded file has its embedding), and a re-run once
#               there is space must finish the job with each photo indexed
#               exactly once.
#   read-only:  the library folder is bind-mounted read-only.  Indexing must
#               fail with a clear message (exit 1) and searching must still
#               work.
#
# Root permissions do not stop root's writes, so this needs real mounts: it
# skips (77) when mount is not permitted (not root, no CAP_SYS_ADMIN), and
# without python3, sqlite3 or the fixtures.  Everything it mounts is
# unmounted on exit.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
IDX=$BIN/clipsearch-index
CS=$BIN/clipsearch
M=$FIX/golden/clip-tiny-b32
[ -f "$M/model.safetensors" ] || { echo "SKIP: fixture clip-tiny-b32 missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 (the shell) not installed"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_index_disk.XXXXXX")
MOUNTS=()
cleanup() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/probe"
if ! mount -t tmpfs -o size=64k tmpfs "$T/probe" 2>/dev/null; then
    echo "SKIP: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)"
    exit 77
fi
umount "$T/probe"

fails=0
checks=0
ok()   { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else fail "$what"; fi; }
jv() { tail -n 1 "$T/out" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read()).get(sys.argv[1], "MISSING"))' "$1" 2>/dev/null || echo NOTJSON; }
q() { sqlite3 "$1/library.sqlite3" "$2"; }

export HOME=$T/home
unset CLIPSEARCH_MODEL CLIPSEARCH_DB XDG_DATA_HOME
mkdir -p "$HOME"

# Distinct photos: the fixture JPEGs, each with a different trailer after
# its end-of-image marker (decoders ignore it; the content hash changes).
P=$T/photos
mkdir -p "$P"
n=0
for i in $(seq 1 20); do
    for f in "$FIX"/images/*.jpg; do
        d=$P/v${i}_$(basename "$f")
        cp "$f" "$d"
        printf 'clipsearch-test-%08d' "$i" >>"$d"
        n=$((n + 1))
    done
done
BATCH=8

# How big the library gets, indexed on an ordinary disk.
"$IDX" --db "$T/ref" --model "$M" --batch $BATCH --threads 2 -q --json "$P" >"$T/out" 2>"$T/err"
check "reference run exits 0 ($(cat "$T/err"))" [ "$(jv encoded)" = "$n" ]
full=$(du -sb "$T/ref" | cut -f1)

# ---- disk full ---------------------------------------------------------------------------
# The library is created on a roomy tmpfs (an empty run: schema and model),
# then the tmpfs is shrunk to the size of the finished library: the WAL
# needs room too, so the disk fills part way through.
L=$T/full
mkdir -p "$L" "$T/empty"
mount -t tmpfs -o size=$(( full * 4 / 1024 + 4096 ))k tmpfs "$L" && MOUNTS+=("$L")
"$IDX" --db "$L" --model "$M" -q "$T/empty" 2>"$T/err"
check "empty library on the tmpfs ($(cat "$T/err"))" [ -f "$L/library.sqlite3" ]
empty=$(du -sb "$L" | cut -f1)
size_k=$(( full / 1024 + 4 ))
mount -o remount,size=${size_k}k "$L"
"$IDX" --db "$L" --model "$M" --batch $BATCH --threads 2 -q --json "$P" >"$T/out" 2>"$T/err"
rc=$?
echo "disk full run (tmpfs ${size_k} KiB, library needs $full bytes, $empty empty): exit $rc: $(cat "$T/err")"
check "disk full: exit status 1 (got $rc)" [ "$rc" -eq 1 ]
check "disk full: says the disk is full" grep -Eqi "disk is full|no space left" "$T/err"
check "disk full: --json still printed ($(jv status))" [ "$(jv status)" != NOTJSON ]
check "disk full: --json says it failed ($(jv status))" [ "$(jv status)" != "no error" ]
# Inspect a copy (opening the full tmpfs may need room for the -shm file).
cp -a "$L" "$T/full-copy"
check "disk full: integrity_check ok" [ "$(q "$T/full-copy" 'PRAGMA integrity_check')" = ok ]
embedded=$(q "$T/full-copy" "SELECT count(*) FROM embeddings")
files=$(q "$T/full-copy" "SELECT count(*) FROM files")
echo "disk full: $embedded photos committed before the disk filled"
check "disk full: whole batches only ($embedded of $BATCH-photo batches)" \
    [ $((embedded % BATCH)) -eq 0 ]
check "disk full: every file row has its embedding ($files files, $embedded embeddings)" \
    [ "$files" = "$embedded" ]
check "disk full: some but not all photos committed ($embedded)" [ "$embedded" -gt 0 -a "$embedded" -lt "$n" ]

# Room again: the next run completes and indexes each photo once.
mount -o remount,size=$(( full * 4 / 1024 + 4096 ))k "$L"
"$IDX" --db "$L" --model "$M" --batch $BATCH --threads 2 -q --json "$P" >"$T/out" 2>"$T/err"
rc=$?
check "after freeing space: exit 0 (got $rc: $(cat "$T/err"))" [ "$rc" -eq 0 ]
check "after freeing space: encodes the rest ($(jv encoded) + $embedded = $n)" \
    [ $(( $(jv encoded) + embedded )) -eq "$n" ]
check "after freeing space: the committed ones are unchanged ($(jv unchanged))" \
    [ "$(jv unchanged)" = "$embedded" ]
check "after freeing space: integrity_check ok" [ "$(q "$L" 'PRAGMA integrity_check')" = ok ]
check "after freeing space: each photo once" \
    [ "$(q "$L" 'SELECT count(*), count(DISTINCT path) FROM files')" = "$n|$n" ]
check "after freeing space: each photo embedded" \
    [ "$(q "$L" 'SELECT count(*) FROM embeddings')" = "$n" ]

# Full again, on an existing library: touched photos must be re-encoded but
# nothing fits.  The run fails clearly and the database stays usable.
touch "$P"/v1_*.jpg
dd if=/dev/zero of="$L/filler" bs=4k 2>/dev/null
"$IDX" --db "$L" --model "$M" --batch $BATCH --threads 2 -q --json "$P" >"$T/out" 2>"$T/err"
rc=$?
echo "disk full again: exit $rc: $(cat "$T/err")"
check "disk full again: exit status 1 (got $rc)" [ "$rc" -eq 1 ]
check "disk full again: a clear message" grep -Eqi "disk is full|no space left" "$T/err"
rm -f "$L/filler"
cp -a "$L" "$T/full-copy2"
check "disk full again: integrity_check ok" \
    [ "$(q "$T/full-copy2" 'PRAGMA integrity_check')" = ok ]
"$IDX" --db "$L" --model "$M" --batch $BATCH -q --json "$P" >"$T/out" 2>"$T/err"
check "disk full again: the next run completes ($(cat "$T/err"))" [ "$(jv status)" = "no error" ]
check "disk full again: each photo once" \
    [ "$(q "$L" 'SELECT count(*), count(DISTINCT path) FROM files')" = "$n|$n" ]

# ---- read-only library ---------------------------------------------------------------------
RO=$T/ro
mkdir -p "$RO"
mount --bind "$T/ref" "$RO" && MOUNTS+=("$RO")
if mount -o remount,ro,bind "$RO" 2>/dev/null && ! touch "$RO/x" 2>/dev/null; then
    mkdir -p "$T/more"
    cp "$FIX/images/coffee.webp" "$T/more/"
    "$IDX" --db "$RO" --model "$M" -q --json "$P" "$T/more" >"$T/out" 2>"$T/err"
    rc=$?
    echo "read-only library: exit $rc: $(cat "$T/err")"
    check "read-only: exit status 1 (got $rc)" [ "$rc" -eq 1 ]
    check "read-only: says read-only" grep -qi "read-only" "$T/err"
    check "read-only: --json still printed ($(jv status))" [ "$(jv status)" != NOTJSON ]
    if [ -x "$CS" ]; then
        photo=$(ls "$P"/v3_*.jpg | head -n 1)
        out=$("$CS" --db "$RO" --model "$M" --image "$photo" -n 1 --json 2>"$T/cs.err")
        rc=$?
        check "read-only: search exits 0 (got $rc: $(cat "$T/cs.err"))" [ "$rc" -eq 0 ]
        # Every variant of a fixture has the same pixels: any may come first.
        b=$(basename "$photo")
        check "read-only: search finds the photo ($out)" grep -q "_${b#v3_}" <<<"$out"
    fi
else
    echo "note: read-only bind mount not available here: read-only part not run"
fi

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
