-- 0003_classifiers.sql: personal classifiers (linear probes on the image
-- embeddings of one model; clipsearch/probe.h), made by `clipsearch learn`.

CREATE TABLE classifiers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    dim         INTEGER NOT NULL,
    weights     BLOB NOT NULL,             -- float64[dim] w, little endian
    bias        REAL NOT NULL,             -- b: p = sigmoid(w . x + b)
    c           REAL NOT NULL,             -- the regularisation constant C
    cv_folds    INTEGER NOT NULL,          -- 0: C not cross-validated
    cv_accuracy REAL,                      -- held-out accuracy at C (NULL: no CV)
    cv_log_loss REAL,
    prior_text  TEXT,                      -- --like TEXT, NULL for none
    prior_scale REAL,                      -- w0 = prior_scale * class vector
    n_positive  INTEGER NOT NULL,
    n_negative  INTEGER NOT NULL,
    random_negatives INTEGER NOT NULL,     -- 1: negatives drawn from the library
    created_at  INTEGER NOT NULL           -- unix seconds
);

-- The training set.  file_id is NULL for a photo that was not in the
-- library (embedded for training only) or has left it since.
CREATE TABLE classifier_examples (
    classifier_id INTEGER NOT NULL REFERENCES classifiers(id) ON DELETE CASCADE,
    file_id     INTEGER REFERENCES files(id) ON DELETE SET NULL,
    path        TEXT NOT NULL,             -- absolute, when trained
    label       INTEGER NOT NULL,          -- 1 positive, 0 negative
    PRIMARY KEY (classifier_id, path)
) WITHOUT ROWID;
CREATE INDEX classifier_examples_file ON classifier_examples(file_id);
