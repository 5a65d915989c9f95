/* test_export.c — `clipsearch export` (clipsearch_library_export) round
 * trip: a synthetic library is exported as .npy + metadata and as JSON
 * lines by the real program; NumPy (python3) loads the .npy with its own
 * reader and compares every row, bit for bit, and every metadata field with
 * what the store holds (written here to a reference file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipsearch.h"
#include "testutil.h"
#include "../bench/synth_embeddings.h"

enum { N = 1500, D = 24 };

static const char PY[] =
    "import json, sys, numpy as np\n"
    "out, ref = sys.argv[1], sys.argv[2]\n"
    "n, d = %d, %d\n"
    "want = np.fromfile(ref + '/vectors.f32', dtype='<f4').reshape(n, d)\n"
    "meta = [json.loads(l) for l in open(ref + '/meta.jsonl')]\n"
    "x = np.load(out + '/npy/img_emb/img_emb_0.npy')\n"
    "assert x.dtype == np.float32 and x.shape == (n, d), (x.dtype, x.shape)\n"
    "assert np.array_equal(x, want), 'npy rows differ from the store'\n"
    "got = [json.loads(l) for l in open(out + '/npy/metadata/metadata_0.jsonl')]\n"
    "assert got == meta, 'metadata differs'\n"
    "rows = [json.loads(l) for l in open(out + '/jsonl/embeddings.jsonl')]\n"
    "assert len(rows) == n\n"
    "e = np.array([r.pop('embedding') for r in rows], dtype=np.float32)\n"
    "assert np.array_equal(e, want), 'jsonl embeddings differ'\n"
    "assert rows == meta, 'jsonl metadata differs'\n"
    "print('numpy: %%d x %%d rows match' %% x.shape)\n";

int main(void)
{
    char dir[1024], db[1200], out[1200], ref[1200], path[1400], script[1400];
    clipsearch_library *lib = NULL;
    clipsearch_library_model m;
    clipsearch_error err = {0};
    int64_t *ids = NULL, n = 0, id = 0;
    float *vecs = NULL;
    int nm = 0;
    synth s;
    FILE *f;
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
        printf("SKIP: /usr/bin/python3 with numpy is needed to check the .npy\n");
        return 77;
    }
    snprintf(dir, sizeof dir, "%s/lib", tu_tmpdir());
    snprintf(db, sizeof db, "%s/library.sqlite3", dir);
    snprintf(out, sizeof out, "%s/out", tu_tmpdir());
    snprintf(ref, sizeof ref, "%s/ref", tu_tmpdir());
    CHECK(clipsearch_library_open(dir, NULL, &lib, &err) == CLIPSEARCH_OK, "%s", err.message);
    clipsearch_library_close(lib);
    lib = NULL;
    CHECK(synth_init(&s, D, 50, 3) == 0, "synth");
    CHECK(synth_write_library(db, "synth", "0123456789abcdef0123456789abcdef", D, 0, N, NULL, &s,
                              &id, &err) == CLIPSEARCH_OK,
          "%s", err.message);
    synth_free(&s);

    /* The reference, from the library API: vectors by id, metadata. */
    CHECK(clipsearch_library_open(dir, NULL, &lib, &err) == CLIPSEARCH_OK &&
              clipsearch_library_models(lib, &m, 1, &nm, &err) == CLIPSEARCH_OK && nm == 1 &&
              clipsearch_library_get_embeddings(lib, &m, &ids, &vecs, &n, &err) ==
                  CLIPSEARCH_OK &&
              n == N,
          "reference: %s", err.message);
    mkdir(ref, 0755);
    snprintf(path, sizeof path, "%s/vectors.f32", ref);
    CHECK(vecs && tu_write_file(path, vecs, (size_t)n * D * sizeof *vecs) == 0, "write ref");
    for (int64_t i = 1; i < n; i++)
        CHECK(ids[i - 1] < ids[i], "get_embeddings is not ordered by id");
    snprintf(path, sizeof path, "%s/meta.jsonl", ref);
    f = fopen(path, "w");
    for (int64_t i = 0; f && i < n; i++) {
        clipsearch_library_file info;
        CHECK(clipsearch_library_get_file(lib, ids[i], &info, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        fprintf(f, "{\"id\":%lld,\"path\":\"%s\",\"width\":%d,\"height\":%d,\"taken\":",
                (long long)ids[i], info.path, info.width, info.height);
        if (info.taken[0])
            fprintf(f, "\"%s\"}\n", info.taken);
        else
            fputs("null}\n", f);
    }
    CHECK(f && fclose(f) == 0, "write meta");
    clipsearch_library_close(lib);

    /* The real program, both formats. */
    {
        char sub[1300];
        char *argv1[] = {(char *)tu_program("clipsearch"), "export", "--db", dir, sub, NULL};
        char *argv2[] = {(char *)tu_program("clipsearch"), "export", "--db", dir, "--format",
                         "jsonl", sub, NULL};
        char *argv3[] = {(char *)tu_program("clipsearch"), "export", "--db", dir, "--format",
                         "parquet", sub, NULL};
        char *argv4[] = {(char *)tu_program("clipsearch"), "export", "--db", dir, NULL};
        snprintf(sub, sizeof sub, "%s/npy", out);
        CHECK(tu_run(argv1, NULL) == 0, "export npy");
        snprintf(sub, sizeof sub, "%s/jsonl", out);
        CHECK(tu_run(argv2, NULL) == 0, "export jsonl");
        CHECK(tu_run(argv3, NULL) == 2, "a bad format is a usage error");
        CHECK(tu_run(argv4, NULL) == 2, "no folder is a usage error");
        snprintf(path, sizeof path, "%s/npy/img_emb/img_emb_0.npy.tmp", out);
        CHECK(access(path, F_OK) != 0, "temporary file left behind");
    }
    snprintf(script, sizeof script, "%s/check.py", tu_tmpdir());
    f = fopen(script, "w");
    CHECK(f != NULL, "script");
    if (f) {
        char cmd[4000];
        fprintf(f, PY, N, D);
        fclose(f);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s'", script, out, ref);
        CHECK(system(cmd) == 0, "numpy round trip failed");
    }
    clipsearch_free(ids);
    clipsearch_free(vecs);
    return tu_finish("test_export");
}
