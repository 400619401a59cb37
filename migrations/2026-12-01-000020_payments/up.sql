-- Payments requested from a lead (issue 16): money in integer minor units of an ISO 4217
-- currency, never floats. MANUAL payments are moved by members; STRIPE ones by Stripe's signed
-- events, matched by the Checkout Session id (`provider_id`) or `metadata.payment_id`.
CREATE TABLE payments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    lead_id         uuid NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    description     text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    due_date        date,
    provider        text NOT NULL CHECK (provider IN ('MANUAL', 'STRIPE')),
    integration_id  uuid REFERENCES integrations(id) ON DELETE SET NULL,
    status          text NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING', 'PAID', 'FAILED', 'REFUNDED', 'CANCELLED')),
    provider_id     text CHECK (length(provider_id) <= 255),
    payment_url     text CHECK (length(payment_url) <= 2048),
    paid_at         timestamptz,
    refunded_at     timestamptz,
    -- A workflow's REQUEST_PAYMENT step: one payment per (execution, node), whatever retries.
    idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    created_by      uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (provider = 'STRIPE' OR integration_id IS NULL),
    UNIQUE (workspace_id, idempotency_key)
);
CREATE INDEX payments_workspace_idx ON payments (workspace_id, created_at, id);
CREATE INDEX payments_lead_idx ON payments (lead_id, created_at);
CREATE INDEX payments_provider_idx ON payments (integration_id, provider_id) WHERE provider_id IS NOT NULL;
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

ALTER TABLE lead_events DROP CONSTRAINT lead_events_type_check;
ALTER TABLE lead_events ADD CONSTRAINT lead_events_type_check CHECK (type IN (
    'LEAD_CREATED', 'FORM_SUBMITTED', 'STATUS_CHANGED', 'PRIORITY_CHANGED', 'NOTE_ADDED', 'ASSIGNED', 'UPDATED',
    'DELETED', 'RESTORED', 'EMAIL_SENT', 'WEBHOOK_SENT', 'WORKFLOW_STARTED', 'WORKFLOW_FINISHED', 'STAGE_CHANGED',
    'BOOKING_CREATED', 'BOOKING_RESCHEDULED', 'BOOKING_CANCELLED',
    'PAYMENT_REQUESTED', 'PAYMENT_RECEIVED', 'PAYMENT_FAILED', 'PAYMENT_REFUNDED', 'PAYMENT_CANCELLED'));
ALTER TABLE workflow_nodes DROP CONSTRAINT workflow_nodes_type_check;
ALTER TABLE workflow_nodes ADD CONSTRAINT workflow_nodes_type_check CHECK (type IN (
    'FORM_SUBMITTED', 'LEAD_STATUS_CHANGED', 'PIPELINE_STAGE_CHANGED', 'BOOKING_CREATED', 'PAYMENT_RECEIVED',
    'MANUAL', 'WEBHOOK', 'SCHEDULE', 'SEND_EMAIL', 'HTTP_REQUEST', 'UPDATE_LEAD', 'ADD_NOTE', 'DELAY', 'CONDITION',
    'APPROVAL', 'REQUEST_PAYMENT'));
