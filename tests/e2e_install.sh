#!/bin/bash
# e2e_install.sh — the installed library and programs (issue 15):
#   - `cmake --install` into a temporary prefix: the GNUInstallDirs layout,
#     libclipsearch.so.N with its SONAME, headers, clipsearch.pc, the CMake
#     package, man pages, completions;
#   - the installed programs run from the prefix (RPATH) and --version prints
#     the version of project(VERSION) in CMakeLists.txt and the backends;
#   - the shared library exports exactly the CLIPSEARCH_API functions of the
#     installed headers: nothing but clipsearch_*, and none forgotten;
#   - examples/search_folder.c built against the prefix with pkg-config
#     (shared and --static) and with find_package(clipsearch), run on the
#     clip-shapes model and photos: the right photo first, and the same
#     ranking as the installed `clipsearch`.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
SRC=$(cd "$(dirname "$0")/.." && pwd)
M=$FIX/clip-shapes
for f in "$M/model.safetensors" "$M/vocab.json" "$M/photos/0023_red_circle.jpg"; do
    [ -e "$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
for t in cmake cc pkg-config readelf nm python3; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -e "$BIN/libclipsearch.so" ] || { echo "FAIL: $BIN/libclipsearch.so not built"; exit 1; }

. "$(dirname "$0")/e2e-lib.sh" e2e_install
export HOME=$T/home XDG_DATA_HOME=$T/home/.local/share XDG_CACHE_HOME=$T/home/.cache
unset CLIPSEARCH_MODEL CLIPSEARCH_DB
mkdir -p "$HOME"
P=$T/prefix

# ---- install ------------------------------------------------------------------
cmake --install "$BIN" --prefix "$P" >"$T/install.log" 2>&1
rc=$?
check "cmake --install exits 0 (got $rc): $(tail -3 "$T/install.log")" [ "$rc" -eq 0 ]
pc=$(find "$P" -path '*/pkgconfig/clipsearch.pc' 2>/dev/null | head -1)
libdir=$(sed -n 's|^libdir=${prefix}/||p' "${pc:-/dev/null}" | head -1)
check "clipsearch.pc installed under LIBDIR/pkgconfig" [ -n "$libdir" ]
libdir=$P/${libdir:-lib}
version=$(sed -n 's/^project(clipsearch VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
major=${version%%.*}
check "version found in CMakeLists.txt ($version)" [ -n "$version" ]
for f in bin/clipsearch bin/clipsearch-index include/clipsearch.h include/clipsearch/common.h \
         include/clipsearch/version.h share/man/man1/clipsearch.1.gz \
         share/man/man1/clipsearch-index.1.gz share/bash-completion/completions/clipsearch \
         share/bash-completion/completions/clipsearch-index share/zsh/site-functions/_clipsearch \
         share/fish/vendor_completions.d/clipsearch.fish; do
    check "installed: $f" [ -e "$P/$f" ]
done
for f in libclipsearch.a "libclipsearch.so.$version" cmake/clipsearch/clipsearchConfig.cmake \
         cmake/clipsearch/clipsearchConfigVersion.cmake cmake/clipsearch/clipsearchTargets.cmake; do
    check "installed: LIBDIR/$f" [ -e "$libdir/$f" ]
done
check "libclipsearch.so -> libclipsearch.so.$major" \
    [ "$(readlink "$libdir/libclipsearch.so")" = "libclipsearch.so.$major" ]
check "libclipsearch.so.$major -> libclipsearch.so.$version" \
    [ "$(readlink "$libdir/libclipsearch.so.$major")" = "libclipsearch.so.$version" ]
check "SONAME is libclipsearch.so.$major" \
    grep -q "SONAME.*\[libclipsearch.so.$major\]" <(readelf -d "$libdir/libclipsearch.so.$version")
check "the installed headers hold no third-party include" \
    bash -c "! grep -h '^#include' '$P'/include/clipsearch.h '$P'/include/clipsearch/*.h | grep -v 'clipsearch/\|<std[a-z]*\.h>'"

# The sanitizer build's library needs the sanitizer runtimes loaded first.
CFLAGS_EXTRA=()
if readelf -d "$libdir/libclipsearch.so.$version" | grep -q 'NEEDED.*libasan'; then
    CFLAGS_EXTRA=(-fsanitize=address,undefined)
fi

# ---- the installed programs ------------------------------------------------------
out=$("$P/bin/clipsearch" --version 2>&1)
rc=$?
check "clipsearch --version exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "clipsearch --version: first line 'clipsearch $version' ($out)" \
    [ "$(head -1 <<<"$out")" = "clipsearch $version" ]
check "clipsearch --version names the BLAS" grep -q '^blas: .' <<<"$out"
check "clipsearch --version names FAISS" grep -Eq '^faiss: [0-9]+\.[0-9]+' <<<"$out"
check "clipsearch --version names the precision" grep -qE '^precision: (fp32|bf16) by default' <<<"$out"
check "clipsearch --version names the engine backend" grep -qE '^engine: (onednn|openblas)' <<<"$out"
if [ -f /usr/include/faiss/Index.h ]; then
    fv=$(awk '/#define FAISS_VERSION_(MAJOR|MINOR|PATCH) /{v=v (v?".":"") $3} END{print v}' /usr/include/faiss/Index.h)
    check "FAISS version is the headers' ($fv)" grep -qx "faiss: $fv" <<<"$out"
fi
out2=$("$P/bin/clipsearch-index" --version 2>&1)
check "clipsearch-index --version: first line 'clipsearch-index $version'" \
    [ "$(head -1 <<<"$out2")" = "clipsearch-index $version" ]
check "both programs report the same backends" \
    [ "$(tail -n +2 <<<"$out")" = "$(tail -n +2 <<<"$out2")" ]
loaded_lib() {  # the libclipsearch an executable loads, resolved
    local f
    f=$(ldd "$1" 2>/dev/null | sed -n "s/^[[:space:]]*libclipsearch.so.$major => \([^ ]*\) .*/\1/p")
    [ -n "$f" ] && readlink -f "$f"
}
check "the installed clipsearch loads the installed library ($(loaded_lib "$P/bin/clipsearch"))" \
    [ "$(loaded_lib "$P/bin/clipsearch")" = "$(readlink -f "$libdir/libclipsearch.so.$version")" ]

# ---- exported symbols -----------------------------------------------------------------
nm -D --defined-only "$libdir/libclipsearch.so.$version" | awk '{print $3}' | sort -u >"$T/exported"
# In the sanitizer build the instrumentation adds its own ODR markers.
grep -v '^__odr_asan\|^__asan\|^__ubsan' "$T/exported" >"$T/exported.api"
check "the shared library exports functions ($(wc -l <"$T/exported.api"))" [ -s "$T/exported.api" ]
check "only clipsearch_* symbols are exported: $(grep -v '^clipsearch_' "$T/exported.api" | head -5 | tr '\n' ' ')" \
    bash -c "! grep -qv '^clipsearch_' '$T/exported.api'"
python3 - "$P/include" >"$T/declared" 2>"$T/declared.err" <<'PY'
import re, sys, glob, os
names, bad = set(), []
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'clipsearch', '*.h'))):
    text = re.sub(r'/\*.*?\*/', '', open(f).read(), flags=re.S)
    text = re.sub(r'^[ \t]*#.*$', '', text, flags=re.M)        # preprocessor lines
    text = text.replace('extern "C"', '')
    for stmt in re.split(r'[;{}]', text):
        stmt = ' '.join(stmt.split())
        m = re.search(r'\b(clipsearch_\w+)\s*\(', stmt)
        if not m or stmt.startswith('typedef'):
            continue
        name = m.group(1)
        if not re.search(r'(^|[\s}])CLIPSEARCH_API\s', stmt):
            bad.append(os.path.basename(f) + ': ' + name)
        names.add(name)
