ALTER TABLE workflow_executions DROP COLUMN lease_losses;
