#!/bin/bash
# e2e_index_unreadable.sh — files and folders the indexer may not read: each
# is reported, the run goes on (exit 3 for an unreadable folder), and a
# folder that becomes unreadable later loses none of its indexed photos.
# Root reads everything, so the indexer runs as user nobody (setpriv); skips
# (77) when not root or without setpriv.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to run the indexer as nobody"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv not installed"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
for f in golden/clip-tiny-b32/model.safetensors images/astronaut.jpg; do
    [ -e "$FIX/$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_unreadable.XXXXXX")
trap 'chmod -R u+rwX "$T"; rm -rf "$T"' EXIT
chmod 755 "$T"
fails=0
checks=0
check() { local what=$1; shift; checks=$((checks + 1)); "$@" || { fails=$((fails + 1)); echo "FAIL: $what" >&2; }; }

# The model and the programs must be readable by nobody: copy the model.
M=$T/model
mkdir -p "$M" "$T/photos/locked" "$T/lib" "$T/home"
cp "$FIX/golden/clip-tiny-b32/config.json" "$FIX/golden/clip-tiny-b32/model.safetensors" "$M/"
cp "$FIX/images/astronaut.jpg" "$FIX/images/rocket.jpg" "$FIX/images/coffee.webp" "$T/photos/"
cp "$FIX/images/chelsea_444.jpg" "$T/photos/locked/"
chmod -R a+rX "$T"
chown nobody "$T/lib" "$T/home"
as_nobody() {
    (cd "$T" && setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env HOME="$T/home" "$@")
}
# The binaries under the build folder must be reachable by nobody too.
as_nobody test -x "$BIN/clipsearch-index" || { echo "SKIP: $BIN not reachable by nobody"; exit 77; }
key() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2" | tail -n 1; }

# 1. Everything readable: 4 photos.
out=$(as_nobody "$BIN/clipsearch-index" --db "$T/lib" --model "$M" --json -q "$T/photos" | tail -n 1)
check "first run encodes 4: $out" [ "$(key encoded "$out")" = 4 ]

# 2. A folder becomes unreadable: reported, exit 3, nothing under it removed.
chmod 000 "$T/photos/locked"
as_nobody "$BIN/clipsearch-index" --db "$T/lib" --model "$M" --json "$T/photos" >"$T/out" 2>"$T/err"
rc=$?
out=$(tail -n 1 "$T/out")
check "unreadable folder: exit 3 (got $rc)" [ "$rc" = 3 ]
check "unreadable folder: removed 0: $out" [ "$(key removed "$out")" = 0 ]
check "unreadable folder: counted: $out" [ "$(key unreadable_folders "$out")" = 1 ]
check "unreadable folder: named in a warning" grep -q "locked" "$T/err"
stats=$(as_nobody "$BIN/clipsearch" stats --db "$T/lib" --json 2>/dev/null)
check "library still holds 4 photos: $stats" grep -q "\"photos\":4," <<<"$stats"

# 3. A new photo that cannot be read: a failure with its reason, the rest indexed.
cp "$FIX/images/motorcycle.jpg" "$FIX/images/panorama.jpg" "$T/photos/"
chmod 000 "$T/photos/motorcycle.jpg"
chmod 644 "$T/photos/panorama.jpg"
out=$(as_nobody "$BIN/clipsearch-index" --db "$T/lib" --model "$M" --json "$T/photos" 2>"$T/err" | tail -n 1)
check "unreadable file: 1 failed, 1 encoded: $out" \
    [ "$(key failed "$out")" = 1 -a "$(key encoded "$out")" = 1 ]
check "unreadable file: named with its reason" grep -q "motorcycle.jpg.*Permission denied" "$T/err"

echo "e2e_index_unreadable: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
