#!/usr/bin/env bash
# e2e_preprocess.sh — `clipsearch preprocess` end to end: the tensor it writes
# for a few fixture photos is byte-identical to transformers' pixel_values in
# golden/pixels.safetensors; sizes, fast mode, exit codes and messages.
set -u
BIN="${CLIPSEARCH_BIN_DIR:?}/clipsearch"
FIX="${CLIPSEARCH_FIXTURES_DIR:?}"
GOLD="$FIX/golden/pixels.safetensors"
if [ ! -f "$GOLD" ] || [ ! -d "$FIX/images" ]; then
    echo "SKIP: fixtures absent ($FIX)"
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

# Golden tensor bytes: 8-byte little-endian header length, JSON header, data.
hlen=$(head -c 8 "$GOLD" | od -An -tu8 | tr -d ' ')
header=$(head -c $((8 + hlen)) "$GOLD" | tail -c "$hlen")
golden() { # image file -> raw F32 bytes on stdout
    local offs
    offs=$(printf '%s' "$header" | grep -o "\"pixel_values/$1\":{[^}]*}" |
        sed 's/.*"data_offsets":\[\([0-9]*\),\([0-9]*\)\].*/\1 \2/')
    set -- $offs
    tail -c +$((8 + hlen + $1 + 1)) "$GOLD" | head -c $(($2 - $1))
}

for img in astronaut.jpg coffee_exif8.jpg rocket_cmyk.jpg chelsea_palette.png coffee.webp; do
    "$BIN" preprocess "$FIX/images/$img" -o "$TMP/$img.f32" 2>"$TMP/err"
    check "$img: exit 0" test $? -eq 0
    golden "$img" >"$TMP/$img.golden"
    check "$img: golden tensor found" test "$(stat -c %s "$TMP/$img.golden")" -eq $((3 * 224 * 224 * 4))
    check "$img: identical to golden pixel_values" cmp -s "$TMP/$img.f32" "$TMP/$img.golden"
done

"$BIN" preprocess "$FIX/images/hubble_large.jpg" --fast --size 336 -o "$TMP/h.f32" 2>/dev/null
check "--fast --size 336: exit 0" test $? -eq 0
check "--size 336 writes 3*336*336 floats" test "$(stat -c %s "$TMP/h.f32")" -eq $((3 * 336 * 336 * 4))

"$BIN" preprocess "$FIX/images/broken/truncated.jpg" -o "$TMP/t.f32" 2>"$TMP/err"
check "truncated.jpg: exit 1" test $? -eq 1
check "truncated.jpg: message names the file and the problem" \
    grep -q 'truncated.jpg: JPEG data ends early' "$TMP/err"
check "truncated.jpg: no output left behind" test ! -e "$TMP/t.f32"

"$BIN" preprocess "$FIX/images/astronaut.jpg" 2>/dev/null
check "missing -o: exit 2" test $? -eq 2
"$BIN" preprocess "$FIX/images/astronaut.jpg" -o "$TMP/x" --size 0 2>/dev/null
check "--size 0: exit 2" test $? -eq 2
"$BIN" preprocess --bogus 2>/dev/null
check "unknown option: exit 2" test $? -eq 2
"$BIN" preprocess --help >"$TMP/help"
check "--help: exit 0" test $? -eq 0
check "--help explains the output" grep -q 'float32' "$TMP/help"

exit $fail
