#!/bin/bash
# e2e_deb.sh — the Debian package (issue 15): `cpack -G DEB` from this build;
# its Depends computed by dpkg-shlibdeps (every shared library the binaries
# load maps to a package named in Depends, FAISS is inside); the programs,
# the library, man pages and completions in it, no RPATH; as root, installed
# with `apt-get install ./clipsearch_*.deb` (nothing downloaded), run, and
# removed with --purge leaving none of its files; lintian reports nothing
# beyond the findings README explains ("Debian package: lintian").
# Skips (77) without cpack/dpkg-dev; the install part only runs as root,
# and never over an installed clipsearch.
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$BIN/CPackConfig.cmake" ] || { echo "FAIL: $BIN/CPackConfig.cmake missing"; exit 1; }
for t in cpack dpkg-deb dpkg-shlibdeps readelf; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed (dpkg-dev)"; exit 77; }
done

. "$(dirname "$0")/e2e-lib.sh" e2e_deb
version=$(sed -n 's/^project(clipsearch VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
major=${version%%.*}

cpack -G DEB -B "$T/out" --config "$BIN/CPackConfig.cmake" >"$T/cpack.log" 2>&1
rc=$?
check "cpack -G DEB exits 0 (rc $rc): $(tail -3 "$T/cpack.log")" [ "$rc" -eq 0 ]
deb=$(ls "$T"/out/clipsearch_"$version"-*_*.deb 2>/dev/null | head -1)
check "the package is clipsearch_${version}-N_ARCH.deb" [ -n "$deb" ]
[ -n "$deb" ] || { echo "$checks checks, $fails failed"; exit 1; }

# ---- contents --------------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/bin/clipsearch /usr/bin/clipsearch-index /usr/include/clipsearch.h \
         /usr/share/man/man1/clipsearch.1.gz /usr/share/man/man1/clipsearch-index.1.gz \
         /usr/share/bash-completion/completions/clipsearch /usr/share/zsh/vendor-completions/_clipsearch \
         /usr/share/fish/vendor_completions.d/clipsearch.fish /usr/share/doc/clipsearch/changelog.Debian.gz; do
    check "the package holds $f" grep -qx "$f" "$T/contents"
done
check "the package holds libclipsearch.so.$major and its pkg-config file" \
    bash -c "grep -q '^/usr/lib/.*libclipsearch.so.$major\$' '$T/contents' && grep -q '^/usr/lib/.*pkgconfig/clipsearch.pc\$' '$T/contents'"
dpkg-deb -x "$deb" "$T/root"
for f in "$T"/root/usr/bin/clipsearch "$T"/root/usr/bin/clipsearch-index "$T"/root/usr/lib/*libclipsearch.so."$version" \
         "$T"/root/usr/lib/*/libclipsearch.so."$version"; do
    [ -e "$f" ] || continue
    check "no RPATH/RUNPATH in ${f#"$T"/root}" bash -c "! readelf -d '$f' | grep -q 'RPATH\|RUNPATH'"
done
check "the package holds the shlibs file for libclipsearch.so.$major" \
    grep -q "^libclipsearch $major clipsearch" <(dpkg-deb -I "$deb" shlibs 2>/dev/null)
check "ldconfig runs from a trigger" grep -qx 'activate-noawait ldconfig' <(dpkg-deb -I "$deb" triggers 2>/dev/null)

# ---- Depends: computed from what the binaries link --------------------------------------
depends=$(dpkg-deb -f "$deb" Depends)
check "Depends is not empty ($depends)" [ -n "$depends" ]
check "FAISS is linked in, not a dependency" bash -c "! grep -qi faiss <<<'$depends'"
lib=$(ls "$T"/root/usr/lib/libclipsearch.so."$version" "$T"/root/usr/lib/*/libclipsearch.so."$version" 2>/dev/null | head -1)
needed=$( (readelf -d "$lib"; readelf -d "$T/root/usr/bin/clipsearch") | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
check "the binaries need shared libraries" [ -n "$needed" ]
check "libclipsearch.so needs no FAISS library" bash -c "! grep -qi faiss <<<'$needed'"
missing=
for so in $needed; do
    [ "$so" = "libclipsearch.so.$major" ] && continue
    path=$(ldconfig -p | awk -v so="$so" '$1 == so {print $NF; exit}')
    [ -n "$path" ] || { missing="$missing $so(not-found)"; continue; }
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$pkg" ] || { missing="$missing $so(no-package)"; continue; }
    # Depends names the package itself, or an alternative that provides the
    # soname (liblapack3 | liblapack.so.3; libopenblas0 for libopenblas0-pthread).
    names=$(tr ',|' '\n\n' <<<"$depends" | awk 'NF {print $1}')
    found=
    for n in "$pkg" "$so" "${pkg%-pthread}" "${pkg%-openmp}"; do
        grep -qxF -- "$n" <<<"$names" && found=1
    done
    [ -n "$found" ] || missing="$missing $so($pkg)"
done
check "every library the binaries load is covered by Depends:$missing" [ -z "$missing" ]

# ---- install, run, remove (root only) ------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    echo "note: not root: the package is not installed"
elif dpkg-query -W -f='${Status}' clipsearch 2>/dev/null | grep -q 'ok installed' || [ -e /usr/bin/clipsearch ]; then
    echo "note: clipsearch is already installed on this system: not touching it"
elif ! command -v apt-get >/dev/null; then
    echo "note: no apt-get: the package is not installed"
else
    trap 'dpkg --purge clipsearch >/dev/null 2>&1; rm -rf "$T"' EXIT
    # No network here: apt installs the file and finds every dependency
    # already installed (a missing one would fail the download, and the test).
    (cd "$T/out" && DEBIAN_FRONTEND=noninteractive apt-get install -y \
        "./$(basename "$deb")") >"$T/apt.log" 2>&1
    rc=$?
    check "apt-get install ./$(basename "$deb") exits 0 (rc $rc): $(tail -3 "$T/apt.log")" [ "$rc" -eq 0 ]
    check "dpkg knows clipsearch $version" \
        grep -q "^install ok installed $version-" <(dpkg-query -W -f='${Status} ${Version}' clipsearch 2>/dev/null)
    dpkg -L clipsearch 2>/dev/null | while read -r f; do [ -d "$f" ] || echo "$f"; done >"$T/files"
    check "the installed package lists its files" [ -s "$T/files" ]
    out=$(cd / && env -u LD_LIBRARY_PATH /usr/bin/clipsearch --version 2>&1)
    check "/usr/bin/clipsearch --version works ($(head -1 <<<"$out"))" \
        [ "$(head -1 <<<"$out")" = "clipsearch $version" ]
    loaded=$(ldd /usr/bin/clipsearch 2>/dev/null | sed -n "s/^[[:space:]]*libclipsearch.so.$major => \([^ ]*\) .*/\1/p")
    check "/usr/bin/clipsearch loads the installed library ($loaded)" \
        grep -qx "/usr/lib/\(.*/\)\?libclipsearch.so.$version" <(readlink -f "$loaded")
    check "ldconfig knows libclipsearch.so.$major" grep -q "libclipsearch.so.$major " <(ldconfig -p)
    check "/usr/bin/clipsearch-index --help works" bash -c "/usr/bin/clipsearch-index --help >/dev/null"
    if command -v man >/dev/null; then
        check "man finds clipsearch(1)" bash -c "man -w clipsearch | grep -q /usr/share/man/man1/clipsearch.1.gz"
    fi
    if command -v pkg-config >/dev/null; then
        check "pkg-config finds the installed clipsearch $version" \
            [ "$(env -u PKG_CONFIG_PATH pkg-config --modversion clipsearch 2>/dev/null)" = "$version" ]
    fi
    DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y clipsearch >"$T/remove.log" 2>&1
    rc=$?
    check "apt-get remove --purge clipsearch exits 0 (rc $rc): $(tail -3 "$T/remove.log")" [ "$rc" -eq 0 ]
    check "dpkg no longer knows clipsearch" \
        bash -c "! dpkg-query -W -f='\${Status}' clipsearch 2>/dev/null | grep -q 'ok installed'"
    left=$(while read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done <"$T/files" | head -5 | tr '\n' ' ')
    check "no file of the package is left: $left" [ -z "$left" ]
    check "ldconfig forgot libclipsearch.so.$major" bash -c "! ldconfig -p | grep -q 'libclipsearch.so.$major '"
    trap 'rm -rf "$T"' EXIT
fi

# ---- lintian ------------------------------------------------------------------------------------
# Findings README explains (section "Debian package: lintian").
explained="bogus-mail-host bogus-mail-host-in-debian-changelog no-copyright-file
initial-upload-closes-no-bugs link-to-shared-library-in-wrong-package
package-name-doesnt-match-sonames maintainer-script-empty
pkg-config-multi-arch-wrong-dir pkg-config-unavailable-for-cross-compilation"
if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$deb" >"$T/lintian" 2>"$T/lintian.err"
    tags=$(sed -n 's/^[EWIPX]: clipsearch[^:]*: \([a-z0-9+.-]*\).*/\1/p' "$T/lintian" | sort -u)
    unexplained=
    for t in $tags; do
        grep -qw -- "$t" <<<"$explained" || unexplained="$unexplained $t"
    done
    check "lintian ran ($(grep -vc 'root privileges' "$T/lintian.err") errors)" \
        bash -c "! grep -v 'root privileges' '$T/lintian.err' | grep -q ."
    check "lintian finds nothing README does not explain:$unexplained" [ -z "$unexplained" ]
    for t in $explained; do
        check "README explains lintian's $t" grep -q -- "$t" "$SRC/README.md"
    done
    echo "lintian: $(echo $tags)"
else
    echo "note: lintian not installed: the package is not checked"
fi

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
