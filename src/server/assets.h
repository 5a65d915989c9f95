/* assets.h — private: the files of web/ compiled into the library at build
 * time by scripts/embed-web.cmake (the page needs nothing from disk). */
#ifndef CS_ASSETS_H
#define CS_ASSETS_H

#include <stddef.h>

typedef struct cs_web_asset {
    const char *path;         /* URL path: "/index.html", "/app.js" */
    const char *content_type;
    const unsigned char *data; /* [size], NUL-terminated for convenience */
    size_t size;
} cs_web_asset;

/* Ends with an entry whose path is NULL. */
extern const cs_web_asset cs_web_assets[];

#endif
