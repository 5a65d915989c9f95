-- 0002_classify.sql: zero-shot classification and automatic tags.
-- Applied once, in a transaction, when PRAGMA user_version < 2.

-- Text-tower embeddings of prompts ("a photo of a dog."), per model, so a
-- classifier is rebuilt without the text tower.  Keyed by the model's
-- fingerprint (not its id: the cache outlives a model's embeddings) and the
-- exact prompt text.  vector: float32[dim], little endian, NOT normalised.
CREATE TABLE text_embeddings (
    fingerprint TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    vector      BLOB NOT NULL,
    PRIMARY KEY (fingerprint, prompt)
) WITHOUT ROWID;

-- Automatic tags: per model and photo, with the probability the tag had
-- against the vocabulary plus the background set.
CREATE TABLE tags (
    model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    file_id     INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    probability REAL NOT NULL,
    PRIMARY KEY (model_id, file_id, tag)
) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(model_id, tag);
CREATE INDEX tags_file ON tags(file_id);

-- Photos classified for tags (with or without a tag kept), per model, so
-- the indexer tags only new ones.
CREATE TABLE tagged_files (
    model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    file_id     INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    PRIMARY KEY (model_id, file_id)
) WITHOUT ROWID;

-- The tag setting lives in meta: 'tag_vocabulary' (a file's absolute path
-- or 'builtin') and 'tag_threshold' (decimal).
