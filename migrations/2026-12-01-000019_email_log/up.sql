-- Email templates and the mail log (issue 16).

-- A workspace's email templates: subject and bodies with the SEND_EMAIL variables
-- (`{{ lead.name }}`); the HTML is rendered with auto-escaping. `text` NULL: derived from the HTML.
CREATE TABLE email_templates (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    subject      text NOT NULL,
    html         text NOT NULL,
    text         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_templates_workspace_idx ON email_templates (workspace_id, created_at);

-- Delivery status: QUEUED → SENT → DELIVERED / BOUNCED / FAILED; LOGGED is a message the log
-- transport took (nothing left the machine, so it is never DELIVERED). Old rows: PENDING was
-- QUEUED, and a SENT through the log transport was only logged.
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
DROP INDEX emails_account_due_idx;
UPDATE emails SET status = 'QUEUED' WHERE status = 'PENDING';
UPDATE emails SET status = 'LOGGED' WHERE status = 'SENT' AND transport = 'log';
ALTER TABLE emails ALTER COLUMN status SET DEFAULT 'QUEUED';
ALTER TABLE emails ADD CONSTRAINT emails_status_check
    CHECK (status IN ('QUEUED', 'SENT', 'LOGGED', 'DELIVERED', 'BOUNCED', 'FAILED'));
CREATE INDEX emails_account_due_idx ON emails (next_attempt_at) WHERE kind = 'ACCOUNT' AND status = 'QUEUED';

-- The Message-ID we sent (without `<…@intakeflow>`): what a provider's delivery events name.
ALTER TABLE emails ADD COLUMN message_id text;
UPDATE emails SET message_id = execution_id::text || ':' || node_key
 WHERE kind = 'WORKFLOW' AND execution_id IS NOT NULL AND node_key IS NOT NULL;
CREATE UNIQUE INDEX emails_message_id_key ON emails (message_id);
ALTER TABLE emails ADD COLUMN template_id uuid REFERENCES email_templates (id) ON DELETE SET NULL;
ALTER TABLE emails ADD COLUMN delivered_at timestamptz;
ALTER TABLE emails ADD COLUMN bounced_at timestamptz;
ALTER TABLE emails ADD COLUMN failed_at timestamptz;
ALTER TABLE emails ADD COLUMN opened_at timestamptz;
-- SHA-256 of the open-tracking pixel's token (only when the workspace tracks opens).
ALTER TABLE emails ADD COLUMN open_token_hash bytea;
CREATE UNIQUE INDEX emails_open_token_key ON emails (open_token_hash) WHERE open_token_hash IS NOT NULL;
CREATE INDEX emails_lead_idx ON emails (lead_id, created_at) WHERE lead_id IS NOT NULL;
