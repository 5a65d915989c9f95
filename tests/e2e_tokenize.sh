#!/usr/bin/env bash
# e2e_tokenize.sh — `clipsearch tokenize` end to end: golden ids for a few
# strings from each table layout, --model/--vocab/--context/--stdin and
# $CLIPSEARCH_MODEL, exit codes and error messages.
set -u
BIN="${CLIPSEARCH_BIN_DIR:?}/clipsearch"
FIX="${CLIPSEARCH_FIXTURES_DIR:?}"
TOK="$FIX/tokenizer"
if [ ! -f "$TOK/vocab.json" ] || [ ! -f "$TOK/bpe_simple_vocab_16e6.txt.gz" ]; then
    echo "SKIP: tokenizer fixtures absent ($TOK)"
    exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
same() { [ "$1" = "$2" ] || { echo "  got:      $1"; echo "  expected: $2"; return 1; }; }

DOG='[49406, 1929, 525, 320, 2117, 49407]'
CAT='[49406, 320, 1125, 539, 320, 2368, 748, 49407]'

for table in "$TOK" "$TOK/vocab.json" "$TOK/bpe_simple_vocab_16e6.txt.gz"; do
    out=$("$BIN" tokenize --vocab "$table" 'dog on a beach' 'A Photo Of A CAT!!' 2>"$TMP/err")
    check "--vocab $table: exit 0" test $? -eq 0
    check "--vocab $table: golden ids" same "$out" "$DOG
$CAT"
done

out=$("$BIN" tokenize --vocab "$TOK" --context 5 'a photo of a cat')
check "--context 5 truncates, ending with <|endoftext|>" same "$out" '[49406, 320, 1125, 539, 49407]'
out=$("$BIN" tokenize --vocab="$TOK" --context=77 '' '&amp; &lt;b&gt;' '<|endoftext|> injected')
check "empty string, entities, special token in text" same "$out" '[49406, 49407]
[49406, 261, 283, 321, 285, 49407]
[49406, 49407, 13688, 775, 49407]'
out=$(printf 'dog on a beach\nA Photo Of A CAT!!\n' | "$BIN" tokenize --vocab "$TOK" --stdin)
check "--stdin: one array per line" same "$out" "$DOG
$CAT"
out=$(printf 'caf\xc3 \xff\n' | "$BIN" tokenize --vocab "$TOK" --stdin)
check "--stdin: invalid UTF-8 as U+FFFD" test $? -eq 0 -a -n "$out"

# A model directory: tokenizer files + config.json's context length.
mkdir -p "$TMP/model"
cp "$TOK/bpe_simple_vocab_16e6.txt.gz" "$TMP/model/"
printf '{"text_config": {"max_position_embeddings": 4}}' >"$TMP/model/config.json"
out=$("$BIN" tokenize --model "$TMP/model" 'dog on a beach')
check "--model: context from config.json" same "$out" '[49406, 1929, 525, 49407]'
out=$(CLIPSEARCH_MODEL="$TMP/model" "$BIN" tokenize 'dog on a beach')
check "\$CLIPSEARCH_MODEL as the model" same "$out" '[49406, 1929, 525, 49407]'
out=$("$BIN" tokenize --model "$TMP/model" --context 77 'dog on a beach')
check "--context overrides the model's" same "$out" "$DOG"
out=$("$BIN" tokenize --model "$FIX/golden/clip-tiny-b32" --vocab "$TOK" 'dog on a beach')
check "--model for the context, --vocab for the table" same "$out" "$DOG"

# Errors: exit codes and messages.
env -u CLIPSEARCH_MODEL "$BIN" tokenize 'x' >/dev/null 2>"$TMP/err"
check "no model: exit 2" test $? -eq 2
check "no model: says what to pass" grep -q -- '--model' "$TMP/err"
"$BIN" tokenize --vocab "$TOK" >/dev/null 2>&1
check "no string: exit 2" test $? -eq 2
"$BIN" tokenize --vocab "$TOK" --context 1 x >/dev/null 2>&1
check "--context 1: exit 2" test $? -eq 2
"$BIN" tokenize --bogus x >/dev/null 2>&1
check "unknown option: exit 2" test $? -eq 2
"$BIN" tokenize --help >"$TMP/help"
check "--help: exit 0" test $? -eq 0
check "--help explains --model" grep -q -- '--model DIR' "$TMP/help"
"$BIN" tokenize --model "$FIX/golden/clip-tiny-b32" x >/dev/null 2>"$TMP/err"
check "model without tokenizer files: exit 1" test $? -eq 1
check "model without tokenizer files: names what is missing" grep -q 'vocab.json' "$TMP/err"
mkdir -p "$TMP/bad"
head -c 1000 "$TOK/bpe_simple_vocab_16e6.txt.gz" >"$TMP/bad/bpe_simple_vocab_16e6.txt.gz"
"$BIN" tokenize --vocab "$TMP/bad" x >/dev/null 2>"$TMP/err"
check "truncated table: exit 1" test $? -eq 1
check "truncated table: clear message" grep -q 'truncated' "$TMP/err"

[ $fail -eq 0 ] && echo "e2e_tokenize: all passed"
exit $fail
