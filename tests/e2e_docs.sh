#!/bin/bash
# e2e_docs.sh — the man pages and the shell completions (issue 15):
#   - both man pages (built from docs/man/*.scd) render with groff -ww and
#     man -l without a warning;
#   - they cover every option each command's --help lists, every exit code
#     and every environment variable the programs read;
#   - the bash completion loads without errors and, driven through COMP_WORDS
#     and COMP_CWORD like bash does, completes `clipsearch mo` to `model`,
#     every command, every --help option of each command, installed model
#     names (from `clipsearch model list`) and folders;
#   - the zsh completion parses and registers for both programs, and the
#     fish completion completes `clipsearch mo` and model names (when zsh
#     and fish are installed; their checks are skipped otherwise).
set -u
BIN=${CLIPSEARCH_BIN_DIR:?CLIPSEARCH_BIN_DIR not set}
FIX=${CLIPSEARCH_FIXTURES_DIR:?CLIPSEARCH_FIXTURES_DIR not set}
SRC=$(cd "$(dirname "$0")/.." && pwd)
CS=$BIN/clipsearch
IDX=$BIN/clipsearch-index
[ -x "$CS" ] && [ -x "$IDX" ] || { echo "FAIL: programs not built in $BIN"; exit 1; }
[ -f "$BIN/man/clipsearch.1" ] || { echo "SKIP: man pages not built (scdoc missing)"; exit 77; }
command -v groff >/dev/null || { echo "SKIP: groff not installed"; exit 77; }
[ -e "$FIX/clip-shapes/model.safetensors" ] || { echo "SKIP: clip-shapes fixture missing"; exit 77; }

. "$(dirname "$0")/e2e-lib.sh" e2e_docs
export HOME=$T/home XDG_DATA_HOME=$T/home/.local/share XDG_CACHE_HOME=$T/home/.cache
unset CLIPSEARCH_MODEL CLIPSEARCH_DB HF_HOME HF_HUB_CACHE
mkdir -p "$HOME" "$XDG_CACHE_HOME/clipsearch/models"
# An installed model, as `clipsearch model download` leaves it.
ln -s "$FIX/clip-shapes" "$XDG_CACHE_HOME/clipsearch/models/test--shapes"
check "clipsearch model list shows the installed model" \
    grep -q '^test/shapes ' <("$CS" model list 2>/dev/null)

# ---- man pages ----------------------------------------------------------------------
for page in clipsearch clipsearch-index; do
    f=$BIN/man/$page.1
    groff -ww -man -Tutf8 -P-cbou "$f" >"$T/$page.txt" 2>"$T/$page.groff"
    rc=$?
    check "groff -ww -man renders $page.1 (rc $rc) without warnings: $(head -3 "$T/$page.groff")" \
        [ "$rc" -eq 0 ] && [ ! -s "$T/$page.groff" ]
    if command -v man >/dev/null; then
        MANWIDTH=80 man --warnings -l "$f" >"$T/$page.man" 2>"$T/$page.manerr"
        rc=$?
        check "man -l renders $page.1 (rc $rc) without warnings: $(head -3 "$T/$page.manerr")" \
            [ "$rc" -eq 0 ] && [ ! -s "$T/$page.manerr" ] && [ -s "$T/$page.man" ]
    fi
    check "$page.1 has NAME, SYNOPSIS, EXIT STATUS, ENVIRONMENT, FILES, SEE ALSO" \
        bash -c "for s in NAME SYNOPSIS 'EXIT STATUS' ENVIRONMENT FILES 'SEE ALSO'; do grep -q \"^\$s\" '$T/$page.txt' || exit 1; done"
done

# Options, exit codes and variables named by a --help text: OPTS, CODES, VARS.
help_words() {  # HELPFILE
    OPTS=$(grep -oE '(^|[ ,(\[|])--?[a-zA-Z0-9][a-zA-Z0-9-]*' "$1" | sed 's/^[ ,(\[|]//' |
           grep -vE '^-[1-9][0-9]*$|^-[0-9a-zA-Z]{2,}$' | sort -u)
    CODES=$(sed -n '/[Ee]xit \(codes\|status\)/,$p' "$1" | grep -oE '(^|[ ,])[0-9]{1,3}( |$)' |
            tr -d ' ,' | sort -u)
    VARS=$(grep -oE '\$[A-Z_]{3,}' "$1" | tr -d '$' | sort -u)
}
covers() {  # PAGE.scd WHAT...
    local scd=$1 w missing=
    shift
    for w in "$@"; do
        grep -qF -- "*$w*" "$scd" || missing="$missing $w"
    done
    [ -z "$missing" ] || { echo "  not in $(basename "$scd"):$missing" >&2; return 1; }
}
SCD=$SRC/docs/man/clipsearch.1.scd
for cmd in search stats export check duplicates model serve embed tokenize preprocess learn classifiers forget classify tag tags; do
    "$CS" "$cmd" --help >"$T/help.$cmd" 2>&1
    help_words "$T/help.$cmd"
    # shellcheck disable=SC2086
    check "clipsearch.1 covers every option of '$cmd --help'" covers "$SCD" $OPTS
    # shellcheck disable=SC2086
    check "clipsearch.1 covers every exit code of '$cmd --help' ($(echo $CODES))" covers "$SCD" $CODES
    # shellcheck disable=SC2086
    check "clipsearch.1 covers every variable of '$cmd --help'" covers "$SCD" $VARS
