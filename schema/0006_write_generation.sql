-- 0006_write_generation.sql: each embedding records the write generation of
-- the transaction that stored it (the model's generation after that commit),
-- so a kill test (and `clipsearch check`) can tell that a photo committed
-- before a crash was neither lost nor re-encoded after it.  0 for rows
-- written before this schema.
ALTER TABLE embeddings ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
