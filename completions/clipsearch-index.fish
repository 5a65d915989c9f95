# fish completion for clipsearch-index

function __clipsearch_index_models
    clipsearch model list 2>/dev/null | string replace -r '\s.*' ''
end

complete -c clipsearch-index -a '(__fish_complete_directories)'
complete -c clipsearch-index -l db -r -a '(__fish_complete_directories)' -d 'library folder'
complete -c clipsearch-index -l model -r -a '(__clipsearch_index_models; __fish_complete_directories)' -d 'model folder or installed model'
complete -c clipsearch-index -l threads -x -d 'worker threads'
complete -c clipsearch-index -l batch -x -d 'photos per batch and transaction'
complete -c clipsearch-index -l exclude -x -d 'skip matching files and folders'
complete -c clipsearch-index -l follow-symlinks -d 'follow symbolic links'
complete -c clipsearch-index -l index-type -x -a 'Flat HNSW32 IVF1024,PQ32' -d 'FAISS index factory string'
complete -c clipsearch-index -l precision -x -a 'auto bf16 fp32' -d 'number format of the matrix products'
complete -c clipsearch-index -l fast -d 'let the JPEG decoder shrink large photos (default)'
complete -c clipsearch-index -l exact -d 'decode every photo at full size'
complete -c clipsearch-index -l json -d 'JSON summary as the last line'
complete -c clipsearch-index -s q -l quiet -d 'no progress, no per-file warnings'
complete -c clipsearch-index -l watch -d 'keep the library in step with the folders'
complete -c clipsearch-index -l debounce -x -d 'quiet time before indexing changes (ms)'
complete -c clipsearch-index -l rescan-interval -x -d 'rescan period at the watch limit (s)'
complete -c clipsearch-index -l max-watches -x -d 'watch at most N folders'
complete -c clipsearch-index -l wait -d 'wait for another indexer to finish'
complete -c clipsearch-index -l version -d 'version and backends'
complete -c clipsearch-index -s h -l help -d 'help'
