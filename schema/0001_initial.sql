-- 0001_initial.sql: the first version of the clipsearch library schema.
-- Applied once, in a transaction, when PRAGMA user_version < 1.

-- Folders the user asked to index (absolute, symlinks resolved).
CREATE TABLE roots (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL UNIQUE,
    added_at    INTEGER NOT NULL,          -- unix seconds
    indexed_at  INTEGER                    -- end of the last complete walk
);

-- One row per photo file found under a root, including files that failed.
CREATE TABLE files (
    id          INTEGER PRIMARY KEY,       -- also the FAISS id
    path        TEXT NOT NULL UNIQUE,      -- absolute path
    size        INTEGER NOT NULL,          -- bytes, as seen by stat
    mtime_ns    INTEGER NOT NULL,          -- modification time, nanoseconds
    hash        TEXT,                      -- XXH3-128 of the content, hex
    format      TEXT,                      -- "jpeg", "png", "webp", "heif"
    width       INTEGER,                   -- upright size (EXIF orientation applied)
    height      INTEGER,
    orientation INTEGER,                   -- EXIF orientation 1..8
    taken       TEXT,                      -- EXIF capture time "YYYY-MM-DD HH:MM:SS"
    camera      TEXT,                      -- EXIF make + model
    error       TEXT,                      -- last error, NULL when it indexed fine
    indexed_at  INTEGER NOT NULL           -- unix seconds of the last (re)index
);
CREATE INDEX files_hash ON files(hash);
CREATE INDEX files_taken ON files(taken);

-- Models that produced embeddings.  generation changes whenever the set of
-- vectors of this model changes; the FAISS file records the generation it
-- was built from, so a stale file is recognised and rebuilt.
CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    dim         INTEGER NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,      -- XXH3-128 of config + weights, hex
    generation  INTEGER NOT NULL DEFAULT 0,
    index_type  TEXT NOT NULL DEFAULT 'Flat', -- FAISS index factory string
    created_at  INTEGER NOT NULL
);

-- One L2-normalised embedding per file and model: float32[dim], little endian.
CREATE TABLE embeddings (
    file_id     INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    vector      BLOB NOT NULL,
    PRIMARY KEY (model_id, file_id)
) WITHOUT ROWID;
CREATE INDEX embeddings_file ON embeddings(file_id);

-- Small key/value settings.
CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT
);
