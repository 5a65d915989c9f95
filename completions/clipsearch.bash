# bash completion for clipsearch and clipsearch-index            -*- shell-script -*-
# Installed as .../bash-completion/completions/clipsearch and clipsearch-index.
# Needs no bash-completion helper functions (works sourced on its own).

_clipsearch_models()
{
    # First column of `clipsearch model list`: ORG/NAME of each installed model.
    local IFS=$' \t\n' repo _
    "${1:-clipsearch}" model list 2>/dev/null | while read -r repo _; do
        printf '%s\n' "$repo"
    done
}

_clipsearch_reply_words()   # _clipsearch_reply_words "WORDS" CUR
{
    local IFS=$' \t\n'
    COMPREPLY+=($(compgen -W "$1" -- "$2"))
}

_clipsearch_reply_files()   # _clipsearch_reply_files CUR [-d]
{
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    if [[ $2 == -d ]]; then
        COMPREPLY+=($(compgen -d -- "$1"))
    else
        COMPREPLY+=($(compgen -f -- "$1"))
    fi
}

_clipsearch_reply_models()  # _clipsearch_reply_models PROGRAM CUR [names-only]
{
    local IFS=$'\n' m
    for m in $(_clipsearch_models "$1"); do
        [[ $m == "$2"* ]] && COMPREPLY+=("$m")
    done
    [[ -z $3 ]] && _clipsearch_reply_files "$2" -d   # or a model folder
}

# The value of an option that takes one: completes it and returns 0.
_clipsearch_option_value()  # PROGRAM PREV CUR
{
    case $2 in
        --db|--in|--dir|--cache)
            _clipsearch_reply_files "$3" -d; return 0 ;;
        --model)
            _clipsearch_reply_models "$1" "$3"; return 0 ;;
        --image|--add|--subtract|-o|--output|--labels-file|--vocab|--positive|--negative)
            _clipsearch_reply_files "$3"; return 0 ;;
        --templates)
            _clipsearch_reply_words "photos imagenet bare" "$3"
            _clipsearch_reply_files "$3"; return 0 ;;
        --vocabulary)
            _clipsearch_reply_words "builtin" "$3"
            _clipsearch_reply_files "$3"; return 0 ;;
        --index-type)
            _clipsearch_reply_words "Flat HNSW32 IVF1024,PQ32" "$3"; return 0 ;;
        --precision)
            _clipsearch_reply_words "auto bf16 fp32" "$3"; return 0 ;;
        --format)
            _clipsearch_reply_words "npy jsonl" "$3"; return 0 ;;
        -n|--limit|--threshold|--after|--before|--classifier|--tag|--threads|\
        --port|--listen|--token|--timeout|--text|--context|--size|--like|--negatives|\
        --C|--labels|--template|--top|--revision|--endpoint|--batch|--exclude|\
        --debounce|--rescan-interval|--max-watches)
            return 0 ;;   # a value the user types
    esac
    return 1
}

# Sets cur and prev (the caller's locals); bash splits "--db=DIR" into
# "--db" "=" "DIR", which is completed as "--db DIR".
_clipsearch_cur_prev()
{
    cur=${COMP_WORDS[COMP_CWORD]} prev=
    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
    if [[ $cur == = ]] && (( COMP_CWORD > 0 )); then
        cur=
    elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    fi
    if [[ ${COMP_WORDS[COMP_CWORD]} == = ]]; then
        prev=${COMP_WORDS[COMP_CWORD-1]}
    fi
}

