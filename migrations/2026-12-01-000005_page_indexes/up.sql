-- Child lists are read one page per parent with LATERAL (... ORDER BY time, id LIMIT n): each
-- needs an index on (parent, time, id) so the page is an index range scan that stops after n
-- rows, whatever the parent's list size; lists filtered by status get (parent, status, time, id).
CREATE INDEX workspace_members_page_idx ON workspace_members (workspace_id, created_at, id);
CREATE INDEX api_keys_page_idx ON api_keys (workspace_id, created_at, id);
DROP INDEX api_keys_workspace_idx;
CREATE INDEX forms_page_idx ON forms (workspace_id, created_at, id);
CREATE INDEX forms_status_page_idx ON forms (workspace_id, status, created_at, id);
DROP INDEX forms_workspace_status_idx;
CREATE INDEX form_submissions_lead_page_idx ON form_submissions (lead_id, submitted_at, id);
DROP INDEX form_submissions_lead_idx;
CREATE INDEX workflows_page_idx ON workflows (workspace_id, created_at, id);
CREATE INDEX workflows_status_page_idx ON workflows (workspace_id, status, created_at, id);
DROP INDEX workflows_workspace_idx;
CREATE INDEX workflow_executions_status_page_idx ON workflow_executions (workflow_id, status, created_at, id);
