-- Outbound webhooks (issue 13): endpoints partners register, the event outbox written in the
-- transaction of the change, one delivery per (event, endpoint) claimed by the delivery worker
-- like executions are (SKIP LOCKED, leases), and every attempt's record.

CREATE TABLE webhook_endpoints (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id            uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url                     text NOT NULL,
    description             text NOT NULL DEFAULT '',
    event_types             text[] NOT NULL,
    -- The signing secret, sealed (src/secrets.rs) under the named key.
    secret_key_id           text NOT NULL,
    secret_sealed           bytea NOT NULL,
    -- After a rotation the old secret signs too, until it expires.
    previous_secret_key_id  text,
    previous_secret_sealed  bytea,
    previous_secret_expires_at timestamptz,
    disabled_at             timestamptz,
    disabled_reason         text,
    -- The first failed attempt since the last success: five days of nothing but failures
    -- disable the endpoint.
    failing_since           timestamptz,
    created_by_id           uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_workspace_idx ON webhook_endpoints (workspace_id, created_at, id);

-- Events a workspace produced while it had an endpoint subscribed to their type (replayable).
CREATE TABLE outbound_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type         text NOT NULL,
    -- The exact body every delivery sends, {type, timestamp, data}: json, not jsonb, so the text
    -- (and its key order) is kept byte for byte.
    payload      json NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbound_events_workspace_idx ON outbound_events (workspace_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id     uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         uuid NOT NULL REFERENCES outbound_events (id) ON DELETE CASCADE,
    status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz DEFAULT now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    last_http_status integer,
    last_duration_ms integer,
    last_response    text,
    last_error       text,
    last_attempt_at  timestamptz,
    -- A redelivery or replay names the delivery or replay it repeats.
    trigger          text NOT NULL DEFAULT 'EVENT' CHECK (trigger IN ('EVENT', 'TEST', 'REDELIVERY', 'REPLAY')),
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at     timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    http_status   integer,
    duration_ms   integer NOT NULL,
    -- At most 4 KiB of what the receiver answered.
    response      text,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (delivery_id, attempt)
);

ALTER TABLE security_events DROP CONSTRAINT security_events_type_check;
ALTER TABLE security_events ADD CONSTRAINT security_events_type_check CHECK (type IN (
    'SIGN_IN', 'SIGN_IN_FAILED', 'LOCKED_OUT', 'PASSWORD_CHANGED', 'SESSION_REVOKED',
    'SIGNED_OUT_EVERYWHERE', 'ROLE_CHANGED', 'MEMBER_ADDED', 'MEMBER_REMOVED',
    'API_KEY_CREATED', 'API_KEY_REVOKED', 'INVITATION_SENT', 'INVITATION_ACCEPTED',
    'INVITATION_REVOKED', 'PASSWORD_RESET_REQUESTED', 'PASSWORD_RESET', 'EMAIL_VERIFIED',
    'WEBHOOK_ENDPOINT_CREATED', 'WEBHOOK_ENDPOINT_DELETED', 'WEBHOOK_SECRET_ROTATED',
    'WEBHOOK_ENDPOINT_DISABLED', 'WEBHOOK_ENDPOINT_ENABLED'));
