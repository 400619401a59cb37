ALTER TABLE workflow_executions DROP COLUMN chain_workflow_ids, DROP COLUMN chain_depth;
DROP INDEX workflow_edges_one_default;
ALTER TABLE workflow_edges DROP COLUMN is_default;