_clipsearch()
{
    local cur prev prog=${COMP_WORDS[0]}
    _clipsearch_cur_prev
    COMPREPLY=()

    local commands="search stats export check duplicates model serve embed tokenize
        preprocess learn classifiers forget classify tag tags help"
    local db="--db --json -h --help"
    local search="--image --add --subtract --classifier -n --limit --threshold --in
        --after --before --tag --exact --paths -0 --null --json --timing --db --model
        --vocab --threads --precision -h --help"
    local cmd=search
    if (( COMP_CWORD == 1 )); then
        if [[ $cur == -* ]]; then
            _clipsearch_reply_words "--version --help $search" "$cur"
        else
            _clipsearch_reply_words "$commands" "$cur"
        fi
        return 0
    fi
    case ${COMP_WORDS[1]} in
        search|stats|export|check|duplicates|model|serve|embed|tokenize|preprocess|learn|\
        classifiers|forget|classify|tag|tags)
            cmd=${COMP_WORDS[1]} ;;
    esac

    _clipsearch_option_value "$prog" "$prev" "$cur" && return 0

    local opts=
    case $cmd in
        search) opts=$search ;;
        stats) opts="--db --json --failures -h --help" ;;
        export) opts="--db --format --model -h --help" ;;
        check) opts="--repair --db --json --no-files -h --help" ;;
        duplicates) opts="--threshold --in --exact --json --db --model -h --help" ;;
        classifiers) opts=$db ;;
        forget) opts="--db -h --help" ;;
        serve) opts="--db --model --vocab --port --listen --token --require-token --open
            --threads --precision --timeout --cache -h --help" ;;
        embed) opts="--model --image --text --no-normalize --fast --vocab --threads --precision -h --help" ;;
        tokenize) opts="--model --vocab --context --stdin -h --help" ;;
        preprocess) opts="-o --output --exact --fast --size --rgb -h --help" ;;
        learn) opts="--positive --negative --negatives --like --C --force --json --db
            --model --vocab --threads --precision -h --help" ;;
        classify) opts="--labels --labels-file --templates --template --top --json
            --library --in --db --model --vocab --threads --precision -h --help" ;;
        tag) opts="--vocabulary --threshold --db --model --vocab --threads --precision -h --help" ;;
        tags) opts="--db --model -h --help" ;;
        model)
            if (( COMP_CWORD == 2 )); then
                _clipsearch_reply_words "download list path --help" "$cur"
                return 0
            fi
            case ${COMP_WORDS[2]} in
                download)
                    if [[ $cur == -* ]]; then
                        _clipsearch_reply_words "--dir --revision --endpoint --no-hf-cache
                            --no-verify -q --quiet" "$cur"
                    else
                        _clipsearch_reply_models "$prog" "$cur"
                    fi ;;
                list) _clipsearch_reply_words "--json" "$cur" ;;
                path) (( COMP_CWORD == 3 )) && _clipsearch_reply_models "$prog" "$cur" names-only ;;
            esac
            return 0 ;;
    esac
    if [[ $cur == -* ]]; then
        _clipsearch_reply_words "$opts" "$cur"
    else
        # Photos and folders are what the other arguments name (classify,
        # learn's --positive lists, preprocess); a search's words complete
        # to nothing useful, so files do no harm there.
        case $cmd in
            classify|learn|preprocess|embed) _clipsearch_reply_files "$cur" ;;
            export) _clipsearch_reply_files "$cur" -d ;;
        esac
    fi
    return 0
}

_clipsearch_index()
{
    local cur prev
    _clipsearch_cur_prev
    COMPREPLY=()
    local prog=clipsearch
    # The clipsearch next to this clipsearch-index lists the models.
    [[ ${COMP_WORDS[0]} == */* ]] && prog=${COMP_WORDS[0]%/*}/clipsearch
    _clipsearch_option_value "$prog" "$prev" "$cur" && return 0
    if [[ $cur == -* ]]; then
        _clipsearch_reply_words "--db --model --threads --batch --exclude --follow-symlinks
            --index-type --precision --fast --exact --json -q --quiet --watch --debounce
            --rescan-interval --max-watches --wait --version -h --help" "$cur"
    else
        _clipsearch_reply_files "$cur" -d
    fi
    return 0
}

complete -F _clipsearch clipsearch
complete -F _clipsearch_index clipsearch-index
