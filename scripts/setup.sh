#!/usr/bin/env bash
# setup.sh — installs every Debian 12 package clipsearch needs and builds
# FAISS's C API (which Debian ships as headers only) into /usr/local.
# Idempotent; run as root (or through sudo).  Nothing is downloaded but
# Debian packages and Debian's faiss source package.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang dpkg-dev ca-certificates
  libopenblas-dev liblapack-dev libfaiss-dev
  libdnnl-dev
  libsqlite3-dev sqlite3
  libjpeg62-turbo-dev libpng-dev libwebp-dev libheif-dev zlib1g-dev
  libutf8proc-dev libcjson-dev libcurl4-openssl-dev libxxhash-dev nettle-dev
  libmicrohttpd-dev
  libraw-dev libtiff-dev libavif-dev libjxl-dev libgif-dev
  libavif-bin libjxl-tools libtiff-tools imagemagick python3-pil python3-numpy
  python3
  chromium chromium-driver python3-selenium
  # installing (issue 15): man pages from scdoc, checked with groff/man;
  # cpack DEB (dpkg-shlibdeps, file) and lintian; completions checked in zsh, fish
  scdoc groff-base man-db file lintian zsh fish
)

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -E bash "$0" "$@"
  fi
  echo "setup.sh: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

bash "$(dirname "$0")/build-faiss-c.sh"
