/* bench_search — builds a synthetic library of N photos (random normalised
 * embeddings written through the store, then the FAISS index saved by the
 * library) for a model folder, and times searches in process.
 *
 *   bench_search --model DIR --db DIR [--photos N] [--queries Q] [--query TEXT]
 *                [--index-type FACTORY]
 *
 * The library gets the model's real fingerprint, so `clipsearch --db DIR
 * --model DIR QUERY` searches it as it would a real one; scripts/bench-search.sh
 * times that whole process.  An existing library with N photos is reused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "clipsearch.h"
#include "store.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float gauss(void)
{
    /* sum of uniforms: close enough to Gaussian for random directions */
    float s = 0;
    for (int i = 0; i < 4; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        s += (float)(rng >> 40) / (float)(1 << 24) - 0.5f;
    }
    return s;
}

static int fail(const clipsearch_error *e)
{
    fprintf(stderr, "bench_search: %s\n", e->message);
    return 1;
}

int main(int argc, char **argv)
{
    const char *model_dir = NULL, *db = NULL, *query = "dog on a beach", *index_type = "Flat";
    int64_t photos = 100000;
    int queries = 20;
    clipsearch_error err = {0};
    clipsearch_library *lib = NULL;
    clipsearch_library_model lm;
    clipsearch_model *model = NULL;
    char fp[CLIPSEARCH_FINGERPRINT_SIZE], dbfile[4200];
    int dim;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_dir = argv[++i];
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--photos") && i + 1 < argc)
            photos = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
            queries = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--index-type") && i + 1 < argc)
            index_type = argv[++i];
        else if (!strcmp(argv[i], "--query") && i + 1 < argc)
            query = argv[++i];
        else {
            fprintf(stderr, "usage: bench_search --model DIR --db DIR [--photos N] "
                            "[--queries Q] [--query TEXT] [--index-type FACTORY]\n");
            return 2;
        }
    }
    if (!model_dir || !db) {
        fprintf(stderr, "bench_search: --model and --db are required\n");
        return 2;
    }
    {
        clipsearch_model_params mp = clipsearch_model_default_params();
        mp.towers = CLIPSEARCH_TOWER_TEXT;
        if (clipsearch_model_load(model_dir, &mp, &model, &err) != CLIPSEARCH_OK)
            return fail(&err);
        dim = clipsearch_model_get_info(model)->projection_dim;
        clipsearch_model_free(model);
    }
    if (clipsearch_model_fingerprint(model_dir, fp, &err) != CLIPSEARCH_OK)
        return fail(&err);
    /* create the library (schema) if needed */
    if (clipsearch_library_open(db, NULL, &lib, &err) != CLIPSEARCH_OK)
        return fail(&err);
    if (clipsearch_library_find_model(lib, model_dir, &lm, NULL) == CLIPSEARCH_OK &&
        lm.n_embeddings == photos) {
        printf("library %s already holds %lld photos\n", db, (long long)photos);
    } else {
        cs_store *st = NULL;
        cs_model_row row;
        float *v = malloc((size_t)dim * sizeof *v);
        double t0 = bench_now();
        const char *name = strrchr(model_dir, '/') ? strrchr(model_dir, '/') + 1 : model_dir;
        clipsearch_library_close(lib);
        lib = NULL;
        snprintf(dbfile, sizeof dbfile, "%s/library.sqlite3", db);
        if (!v || cs_store_open(dbfile, 0, &st, &err) != CLIPSEARCH_OK ||
            cs_store_begin_write(st, &err) != CLIPSEARCH_OK ||
            cs_store_model_get_or_add(st, name, dim, fp, index_type, &row, &err) != CLIPSEARCH_OK)
            return fail(&err);
        for (int64_t i = 0; i < photos; i++) {
            char path[64];
            cs_file_meta m;
            int64_t id = 0;
            double norm = 0;
            memset(&m, 0, sizeof m);
            snprintf(path, sizeof path, "/photos/%03lld/IMG_%06lld.jpg", (long long)(i / 1000),
                     (long long)i);
            m.path = path;
            m.size = 3000000 + i;
            m.mtime_ns = 1600000000000000000ll + i;
            m.format = "jpeg";
            m.width = 4000;
            m.height = 3000;
            m.orientation = 1;
            for (int j = 0; j < dim; j++)
                v[j] = gauss(), norm += (double)v[j] * v[j];
            for (int j = 0; j < dim; j++)
                v[j] = (float)(v[j] / sqrt(norm));
            if (cs_store_file_put(st, &m, &id, &err) != CLIPSEARCH_OK ||
                cs_store_embedding_put(st, id, row.id, v, dim, &err) != CLIPSEARCH_OK)
                return fail(&err);
            if ((i + 1) % 10000 == 0 &&
                (cs_store_commit(st, &err) != CLIPSEARCH_OK ||
                 cs_store_begin_write(st, &err) != CLIPSEARCH_OK))
                return fail(&err);
        }
        if (cs_store_model_bump(st, row.id, &err) != CLIPSEARCH_OK ||
            cs_store_commit(st, &err) != CLIPSEARCH_OK)
            return fail(&err);
        cs_store_close(st);
        free(v);
        printf("wrote %lld photos in %.1f s\n", (long long)photos, bench_now() - t0);
        if (clipsearch_library_open(db, NULL, &lib, &err) != CLIPSEARCH_OK ||
            clipsearch_library_find_model(lib, model_dir, &lm, &err) != CLIPSEARCH_OK)
            return fail(&err);
        t0 = bench_now();
        if (clipsearch_library_sync_index(lib, &lm, &err) != CLIPSEARCH_OK)
            return fail(&err);
        printf("built and saved the FAISS index in %.2f s\n", bench_now() - t0);
    }
    clipsearch_library_close(lib);

    /* In process: open once, then Q text queries. */
    {
        clipsearch_searcher_params sp = clipsearch_searcher_default_params();
        clipsearch_searcher *s = NULL;
        clipsearch_query_term term = {CLIPSEARCH_TERM_TEXT, query, 1.0f};
        clipsearch_searcher_times t;
        double t0 = bench_now(), first = 0, best = 1e9;
        sp.library = db;
        sp.model = model_dir;
        if (clipsearch_searcher_open(&sp, &s, &err) != CLIPSEARCH_OK)
            return fail(&err);
        for (int q = 0; q < queries; q++) {
            clipsearch_search_results *res = NULL;
            double a = bench_now(), d;
            if (clipsearch_searcher_search(s, &term, 1, NULL, &res, &err) != CLIPSEARCH_OK)
                return fail(&err);
            d = bench_now() - a;
            if (q == 0)
                first = bench_now() - t0;
            else if (d < best)
                best = d;
            clipsearch_search_results_free(res);
        }
        clipsearch_searcher_get_times(s, &t);
        printf("in process: open + first query %.1f ms (load %.1f ms); later queries best "
               "%.1f ms; over %d queries: embed %.1f ms, search %.1f ms per query\n",
               first * 1e3, t.load_seconds * 1e3, best * 1e3, queries,
               (t.embed_seconds - t.load_seconds) / queries * 1e3,
               t.search_seconds / queries * 1e3);
        clipsearch_searcher_close(s);
    }
    return 0;
}
