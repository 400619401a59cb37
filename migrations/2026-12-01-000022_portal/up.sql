-- Client portal links (issue 16): a magic link through which a lead's client sees only their
-- own submissions, payments and bookings. Like account tokens and booking manage tokens, only
-- the SHA-256 of the token is stored, so a database leak yields no usable link.
CREATE TABLE portal_links (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id       uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    lead_id            uuid NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    token_digest       bytea NOT NULL UNIQUE,
    expires_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    -- Null when a workflow made it (its SEND_PORTAL_LINK step).
    created_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
    -- A workflow's SEND_PORTAL_LINK step: one link per (execution, node), whatever retries.
    idempotency_key    text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_used_at       timestamptz,
    UNIQUE (workspace_id, idempotency_key)
);
CREATE INDEX portal_links_lead_idx ON portal_links (lead_id, created_at);

ALTER TABLE workflow_nodes DROP CONSTRAINT workflow_nodes_type_check;
ALTER TABLE workflow_nodes ADD CONSTRAINT workflow_nodes_type_check CHECK (type IN (
    'FORM_SUBMITTED', 'LEAD_STATUS_CHANGED', 'PIPELINE_STAGE_CHANGED', 'BOOKING_CREATED', 'PAYMENT_RECEIVED',
    'MANUAL', 'WEBHOOK', 'SCHEDULE', 'SEND_EMAIL', 'HTTP_REQUEST', 'UPDATE_LEAD', 'ADD_NOTE', 'DELAY', 'CONDITION',
    'APPROVAL', 'REQUEST_PAYMENT', 'SEND_PORTAL_LINK'));
