-- SEND_DOCUMENT workflow nodes: every earlier type (000022_portal's list) and the new one.
ALTER TABLE workflow_nodes DROP CONSTRAINT workflow_nodes_type_check;
ALTER TABLE workflow_nodes ADD CONSTRAINT workflow_nodes_type_check CHECK (type IN (
    'FORM_SUBMITTED', 'LEAD_STATUS_CHANGED', 'PIPELINE_STAGE_CHANGED', 'BOOKING_CREATED', 'PAYMENT_RECEIVED',
    'MANUAL', 'WEBHOOK', 'SCHEDULE', 'SEND_EMAIL', 'HTTP_REQUEST', 'UPDATE_LEAD', 'ADD_NOTE', 'DELAY', 'CONDITION',
    'APPROVAL', 'REQUEST_PAYMENT', 'SEND_PORTAL_LINK', 'SEND_DOCUMENT'));
