-- Issue 12 (sessions and security): password history and an append-only security log.

-- Hashes of a user's recent passwords, the current one included, so a change can refuse to go
-- back to any of the last few (seed 004's PasswordHistory). Older rows are pruned on change:
-- keeping every old hash would only give an attacker more to crack.
CREATE TABLE password_history (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_history_user_idx ON password_history (user_id, created_at);
-- Accounts made before this migration start their history with the password they have.
INSERT INTO password_history (user_id, password_hash, created_at)
    SELECT id, password_hash, updated_at FROM users;

-- Who did what to accounts, memberships and credentials. No foreign keys on purpose: an audit
-- row must outlive the user, key or workspace it names, and a cascade would have to delete or
-- update it. Account-level events (sign-in, password) have no workspace; a workspace's admins
-- see them for its members by joining workspace_members when they read.
CREATE TABLE security_events (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id     uuid,
    user_id          uuid,
    actor_user_id    uuid,
    actor_api_key_id uuid,
    type             text NOT NULL CHECK (type IN (
        'SIGN_IN', 'SIGN_IN_FAILED', 'LOCKED_OUT', 'PASSWORD_CHANGED', 'SESSION_REVOKED',
        'SIGNED_OUT_EVERYWHERE', 'ROLE_CHANGED', 'MEMBER_ADDED', 'MEMBER_REMOVED',
        'API_KEY_CREATED', 'API_KEY_REVOKED', 'INVITATION_SENT', 'INVITATION_ACCEPTED',
        'INVITATION_REVOKED', 'PASSWORD_RESET_REQUESTED', 'PASSWORD_RESET', 'EMAIL_VERIFIED')),
    ip               text,
    user_agent       text,
    data             jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- clock_timestamp, not now(): several events of one transaction still get distinct times,
    -- so newest-first lists them in the order they happened.
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX security_events_workspace_idx ON security_events (workspace_id, created_at, id);
CREATE INDEX security_events_account_idx ON security_events (user_id, created_at, id) WHERE workspace_id IS NULL;

-- Append-only: the application connects as the table's owner, so REVOKE would not bind it; a
-- trigger refuses changes whoever asks.
CREATE FUNCTION intakeflow_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER security_events_append_only BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION intakeflow_append_only();
CREATE TRIGGER security_events_no_truncate BEFORE TRUNCATE ON security_events
    FOR EACH STATEMENT EXECUTE FUNCTION intakeflow_append_only();
