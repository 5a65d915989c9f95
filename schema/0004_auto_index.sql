-- 0004_auto_index.sql: the vector index type is chosen by library size.
-- 'auto' (see vindex.h: float32 Flat for small libraries, an fp16 IVF scanned
-- in full, then searched approximately for large ones, always re-ranked in
-- float32) replaces the old default 'Flat', which was nobody's choice: before
-- this version every library was Flat unless --index-type said otherwise.
-- A type forced with clipsearch-index --index-type is kept.
UPDATE models SET index_type = 'auto', generation = generation + 1
    WHERE index_type = 'Flat';
