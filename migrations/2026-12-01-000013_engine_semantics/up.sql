-- Default transitions: an edge taken only when no conditional edge out of its node matched.
ALTER TABLE workflow_edges ADD COLUMN is_default boolean NOT NULL DEFAULT false;
-- At most one per node; validation reports it by field first, this keeps the table honest.
CREATE UNIQUE INDEX workflow_edges_one_default ON workflow_edges (workflow_id, source_key) WHERE is_default;