done
"$CS" --help >"$T/help.main" 2>&1
help_words "$T/help.main"
# shellcheck disable=SC2086
check "clipsearch.1 covers the exit codes of 'clipsearch --help'" covers "$SCD" $CODES
commands=$(sed -n '/^commands:/,/^$/p' "$T/help.main" | awk 'NR > 1 && NF {print $1}')
check "clipsearch --help lists commands" [ -n "$commands" ]
# shellcheck disable=SC2086
check "clipsearch.1 describes every command" covers "$SCD" $commands --version
"$IDX" --help >"$T/help.index" 2>&1
help_words "$T/help.index"
# shellcheck disable=SC2086
check "clipsearch-index.1 covers every option of its --help" covers "$SRC/docs/man/clipsearch-index.1.scd" $OPTS
# shellcheck disable=SC2086
check "clipsearch-index.1 covers every exit code ($(echo $CODES))" covers "$SRC/docs/man/clipsearch-index.1.scd" $CODES
# shellcheck disable=SC2086
check "clipsearch-index.1 covers every variable of its --help" covers "$SRC/docs/man/clipsearch-index.1.scd" $VARS
# Every environment variable the code reads is in clipsearch.1.
vars=$(grep -rhoE 'getenv\("[A-Z_]+"\)' "$SRC/src" "$SRC/query" "$SRC/indexer" | sed 's/getenv("\(.*\)")/\1/' | sort -u)
check "the code reads environment variables" [ -n "$vars" ]
# shellcheck disable=SC2086
check "clipsearch.1 lists every variable the code reads" covers "$SCD" $vars

# ---- bash ---------------------------------------------------------------------------------
BASHC=$SRC/completions/clipsearch.bash
bash -n "$BASHC" 2>"$T/bash.err"
check "bash completion parses: $(cat "$T/bash.err")" [ ! -s "$T/bash.err" ]
# complete WORD... : what bash offers for the last word (COMP_WORDS, COMP_CWORD
# set as bash sets them, then the function that `complete -p` names).
complete_bash() {
    bash -c '
        source "$1" || exit 1
        shift
        COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
        COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        spec=$(complete -p "${1##*/}") || exit 1
        fn=$(sed -n "s/.*-F \([^ ]*\) .*/\1/p" <<<"$spec")
        "$fn" "${1##*/}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" || exit 1
        printf "%s\n" "${COMPREPLY[@]}"' bash "$BASHC" "$@" 2>>"$T/bash.err"
}
export PATH=$BIN:$PATH
check "clipsearch mo<TAB> completes to model" [ "$(complete_bash clipsearch mo)" = model ]
check "clipsearch se<TAB>: search serve" [ "$(complete_bash clipsearch se | sort | tr '\n' ' ')" = "search serve " ]
all=$(complete_bash clipsearch "")
# shellcheck disable=SC2086
check "clipsearch <TAB> offers every command" bash -c 'for c; do grep -qx -- "$c" <<<"'"$all"'" || { echo "missing $c" >&2; exit 1; }; done' _ $commands
# The options a command's --help lists in its usage and option lines (not
# those its prose mentions, such as learn's 'clipsearch --classifier NAME').
option_lines() {  # CMD
    if [ "$1" = tags ]; then   # tag and tags share one help text
        grep 'clipsearch tags ' "$T/help.tags"
    else
        grep -E '^[[:space:]]*(-|\[|usage:)' "$T/help.$1"
    fi
}
for cmd in search stats export check duplicates serve embed tokenize preprocess learn classifiers forget classify tag tags; do
    option_lines "$cmd" >"$T/optlines.$cmd"
    help_words "$T/optlines.$cmd"
    offered=$(complete_bash clipsearch "$cmd" -)
    missing=
    for o in $OPTS; do
        case $o in --help|-h|--version) continue ;; esac
        grep -qx -- "$o" <<<"$offered" || missing="$missing $o"
    done
    check "clipsearch $cmd -<TAB> offers every option of its --help:$missing" [ -z "$missing" ]
done
check "clipsearch -<TAB> offers --version and the search options" \
    bash -c 'o=$(cat); grep -qx -- --version <<<"$o" && grep -qx -- --limit <<<"$o"' < <(complete_bash clipsearch -)
check "clipsearch model <TAB>: download list path" \
    [ "$(complete_bash clipsearch model "" | grep -v -- '^--' | tr '\n' ' ')" = "download list path " ]
check "clipsearch model path <TAB> offers the installed model" \
    grep -qx test/shapes <(complete_bash clipsearch model path "")
check "clipsearch --model te<TAB> offers the installed model" \
    grep -qx test/shapes <(complete_bash clipsearch --model te)
mkdir -p "$T/work/albums/2024" "$T/work/notes.txt.d"
: >"$T/work/album-file.txt"
check "clipsearch --in $T/work/al<TAB> offers folders only" \
    [ "$(complete_bash clipsearch --in "$T/work/al")" = "$T/work/albums" ]
