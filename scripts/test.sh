#!/usr/bin/env bash
# test.sh — sets everything up and runs the whole test suite, as CI does:
#   1. installs the Debian packages and the FAISS C API (scripts/setup.sh),
#   2. a Release build with warnings as errors, and its CTest suite,
#   3. an AddressSanitizer + UndefinedBehaviorSanitizer build, and the same
#      suite under it (leaks and any UB report fail the run).
# Usage: bash scripts/test.sh [ctest arguments, e.g. -R tokenizer]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

jobs=$(nproc)
run_suite() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCLIPSEARCH_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  (cd "$dir" && ctest --output-on-failure --timeout 1800 -j"$jobs" "${CTEST_ARGS[@]}")
}
CTEST_ARGS=("$@")

echo "== Release build and tests"
run_suite build/test-release -DCMAKE_BUILD_TYPE=Release

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build/test-asan -DCMAKE_BUILD_TYPE=Debug -DCLIPSEARCH_SANITIZE=ON
