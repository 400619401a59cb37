DROP INDEX workflow_edges_one_default;
ALTER TABLE workflow_edges DROP COLUMN is_default;
