-- 0005_precision.sql: the number format of the image tower's matrix
-- products that made each model's embeddings (issue 12): 'fp32', 'bf16',
-- or 'mixed' when indexing runs of both added photos; NULL: none yet.
-- Every embedding made before this migration was fp32.

ALTER TABLE models ADD COLUMN precision TEXT;
UPDATE models SET precision = 'fp32'
    WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = models.id);
