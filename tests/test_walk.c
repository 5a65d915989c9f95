/* test_walk.c — the folder walker: photo recognition by extension and magic
 * bytes, junk and hidden skipping, --exclude, symlinks and cycles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "walk.h"

static char root[600];

static void put(const char *rel, const void *data, size_t n)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CHECK(tu_write_file(p, data, n) == 0, "write %s", p);
}

static void dir(const char *rel)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CHECK(mkdir(p, 0755) == 0, "mkdir %s", p);
}

static int has(const cs_walk_result *r, const char *rel)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (size_t i = 0; i < r->n_files; i++)
        if (!strcmp(r->files[i].path, p))
            return 1;
    return 0;
}

int main(void)
{
    static const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F'};
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0};
    static const char webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
    static const char heic[] = "\0\0\0\x18" "ftypheic\0\0\0\0";
    static const char avif[] = "\0\0\0\x18" "ftypavif\0\0\0\0";
    static const char mp4[] = "\0\0\0\x18" "ftypisom\0\0\0\0";
    cs_walk_result r;
    cs_walk_params p;
    clipsearch_error err = {0};
    const char *ex[2];
    char link[800], target[800];

    snprintf(root, sizeof root, "%s/w", tu_tmpdir());
    CHECK(mkdir(root, 0755) == 0, "mkdir");
    CHECK(cs_sniff_photo(jpeg, sizeof jpeg) && !strcmp(cs_sniff_photo(jpeg, sizeof jpeg), "jpeg"), "jpeg");
    CHECK(cs_sniff_photo(png, sizeof png) != NULL, "png");
    CHECK(cs_sniff_photo((const unsigned char *)webp, 16) != NULL, "webp");
    CHECK(cs_sniff_photo((const unsigned char *)heic, 16) != NULL, "heic");
    CHECK(cs_sniff_photo((const unsigned char *)avif, 16) != NULL, "avif");
    CHECK(cs_sniff_photo((const unsigned char *)mp4, 16) == NULL, "mp4 is not a photo");
    CHECK(cs_sniff_photo(jpeg, 2) == NULL, "short input");
    CHECK(cs_has_photo_extension("A.JPG") && cs_has_photo_extension("x.heic") &&
              !cs_has_photo_extension("x.txt") && !cs_has_photo_extension(".jpg"),
          "extensions");

    put("a.jpg", jpeg, sizeof jpeg);
    put("noext_jpeg", jpeg, sizeof jpeg);       /* by magic */
    put("photo.dat", png, sizeof png);          /* by magic */
    put("clip.mp4", mp4, 16);                   /* not a photo */
    put("notes.txt", "hello", 5);
    put("empty.jpg", "", 0);                    /* by extension: decoder reports it */
    put("._a.jpg", jpeg, sizeof jpeg);          /* macOS junk */
    put(".hidden.jpg", jpeg, sizeof jpeg);
    dir(".thumbnails");
    put(".thumbnails/t.jpg", jpeg, sizeof jpeg);
    dir("@eaDir");
    put("@eaDir/t.jpg", jpeg, sizeof jpeg);
    dir(".git");
    put(".git/t.jpg", jpeg, sizeof jpeg);
    dir("System Volume Information");
    put("System Volume Information/t.jpg", jpeg, sizeof jpeg);
    dir("sub");
    put("sub/b.png", png, sizeof png);
    dir("sub/raw");
    put("sub/raw/c.webp", webp, 16);
    dir("skipme");
    put("skipme/d.jpg", jpeg, sizeof jpeg);
    /* A cycle and a link to a sibling. */
    snprintf(link, sizeof link, "%s/sub/loop", root);
    CHECK(symlink(root, link) == 0, "symlink");
    snprintf(link, sizeof link, "%s/sublink", root);
    snprintf(target, sizeof target, "%s/sub", root);
    CHECK(symlink(target, link) == 0, "symlink");
    snprintf(link, sizeof link, "%s/dangling.jpg", root);
    CHECK(symlink("/nonexistent/x.jpg", link) == 0, "symlink");

    memset(&p, 0, sizeof p);
    CHECK(cs_walk(root, &p, &r, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(r.n_files == 7, "%zu files", r.n_files);
    CHECK(has(&r, "a.jpg") && has(&r, "noext_jpeg") && has(&r, "photo.dat") &&
              has(&r, "empty.jpg") && has(&r, "sub/b.png") && has(&r, "sub/raw/c.webp") &&
              has(&r, "skipme/d.jpg"),
          "expected files missing");
    CHECK(!has(&r, "clip.mp4") && !has(&r, "notes.txt") && !has(&r, "._a.jpg") &&
              !has(&r, ".thumbnails/t.jpg") && !has(&r, "@eaDir/t.jpg") &&
              !has(&r, "System Volume Information/t.jpg"),
          "junk was listed");
    CHECK(!has(&r, "sublink/b.png"), "symlink followed without --follow-symlinks");
    for (size_t i = 1; i < r.n_files; i++)
        CHECK(strcmp(r.files[i - 1].path, r.files[i].path) < 0, "not sorted");
    cs_walk_result_free(&r);

    ex[0] = "skipme";
    ex[1] = "*.png";
    p.excludes = ex;
    p.n_excludes = 2;
    CHECK(cs_walk(root, &p, &r, &err) == CLIPSEARCH_OK, "%s", err.message);
    CHECK(!has(&r, "skipme/d.jpg") && !has(&r, "sub/b.png") && has(&r, "a.jpg"),
          "excludes not applied");
    cs_walk_result_free(&r);

    /* Following symlinks: the cycle is entered once, sub once. */
    p.n_excludes = 0;
    p.follow_symlinks = 1;
    CHECK(cs_walk(root, &p, &r, &err) == CLIPSEARCH_OK, "%s", err.message);
    {
        int n_b = 0;
        for (size_t i = 0; i < r.n_files; i++)
            n_b += strstr(r.files[i].path, "b.png") != NULL;
        CHECK(n_b == 1, "b.png listed %d times with a cycle", n_b);
    }
    cs_walk_result_free(&r);

    /* Missing root: error; single file root: listed. */
    snprintf(target, sizeof target, "%s/nope", root);
    CHECK(cs_walk(target, &p, &r, &err) == CLIPSEARCH_ERR_NOT_FOUND, "missing root");
    CHECK(strstr(err.message, "nope") != NULL, "message %s", err.message);
    snprintf(target, sizeof target, "%s/a.jpg", root);
    CHECK(cs_walk(target, &p, &r, &err) == CLIPSEARCH_OK && r.n_files == 1, "file root");
    cs_walk_result_free(&r);
    return tu_finish("test_walk");
}
