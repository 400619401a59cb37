DROP INDEX IF EXISTS workflow_executions_status_idx;
DROP TABLE IF EXISTS emails;
ALTER TABLE workflows DROP COLUMN IF EXISTS activated_at;
