#!/usr/bin/env bash
# quickstart.sh — sets everything up and runs the main job:
#   installs what is needed (scripts/setup.sh, asks for sudo), builds,
#   gets a model unless $CLIPSEARCH_MODEL names one, indexes FOLDER and
#   searches it for QUERY.
# Usage: bash scripts/quickstart.sh [FOLDER] [QUERY]
#   FOLDER  photos to index (default ~/Pictures)
#   QUERY   what to look for (default "dog on a beach")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
folder=${1:-$HOME/Pictures}
query=${2:-dog on a beach}

bash "$root/scripts/setup.sh"

build="$root/build/release"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target clipsearch-cli clipsearch-index >/dev/null
echo "quickstart: built $build/clipsearch and $build/clipsearch-index"

if [ -z "${CLIPSEARCH_MODEL:-}" ]; then
  # The default model (see README): downloaded once, then found in the cache.
  repo=laion/CLIP-ViT-B-32-laion2B-s34B-b79K
  "$build/clipsearch" model download "$repo"
  CLIPSEARCH_MODEL=$("$build/clipsearch" model path "$repo")
  export CLIPSEARCH_MODEL
fi
echo "quickstart: model $CLIPSEARCH_MODEL"

"$build/clipsearch-index" "$folder"
echo
echo "quickstart: clipsearch \"$query\""
"$build/clipsearch" "$query"
