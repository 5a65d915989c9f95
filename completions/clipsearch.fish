# fish completion for clipsearch

function __clipsearch_models
    clipsearch model list 2>/dev/null | string replace -r '\s.*' ''
end

set -l cmds search stats export check duplicates model serve embed tokenize preprocess learn classifiers forget classify tag tags
complete -c clipsearch -f
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a search -d 'search the library (the default)'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a stats -d 'what the library holds'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a export -d 'embeddings and metadata for other tools'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a check -d 'verify the library (--repair fixes)'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a duplicates -d 'groups of identical and near-duplicate photos'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a model -d 'download and list CLIP models'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a serve -d 'the search page in a browser'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a embed -d 'CLIP embeddings as JSON lines'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a tokenize -d 'CLIP token ids as JSON arrays'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a preprocess -d 'the float32 tensor the model sees'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a learn -d 'train a personal classifier'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a classifiers -d 'list the personal classifiers'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a forget -d 'delete a personal classifier'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a classify -d 'zero-shot classification'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a tag -d 'tag the library from a vocabulary'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -a tags -d 'list the tags'
complete -c clipsearch -n "not __fish_seen_subcommand_from $cmds" -l version -d 'version and backends'

# Options several commands share.
complete -c clipsearch -n "not __fish_seen_subcommand_from model" -l db -r -a '(__fish_complete_directories)' -d 'library folder'
complete -c clipsearch -n "not __fish_seen_subcommand_from stats classifiers forget preprocess model" -l model -r -a '(__clipsearch_models; __fish_complete_directories)' -d 'model folder or installed model'
complete -c clipsearch -n "not __fish_seen_subcommand_from stats classifiers forget preprocess model tags" -l vocab -r -F -d 'tokenizer files'
complete -c clipsearch -n "not __fish_seen_subcommand_from stats export check duplicates classifiers forget preprocess model tags tokenize" -l threads -x -d 'threads'
complete -c clipsearch -n "not __fish_seen_subcommand_from stats export check duplicates classifiers forget preprocess model tags tokenize" -l precision -x -a 'auto bf16 fp32' -d 'number format of the matrix products'
complete -c clipsearch -s h -l help -d 'help'

# search (no command)
set -l search "not __fish_seen_subcommand_from stats export check duplicates model serve embed tokenize preprocess learn classifiers forget classify tag tags"
complete -c clipsearch -n $search -l image -r -F -d 'search by an example photo'
complete -c clipsearch -n $search -l add -r -F -d 'add a [W:]text or photo'
complete -c clipsearch -n $search -l subtract -r -F -d 'subtract a [W:]text or photo'
complete -c clipsearch -n $search -l classifier -x -d 'rank by a personal classifier'
complete -c clipsearch -n $search -s n -l limit -x -d 'number of results'
complete -c clipsearch -n "$search; or __fish_seen_subcommand_from tag" -l threshold -x -d 'lowest score'
complete -c clipsearch -n "$search; or __fish_seen_subcommand_from classify" -l in -r -a '(__fish_complete_directories)' -d 'only photos under DIR'
complete -c clipsearch -n $search -l after -x -d 'taken at or after DATE'
complete -c clipsearch -n $search -l before -x -d 'taken before DATE'
complete -c clipsearch -n $search -l tag -x -d 'only photos with this tag'
complete -c clipsearch -n $search -l paths -d 'absolute paths, one a line'
complete -c clipsearch -n $search -s 0 -l null -d 'NUL-separated paths'
complete -c clipsearch -n "$search; or __fish_seen_subcommand_from stats check duplicates classifiers learn classify" -l json -d "JSON output"
complete -c clipsearch -n $search -l timing -d 'where the time went'

