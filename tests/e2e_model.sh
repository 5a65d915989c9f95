#!/bin/bash
# e2e_model.sh — `clipsearch model download|list|path` against
# tests/hub_server.py on 127.0.0.1 serving the tiny fixture model: download,
# the downloaded model used for a search, exit codes of 404, checksum
# mismatch and an unreachable server, the Hugging Face cache used in place.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
HERE=$(cd "$(dirname "$0")" && pwd)
CS=$BIN/clipsearch
[ -e "$FIX/golden/clip-tiny-b32/model.safetensors" ] || { echo "SKIP: fixtures missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_model.XXXXXX")
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0; checks=0
check() { local what=$1; shift; checks=$((checks + 1)); if ! "$@"; then fails=$((fails + 1)); echo "FAIL: $what" >&2; fi; }

export HOME=$T/home XDG_CACHE_HOME=$T/home/.cache HF_HOME=$T/home/.cache/huggingface
unset CLIPSEARCH_MODEL CLIPSEARCH_DB HF_HUB_CACHE HF_TOKEN XDG_DATA_HOME
mkdir -p "$HOME" "$T/files"
cp "$FIX"/golden/clip-tiny-b32/* "$FIX"/tokenizer/vocab.json "$FIX"/tokenizer/merges.txt "$T/files/"
python3 "$HERE/hub_server.py" --files "$T/files" --port-file "$T/port" --lifetime 120 &
SERVER=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || { echo "FAIL: the local hub server did not start"; exit 1; }
export HF_ENDPOINT=http://127.0.0.1:$(cat "$T/port")

"$CS" model list >"$T/out" 2>"$T/err"
check "list with nothing installed: exit 0" [ $? -eq 0 ]
check "list with nothing installed: says what to run" grep -q "clipsearch model download" "$T/err"

dir=$("$CS" model download test/tiny 2>"$T/err")
check "download: exit 0" [ $? -eq 0 ]
check "download: into XDG_CACHE_HOME/clipsearch/models/ORG--NAME" [ "$dir" = "$XDG_CACHE_HOME/clipsearch/models/test--tiny" ]
check "download: weights identical" cmp -s "$dir/model.safetensors" "$FIX/golden/clip-tiny-b32/model.safetensors"
check "download: tokenizer" cmp -s "$dir/vocab.json" "$FIX/tokenizer/vocab.json"
check "download: summary" grep -q "4 files downloaded" "$T/err"
"$CS" model download test/tiny >/dev/null 2>"$T/err"
check "download again: nothing fetched" grep -q "0 files downloaded (0 resumed), 4 already present" "$T/err"
"$CS" model download test/cut-tiny >/dev/null 2>"$T/err"
check "download cut mid-file: resumed" grep -q "(1 resumed)" "$T/err"

"$CS" model list >"$T/out"
check "list shows the downloads" [ "$(grep -c "clipsearch" "$T/out")" -eq 2 ]
check "model path" [ "$("$CS" model path test/tiny)" = "$dir" ]
"$CS" model path test/nothing >/dev/null 2>&1
check "model path of an absent model: exit 4" [ $? -eq 4 ]
check "list --json" python3 -c '
import json,sys
rows=[json.loads(l) for l in sys.stdin]
assert {r["repo"] for r in rows} == {"test/tiny","test/cut-tiny"}, rows
assert all(r["tokenizer"] and r["source"] == "clipsearch" for r in rows)' <"$("$CS" model list --json >"$T/j"; echo "$T/j")"

# The downloaded model indexes and searches (found by fingerprint).
mkdir -p "$T/photos" && cp "$FIX"/images/astronaut.jpg "$FIX"/images/rocket.jpg "$T/photos/"
"$BIN/clipsearch-index" --db "$T/lib" --model "$dir" -q "$T/photos" >/dev/null 2>&1
out=$("$CS" --db "$T/lib" --image "$T/photos/rocket.jpg" -n 1 --paths)
check "search with the downloaded model, found without --model" [ "$out" = "$T/photos/rocket.jpg" ]

"$CS" model download test/missing-x >/dev/null 2>"$T/err"
check "404: exit 5" [ $? -eq 5 ]
check "404: says so" grep -q "404" "$T/err"
"$CS" model download test/badsha-x >/dev/null 2>"$T/err"
check "checksum mismatch: exit 5" [ $? -eq 5 ]
check "checksum mismatch: weights not in place" [ ! -e "$XDG_CACHE_HOME/clipsearch/models/test--badsha-x/model.safetensors" ]
start=$(date +%s)
HF_ENDPOINT=http://127.0.0.1:9 "$CS" model download test/tiny2 >/dev/null 2>"$T/err"
rc=$?
check "unreachable: exit 5" [ $rc -eq 5 ]
check "unreachable: fast" [ $(( $(date +%s) - start )) -lt 5 ]
check "unreachable: how to place the files by hand" grep -q "by hand.*config.json, model.safetensors, vocab.json and merges.txt" "$T/err"
"$CS" model download 'bad name' >/dev/null 2>&1
check "bad repository name: exit 1" [ $? -eq 1 ]
"$CS" model frobnicate >/dev/null 2>&1
check "unknown subcommand: exit 2" [ $? -eq 2 ]

# A complete copy in the Hugging Face cache is used in place (no server).
snap=$HF_HOME/hub/models--org--cached/snapshots/abc
mkdir -p "$snap" "$HF_HOME/hub/models--org--cached/refs"
cp "$T"/files/* "$snap/"
echo abc >"$HF_HOME/hub/models--org--cached/refs/main"
out=$(HF_ENDPOINT=http://127.0.0.1:9 "$CS" model download org/cached 2>"$T/err")
check "hf cache: used in place" [ "$out" = "$snap" ]
check "hf cache: said so" grep -q "Hugging Face cache" "$T/err"
"$CS" model list >"$T/out"
check "hf cache: listed" grep -q "^org/cached .*hf-cache" "$T/out" || cat "$T/out"

echo "e2e_model: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
