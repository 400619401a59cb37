ALTER TABLE workflow_edges DROP COLUMN IF EXISTS ordinal;
ALTER TABLE workflow_nodes DROP COLUMN IF EXISTS ordinal;
