-- Integrations (issue 13): a workspace's connections to outside systems, with their credentials
-- sealed at rest (src/secrets.rs), and the inbound events those systems send us.
--
-- Deleting an integration deletes its row (and its events): what a deletion must achieve is that
-- we no longer hold the credentials, and a soft-deleted row would keep the ciphertext around.

CREATE TABLE integrations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    provider           text NOT NULL CHECK (provider IN ('HTTP', 'STANDARD_WEBHOOKS', 'STRIPE')),
    name               text NOT NULL,
    status             text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ERROR', 'DISABLED')),
    -- Settings in clear (never a secret: those are sealed below).
    config             jsonb NOT NULL DEFAULT '{}',
    -- The credentials as JSON, sealed with the key `credentials_key_id` and bound to this row
    -- (context `integrations.credentials:<id>`).
    credentials_key_id text,
    credentials_sealed bytea,
    -- The secret inbound events are signed with (context `integrations.signing_secret:<id>`).
    signing_secret_key_id text,
    signing_secret_sealed bytea,
    last_sync_at       timestamptz,
    last_error         text,
    created_by_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((credentials_key_id IS NULL) = (credentials_sealed IS NULL)),
    CHECK ((signing_secret_key_id IS NULL) = (signing_secret_sealed IS NULL))
);
CREATE INDEX integrations_workspace_idx ON integrations (workspace_id, created_at, id);

-- Inbound events, recorded once per provider event id, then processed by the engine
-- (src/engine/inbound_events.rs): claimed when `next_attempt_at` is due, retried with backoff,
-- given up (next_attempt_at NULL, error kept) after the last attempt.
CREATE TABLE webhook_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    integration_id  uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    provider        text NOT NULL,
    external_id     text NOT NULL,
    type            text NOT NULL,
    payload         jsonb NOT NULL,
    verified        boolean NOT NULL,
    processed_at    timestamptz,
    error           text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_events_integration_external_key UNIQUE (integration_id, external_id)
);
CREATE INDEX webhook_events_integration_idx ON webhook_events (integration_id, created_at, id);
CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE processed_at IS NULL;
