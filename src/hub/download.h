/* download.h — private parts of the hub downloader (download.c), exposed for
 * tests: the list of files a model needs. */
#ifndef CS_DOWNLOAD_H
#define CS_DOWNLOAD_H

typedef struct cs_model_file {
    const char *name;
    int required; /* 0: skipped when the repository does not have it (404) */
} cs_model_file;

/* The files `clipsearch model download` fetches, small ones first. */
extern const cs_model_file cs_model_files[];
extern const int cs_n_model_files;

#endif