complete -c clipsearch -n "__fish_seen_subcommand_from stats" -l failures -d 'list the files that failed'
# model
complete -c clipsearch -n "__fish_seen_subcommand_from model; and not __fish_seen_subcommand_from download list path" -a 'download list path'
complete -c clipsearch -n "__fish_seen_subcommand_from download path" -a '(__clipsearch_models)' -d 'installed model'
complete -c clipsearch -n "__fish_seen_subcommand_from download" -l dir -r -a '(__fish_complete_directories)' -d 'download into DIR'
complete -c clipsearch -n "__fish_seen_subcommand_from download" -l revision -x -d 'branch, tag or commit'
complete -c clipsearch -n "__fish_seen_subcommand_from download" -l endpoint -x -d 'hub server'
complete -c clipsearch -n "__fish_seen_subcommand_from download" -l no-hf-cache -d 'ignore the Hugging Face cache'
complete -c clipsearch -n "__fish_seen_subcommand_from download" -l no-verify -d 'accept files without a checksum'
complete -c clipsearch -n "__fish_seen_subcommand_from download" -s q -l quiet -d 'no progress'
complete -c clipsearch -n "__fish_seen_subcommand_from list" -l json -d 'JSON lines'
# serve
complete -c clipsearch -n "__fish_seen_subcommand_from serve" -l port -x -d 'TCP port'
complete -c clipsearch -n "__fish_seen_subcommand_from serve" -l listen -x -d 'address to listen on'
complete -c clipsearch -n "__fish_seen_subcommand_from serve" -l token -x -d 'access token'
complete -c clipsearch -n "__fish_seen_subcommand_from serve" -l require-token -d 'require the token on 127.0.0.1 too'
complete -c clipsearch -n "__fish_seen_subcommand_from serve" -l open -d 'open the page in a browser'
complete -c clipsearch -n "__fish_seen_subcommand_from serve" -l timeout -x -d 'idle seconds'
complete -c clipsearch -n "__fish_seen_subcommand_from serve" -l cache -r -a '(__fish_complete_directories)' -d 'thumbnail cache'
# embed, tokenize, preprocess
complete -c clipsearch -n "__fish_seen_subcommand_from embed" -l image -r -F -d 'a photo'
complete -c clipsearch -n "__fish_seen_subcommand_from embed" -l text -x -d 'a text'
complete -c clipsearch -n "__fish_seen_subcommand_from embed" -l no-normalize -d 'not unit length'
complete -c clipsearch -n "__fish_seen_subcommand_from embed preprocess" -l fast -d 'DCT-scaled JPEG decode'
complete -c clipsearch -n "__fish_seen_subcommand_from tokenize" -l context -x -d 'context length'
complete -c clipsearch -n "__fish_seen_subcommand_from tokenize" -l stdin -d 'strings from standard input'
complete -c clipsearch -n "__fish_seen_subcommand_from preprocess" -F
complete -c clipsearch -n "__fish_seen_subcommand_from preprocess" -s o -l output -r -F -d 'output file'
complete -c clipsearch -n "__fish_seen_subcommand_from preprocess" -l exact -d 'full decode (default)'
complete -c clipsearch -n "__fish_seen_subcommand_from preprocess" -l size -x -d 'output size'
# learn
complete -c clipsearch -n "__fish_seen_subcommand_from learn" -F
complete -c clipsearch -n "__fish_seen_subcommand_from learn" -l positive -r -F -d 'photos or folders showing it'
complete -c clipsearch -n "__fish_seen_subcommand_from learn" -l negative -r -F -d 'photos or folders that do not'
complete -c clipsearch -n "__fish_seen_subcommand_from learn" -l negatives -x -d 'number of random negatives'
complete -c clipsearch -n "__fish_seen_subcommand_from learn" -l like -x -d 'text prior'
complete -c clipsearch -n "__fish_seen_subcommand_from learn" -l C -x -d 'regularisation constant'
complete -c clipsearch -n "__fish_seen_subcommand_from learn" -l force -d 'replace a classifier'
# classify
complete -c clipsearch -n "__fish_seen_subcommand_from classify" -F
complete -c clipsearch -n "__fish_seen_subcommand_from classify" -l labels -x -d 'comma-separated labels'
complete -c clipsearch -n "__fish_seen_subcommand_from classify" -l labels-file -r -F -d 'one label a line'
complete -c clipsearch -n "__fish_seen_subcommand_from classify" -l templates -r -a 'photos imagenet bare' -F -d 'template set or file'
complete -c clipsearch -n "__fish_seen_subcommand_from classify" -l template -x -d 'one template with {}'
complete -c clipsearch -n "__fish_seen_subcommand_from classify" -l top -x -d 'labels per photo'
complete -c clipsearch -n "__fish_seen_subcommand_from classify" -l library -d 'the whole library'
# tag
complete -c clipsearch -n "__fish_seen_subcommand_from tag" -l vocabulary -r -a builtin -F -d 'vocabulary file or builtin'

# export, check, duplicates
complete -c clipsearch -n "__fish_seen_subcommand_from export" -l format -x -a 'npy jsonl' -d 'file format'
complete -c clipsearch -n "__fish_seen_subcommand_from check" -l repair -d 'fix what can be fixed'
complete -c clipsearch -n "__fish_seen_subcommand_from check" -l no-files -d 'do not look for every photo'
complete -c clipsearch -n "__fish_seen_subcommand_from duplicates" -l threshold -x -d 'lowest similarity'
complete -c clipsearch -n "__fish_seen_subcommand_from duplicates" -l in -r -a '(__fish_complete_directories)' -d 'only under DIR'
complete -c clipsearch -n "__fish_seen_subcommand_from duplicates" -l exact -d 'identical files only'
complete -c clipsearch -n $search -l exact -d 'score every photo'
complete -c clipsearch -n "__fish_seen_subcommand_from preprocess" -l rgb -d 'the decoded RGB as PPM'
