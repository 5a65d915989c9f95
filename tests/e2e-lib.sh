# e2e-lib.sh — sourced by tests/e2e_*.sh (not a test itself): a scratch
# folder $T, removed on exit, and the check counters.
#   . "$(dirname "$0")/e2e-lib.sh" NAME      (NAME prefixes the scratch folder)
# check WHAT CMD...  runs CMD: counts a pass, or a failure named WHAT on stderr.
T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
checks=0
ok()   { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else fail "$what"; fi; }