for n in sorted(names):
    print(n)
for b in bad:
    print('declared without CLIPSEARCH_API: ' + b, file=sys.stderr)
PY
check "every prototype in the headers carries CLIPSEARCH_API: $(head -3 "$T/declared.err" | tr '\n' ' ')" \
    [ ! -s "$T/declared.err" ]
check "the headers declare functions ($(wc -l <"$T/declared"))" [ -s "$T/declared" ]
missing=$(comm -23 "$T/declared" "$T/exported.api" | head -5 | tr '\n' ' ')
check "every declared function is exported: missing $missing" [ -z "$missing" ]
extra=$(comm -13 "$T/declared" "$T/exported.api" | head -5 | tr '\n' ' ')
check "nothing exported that the headers do not declare: $extra" [ -z "$extra" ]

# ---- examples/ against the installed library --------------------------------------------
mkdir -p "$T/photos"
# Photos 0000..0029, among them 0023_red_circle.jpg and 0000_green_triangle.jpg.
cp "$M"/photos/00[0-2]?_*.jpg "$T/photos/"
n_photos=$(ls "$T/photos" | wc -l)
export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs clipsearch 2>"$T/pc.err")
check "pkg-config --cflags --libs clipsearch: $(cat "$T/pc.err")" [ -n "$flags" ]
check "pkg-config reports version $version" [ "$(pkg-config --modversion clipsearch)" = "$version" ]
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror "${CFLAGS_EXTRA[@]}" "$SRC/examples/search_folder.c" $flags \
    -Wl,-rpath,"$libdir" -o "$T/search_folder" 2>"$T/cc.err"
check "example builds with pkg-config: $(head -5 "$T/cc.err")" [ -x "$T/search_folder" ]
check "the example loads the installed shared library" \
    [ "$(loaded_lib "$T/search_folder")" = "$(readlink -f "$libdir/libclipsearch.so.$version")" ]

