ALTER TABLE workflow_nodes DROP CONSTRAINT workflow_nodes_type_check;
ALTER TABLE workflow_nodes ADD CONSTRAINT workflow_nodes_type_check CHECK (type IN (
    'FORM_SUBMITTED', 'LEAD_STATUS_CHANGED', 'MANUAL', 'WEBHOOK', 'SCHEDULE',
    'SEND_EMAIL', 'HTTP_REQUEST', 'UPDATE_LEAD', 'ADD_NOTE', 'DELAY', 'CONDITION', 'APPROVAL'));
DELETE FROM lead_events WHERE type = 'STAGE_CHANGED';
ALTER TABLE lead_events DROP CONSTRAINT lead_events_type_check;
ALTER TABLE lead_events ADD CONSTRAINT lead_events_type_check CHECK (type IN (
    'LEAD_CREATED', 'FORM_SUBMITTED', 'STATUS_CHANGED', 'PRIORITY_CHANGED', 'NOTE_ADDED', 'ASSIGNED', 'UPDATED',
    'DELETED', 'RESTORED', 'EMAIL_SENT', 'WEBHOOK_SENT', 'WORKFLOW_STARTED', 'WORKFLOW_FINISHED'));
DROP TRIGGER leads_follow_status ON leads;
DROP TRIGGER leads_place_new ON leads;
DROP FUNCTION intakeflow_follow_status();
DROP TRIGGER workspaces_default_pipeline ON workspaces;
DROP FUNCTION intakeflow_workspace_default_pipeline();
DROP FUNCTION intakeflow_create_default_pipeline(uuid);
DROP TABLE lead_placements;
DROP TABLE pipeline_stages;
DROP TABLE pipelines;
