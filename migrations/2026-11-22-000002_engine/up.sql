-- The execution engine's outbox and bookkeeping.

ALTER TABLE workflows ADD COLUMN activated_at timestamptz;

-- Email outbox (seed 000 EmailSent). One row per (execution, node): a step retried after a crash
-- finds its row instead of writing a second email.
CREATE TABLE emails (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    execution_id uuid REFERENCES workflow_executions (id) ON DELETE SET NULL,
    node_key     text,
    lead_id      uuid REFERENCES leads (id) ON DELETE SET NULL,
    to_address   text NOT NULL,
    subject      text NOT NULL,
    content      text NOT NULL,
    status       text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    transport    text,
    attempts     integer NOT NULL DEFAULT 0,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    UNIQUE (execution_id, node_key)
);
CREATE INDEX emails_workspace_idx ON emails (workspace_id, created_at);

-- The engine's NOTIFY channel carries only ids; rows are read through the db layer.
CREATE INDEX workflow_executions_status_idx ON workflow_executions (workspace_id, status);