check "clipsearch --in=$T/work/al<TAB> (bash splits at =) offers the folder" \
    [ "$(complete_bash clipsearch --in = "$T/work/al")" = "$T/work/albums" ]
check "clipsearch --image $T/work/album-<TAB> offers files" \
    grep -qx "$T/work/album-file.txt" <(complete_bash clipsearch --image "$T/work/album-")
check "clipsearch-index --fo<TAB> completes to --follow-symlinks" \
    [ "$(complete_bash clipsearch-index --fo)" = --follow-symlinks ]
help_words "$T/help.index"
offered=$(complete_bash clipsearch-index -)
missing=
for o in $OPTS; do grep -qx -- "$o" <<<"$offered" || missing="$missing $o"; done
check "clipsearch-index -<TAB> offers every option of its --help:$missing" [ -z "$missing" ]
check "clipsearch-index --model <TAB> offers the installed model" \
    grep -qx test/shapes <(complete_bash "$IDX" --model "")
check "clipsearch-index $T/work/alb<TAB> offers the folder" \
    [ "$(complete_bash clipsearch-index "$T/work/alb")" = "$T/work/albums" ]
check "the bash completion printed no errors: $(head -3 "$T/bash.err")" [ ! -s "$T/bash.err" ]

# ---- zsh, fish ------------------------------------------------------------------------------
if command -v zsh >/dev/null; then
    check "zsh completion parses" zsh -n "$SRC/completions/_clipsearch"
    out=$(zsh -fc 'fpath=("$1" $fpath); autoload -Uz compinit && compinit -u -d "$2";
                  print -r -- $_comps[clipsearch] $_comps[clipsearch-index]; autoload -Uz +X _clipsearch' \
          zsh "$SRC/completions" "$T/zcompdump" 2>&1)
    check "zsh completion registers for both programs and loads ($out)" [ "$out" = "_clipsearch _clipsearch" ]
    # Type LINE and Tab in an interactive zsh (zpty), then print what the
    # line became.
    zsh_complete() {
        timeout 30 zsh -f -c '
            zmodload zsh/zpty || exit 1
            zpty z zsh -f -i
            zpty -w z "fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -d $2; PS1=\"%% \"; unsetopt beep"
            zpty -w -n z "$3"$'"'"'\t'"'"'
            sleep 0.5
            zpty -w -n z $'"'"'\x01echo LINE: \n'"'"'
            out=
            for i in {1..100}; do   # up to 20 s on a loaded machine
                while zpty -r -t z line; do out+=$line; done
                [[ $out == *$'"'"'\nLINE: '"'"'*$'"'"'\n'"'"'* ]] && break
                sleep 0.2
            done
            zpty -d z
            print -r -- "$out" | tr -d "\r" | grep -a "^LINE: " | tail -1' \
            zsh "$SRC/completions" "$T/zcompdump" "$1" 2>/dev/null
    }
    if zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
        out=$(zsh_complete "clipsearch mo")
        check "zsh: clipsearch mo<TAB> completes to model ($out)" [ "$out" = "LINE: clipsearch model" ]
        out=$(zsh_complete "clipsearch-index --follow-s")
        check "zsh: clipsearch-index --follow-s<TAB> completes ($out)" [ "$out" = "LINE: clipsearch-index --follow-symlinks" ]
        out=$(zsh_complete "clipsearch --lim")
        check "zsh: clipsearch --lim<TAB> completes to --limit ($out)" [ "$out" = "LINE: clipsearch --limit" ]
        out=$(zsh_complete "clipsearch learn --pos")
        check "zsh: clipsearch learn --pos<TAB> completes to --positive ($out)" [ "$out" = "LINE: clipsearch learn --positive" ]
        out=$(zsh_complete "clipsearch model path te")
        check "zsh: clipsearch model path te<TAB> completes the installed model ($out)" \
            [ "$out" = "LINE: clipsearch model path test/shapes" ]
    fi
else
    echo "note: zsh not installed, its completion is not checked"
fi
if command -v fish >/dev/null; then
    check "fish completions parse" fish --no-execute "$SRC/completions/clipsearch.fish" "$SRC/completions/clipsearch-index.fish"
    out=$(fish -c "source '$SRC/completions/clipsearch.fish'; complete -C 'clipsearch mo'" 2>&1 | cut -f1)
    check "fish: clipsearch mo<TAB> completes to model ($out)" [ "$out" = model ]
    check "fish: clipsearch model path <TAB> offers the installed model" \
        grep -qx test/shapes <(fish -c "source '$SRC/completions/clipsearch.fish'; complete -C 'clipsearch model path '" 2>&1 | cut -f1)
    check "fish: clipsearch-index --fo<TAB> completes to --follow-symlinks" \
        grep -qx -- --follow-symlinks <(fish -c "source '$SRC/completions/clipsearch-index.fish'; complete -C 'clipsearch-index --fo'" 2>&1 | cut -f1)
else
    echo "note: fish not installed, its completions are not checked"
fi

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
