-- Teams and accounts (issue 12): invitations to a workspace by email, verified addresses, and
-- account mail (invitations first) in the email outbox beside workflow mail.

-- When the address was proven: accepting an invitation sent to it proves it.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

CREATE TABLE invitations (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email          text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
    role           text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
    -- SHA-256 of the link's token; the token itself is only in the email.
    token_hash     bytea NOT NULL,
    invited_by_id  uuid REFERENCES users (id) ON DELETE SET NULL,
    expires_at     timestamptz NOT NULL,
    sent_count     integer NOT NULL DEFAULT 1,
    accepted_at    timestamptz,
    accepted_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
-- One open invitation per address and workspace; an expired one is revoked when a new one is sent.
CREATE UNIQUE INDEX invitations_open_email_key ON invitations (workspace_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_workspace_idx ON invitations (workspace_id, created_at);
CREATE TRIGGER invitations_touch BEFORE UPDATE ON invitations FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

-- Account mail has no workspace (a password reset) or no execution. It goes out through the
-- engine's mail sender: claimed with SKIP LOCKED, `next_attempt_at` pushed forward while sending
-- so a crashed sender's mail is retried, and its secret (the link's token) erased once sent.
ALTER TABLE emails ALTER COLUMN workspace_id DROP NOT NULL;
ALTER TABLE emails ADD COLUMN kind text NOT NULL DEFAULT 'WORKFLOW' CHECK (kind IN ('WORKFLOW', 'ACCOUNT'));
ALTER TABLE emails ADD COLUMN html_content text;
ALTER TABLE emails ADD COLUMN secret text;
ALTER TABLE emails ADD COLUMN next_attempt_at timestamptz;
CREATE INDEX emails_account_due_idx ON emails (next_attempt_at) WHERE kind = 'ACCOUNT' AND status = 'PENDING';