run_example() {  # EXE LIBRARY QUERY -> $T/ex.out, $rc
    "$1" "$2" "$M" "$T/photos" "$3" 5 >"$T/ex.out" 2>"$T/ex.err"
    rc=$?
}
if [ -x "$T/search_folder" ]; then
    run_example "$T/search_folder" "$T/lib1" "a red circle"
    check "example exits 0 (got $rc): $(tail -2 "$T/ex.err")" [ "$rc" -eq 0 ]
    check "example indexed the $n_photos photos ($(cat "$T/ex.err"))" \
        grep -q "indexed $n_photos photos ($n_photos new)" "$T/ex.err"
    check "example prints 5 results" [ "$(wc -l <"$T/ex.out")" -eq 5 ]
    check "example: the red circle first ($(head -1 "$T/ex.out"))" \
        grep -q "^1 [0-9.]* $T/photos/0023_red_circle.jpg$" "$T/ex.out"
    check "example: scores in decreasing order" \
        bash -c "awk '{print \$2}' '$T/ex.out' | sort -gr | diff -q - <(awk '{print \$2}' '$T/ex.out') >/dev/null"
    # The installed clipsearch on the library the example built ranks the same.
    "$P/bin/clipsearch" --db "$T/lib1" --model "$M" -n 5 --json "a red circle" >"$T/cs.json" 2>"$T/cs.err"
    rc=$?
    check "installed clipsearch searches the example's library (rc $rc): $(cat "$T/cs.err")" [ "$rc" -eq 0 ]
    python3 - "$T/cs.json" "$T/ex.out" >"$T/cmp" 2>&1 <<'PY'
import json, sys
cli = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ex = [l.split(' ', 2) for l in open(sys.argv[2]).read().splitlines()]
assert len(cli) == len(ex) == 5, (len(cli), len(ex))
for c, (rank, score, path) in zip(cli, ex):
    assert c['rank'] == int(rank) and c['path'] == path, (c, rank, path)
    assert abs(c['score'] - float(score)) < 1e-5, (c['score'], score)
print('same')
PY
    check "example and clipsearch give the same ranking: $(cat "$T/cmp")" grep -qx same "$T/cmp"
fi

# Static: libclipsearch.a (which carries FAISS's C API) with pkg-config --static.
sflags=$(pkg-config --static --libs clipsearch | sed 's/-lclipsearch\b//')
# shellcheck disable=SC2086
cc -std=c11 "${CFLAGS_EXTRA[@]}" $(pkg-config --cflags clipsearch) "$SRC/examples/search_folder.c" \
    "$libdir/libclipsearch.a" $sflags -o "$T/search_folder_static" 2>"$T/ccs.err"
check "example links statically with pkg-config --static: $(head -5 "$T/ccs.err")" \
    [ -x "$T/search_folder_static" ]
if [ -x "$T/search_folder_static" ]; then
    check "the static example does not load libclipsearch.so" \
        bash -c "! ldd '$T/search_folder_static' | grep -q libclipsearch"
    run_example "$T/search_folder_static" "$T/lib2" "a green triangle"
    check "static example exits 0 (got $rc): $(tail -2 "$T/ex.err")" [ "$rc" -eq 0 ]
    check "static example: the green triangle first ($(head -1 "$T/ex.out"))" \
        grep -q "^1 [0-9.]* $T/photos/0000_green_triangle.jpg$" "$T/ex.out"
fi

# find_package(clipsearch) from examples/CMakeLists.txt.
cmake -S "$SRC/examples" -B "$T/ex-build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="${CFLAGS_EXTRA[*]}" >"$T/excfg.log" 2>&1 &&
    cmake --build "$T/ex-build" >"$T/exbuild.log" 2>&1
rc=$?
check "examples/ builds with find_package(clipsearch) (rc $rc): $(cat "$T/excfg.log" "$T/exbuild.log" | tail -n 5 | tr '\n' ' ')" \
    [ "$rc" -eq 0 ]
if [ -x "$T/ex-build/search_folder" ]; then
    check "the find_package example loads the installed shared library" \
        [ "$(loaded_lib "$T/ex-build/search_folder")" = "$(readlink -f "$libdir/libclipsearch.so.$version")" ]
    run_example "$T/ex-build/search_folder" "$T/lib3" "a red circle"
    check "find_package example exits 0 (got $rc): $(tail -2 "$T/ex.err")" [ "$rc" -eq 0 ]
    check "find_package example: the red circle first ($(head -1 "$T/ex.out"))" \
        grep -q "^1 [0-9.]* $T/photos/0023_red_circle.jpg$" "$T/ex.out"
fi
# A version the package does not satisfy is refused.
mkdir -p "$T/fp-too-new"
cat >"$T/fp-too-new/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(too_new LANGUAGES C)
find_package(clipsearch $((major + 1)).0 REQUIRED)
CM
cmake -S "$T/fp-too-new" -B "$T/fp-too-new/b" -DCMAKE_PREFIX_PATH="$P" >/dev/null 2>&1
rc=$?
check "find_package(clipsearch $((major + 1)).0) fails (rc $rc)" [ "$rc" -ne 0 ]

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
