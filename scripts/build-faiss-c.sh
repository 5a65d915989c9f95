#!/usr/bin/env bash
# build-faiss-c.sh — builds FAISS's C API (libfaiss_c.a) from Debian's faiss
# source package, for the faiss version that libfaiss-dev installed, into
# /usr/local/lib.  Debian ships its headers (/usr/include/faiss/c_api) and
# the static libfaiss.a but not the C API's compiled code.  Idempotent: does
# nothing when the library for this exact version is already there.
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
version=$(dpkg-query -W -f='${source:Version}' libfaiss-dev)
stamp="$PREFIX/lib/libfaiss_c.version"
if [ -f "$PREFIX/lib/libfaiss_c.a" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
echo "build-faiss-c.sh: building the FAISS C API for faiss $version"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# A deb-src line for this one call, without touching the system's lists.
mkdir -p lists/partial
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" > src.list
apt_opts=(-o Dir::Etc::SourceList="$work/src.list" -o Dir::Etc::SourceParts=/nonexistent
          -o Dir::State::Lists="$work/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" source -qq --download-only "faiss=$version" >/dev/null 2>&1 ||
  apt-get "${apt_opts[@]}" source -qq --download-only faiss >/dev/null
dpkg-source -x --no-check faiss_*.dsc src >/dev/null

mkdir obj
for f in src/c_api/*.cpp src/c_api/impl/*.cpp src/c_api/utils/*.cpp; do
  o="obj/$(echo "${f#src/c_api/}" | tr / _).o"
  g++ -O2 -fPIC -fopenmp -I/usr/include -c "$f" -o "$o" &
  # at most nproc compilers at once
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n; done
done
wait
ar rcs libfaiss_c.a obj/*.o

# Prove it links and runs with FAISS's own example before installing it.
gcc -O2 src/c_api/example_c.c -I/usr/include -o example_c libfaiss_c.a \
  /usr/lib/x86_64-linux-gnu/libfaiss.a -fopenmp -lopenblas -llapack -lstdc++ -lm
./example_c >/dev/null

install -d "$PREFIX/lib"
install -m 644 libfaiss_c.a "$PREFIX/lib/libfaiss_c.a"
echo "$version" > "$stamp"
echo "build-faiss-c.sh: installed $PREFIX/lib/libfaiss_c.a"
