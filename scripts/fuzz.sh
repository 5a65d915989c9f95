#!/bin/sh
# fuzz.sh [SECONDS_PER_TARGET] — builds the libFuzzer targets (fuzz/fuzz_*.c)
# with clang, AddressSanitizer and UndefinedBehaviorSanitizer, and runs each
# for SECONDS_PER_TARGET seconds (default 60), one after the other.
#
# New corpus entries go to $CLIPSEARCH_FUZZ_CORPUS (default
# $XDG_CACHE_HOME/clipsearch-fuzz, else ~/.cache/clipsearch-fuzz), one folder
# per target, never into the repository; the seeds under fuzz/corpus/ are read
# as well.  A crash, leak or sanitizer report is saved there as
# <target>/artifacts/crash-* (add it to fuzz/corpus/<target>/ once fixed: the
# normal build replays that folder in CTest).  Prints executions, coverage
# and findings per target, the figures fuzz/README.md records.
#
#   FUZZ_JOBS=N     build jobs (default 2)
#   FUZZ_BUILD=DIR  build folder (default build/fuzz)
#   FUZZ_TARGETS="fuzz_jpeg fuzz_png"   only these
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$here/build/fuzz}
cache=${XDG_CACHE_HOME:-$HOME/.cache}
corpus=${CLIPSEARCH_FUZZ_CORPUS:-$cache/clipsearch-fuzz}
jobs=${FUZZ_JOBS:-2}
command -v clang >/dev/null || { echo "fuzz.sh: clang not found (apt-get install clang)" >&2; exit 1; }
case $secs in ''|*[!0-9]*) echo "usage: fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac

targets=${FUZZ_TARGETS:-$(cd "$here/fuzz" && ls fuzz_*.c | sed 's/\.c$//' | grep -v '^fuzz_main$')}
CC=clang CXX=clang++ cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCLIPSEARCH_FUZZ=ON -DCLIPSEARCH_SANITIZE=ON -DCLIPSEARCH_NATIVE=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $targets >/dev/null

export CLIPSEARCH_FIXTURES_DIR=${CLIPSEARCH_FIXTURES_DIR:-$here/../shared/fixtures}
summary=$corpus/summary-$(date -u +%Y%m%dT%H%M%SZ).txt
mkdir -p "$corpus"
printf '%-28s %12s %8s %8s %8s %s\n' target executions exec/s cov ft findings | tee "$summary"
status=0
for t in $targets; do
    mkdir -p "$corpus/$t/artifacts"
    log=$corpus/$t/last.log
    before=$(ls "$corpus/$t/artifacts" | wc -l)
    # -timeout: a single input taking longer is a finding (a hang);
    # -rss_limit_mb: so is one that needs more memory than this.
    if ! "$build/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$corpus/$t/artifacts/" \
        "$corpus/$t" "$here/fuzz/corpus/$t" >"$log" 2>&1; then
        status=1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | sed 's/ft: //')
    found=$(( $(ls "$corpus/$t/artifacts" | wc -l) - before ))
    printf '%-28s %12s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "${ft:-?}" "$found" | tee -a "$summary"
done
echo "logs and new corpus entries under $corpus; summary in $summary"
exit $status
