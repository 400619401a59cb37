-- The whole core model (DESIGN.md section 3). Later migrations add behaviour, not churn.
-- Every tenant-owned row carries workspace_id so the schema can be distributed by workspace.

CREATE FUNCTION intakeflow_touch_updated_at() RETURNS trigger AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- ───────────── identity and tenancy ─────────────

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE workspaces (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug         text NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    intake_email text,
    plan         text NOT NULL DEFAULT 'free',
    settings     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX workspaces_slug_key ON workspaces (slug);
CREATE TRIGGER workspaces_touch BEFORE UPDATE ON workspaces FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE workspace_members (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, user_id)
);
CREATE INDEX workspace_members_user_idx ON workspace_members (user_id);
CREATE TRIGGER workspace_members_touch BEFORE UPDATE ON workspace_members FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

-- Bearer tokens are stored only as SHA-256 digests; the clear token exists once, in the response.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL,
    user_agent   text,
    ip           text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role          text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
    token_prefix  text NOT NULL,
    token_hash    bytea NOT NULL,
    created_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    expires_at    timestamptz,
    revoked_at    timestamptz
);
CREATE UNIQUE INDEX api_keys_token_hash_key ON api_keys (token_hash);
CREATE INDEX api_keys_workspace_idx ON api_keys (workspace_id, created_at);

-- Sign-in protection (seed 004 AuthAttempt / AccountLockout).
CREATE TABLE auth_attempts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    success    boolean NOT NULL,
    ip         text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_attempts_email_idx ON auth_attempts (email, created_at);

CREATE TABLE account_lockouts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL,
    failed_attempts integer NOT NULL,
    locked_until    timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_lockouts_email_idx ON account_lockouts (email, locked_until);

-- ───────────── forms and intake ─────────────

CREATE TABLE forms (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug          text NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    description   text,
    status        text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'PUBLISHED', 'ARCHIVED')),
    settings      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    archived_at   timestamptz,
    UNIQUE (workspace_id, slug),
    UNIQUE (workspace_id, id)
);
CREATE INDEX forms_workspace_status_idx ON forms (workspace_id, status, created_at);
CREATE TRIGGER forms_touch BEFORE UPDATE ON forms FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE form_fields (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL,
    form_id      uuid NOT NULL,
    key          text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    label        text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    type         text NOT NULL CHECK (type IN ('TEXT', 'TEXTAREA', 'EMAIL', 'PHONE', 'NUMBER', 'DATE', 'URL', 'SELECT', 'MULTISELECT', 'CHECKBOX')),
    required     boolean NOT NULL DEFAULT false,
    placeholder  text,
    help_text    text,
    options      jsonb NOT NULL DEFAULT '[]'::jsonb,
    validation   jsonb NOT NULL DEFAULT '{}'::jsonb,
    position     integer NOT NULL,
    identifies_lead boolean NOT NULL DEFAULT false CHECK (NOT identifies_lead OR type = 'EMAIL'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (form_id, key),
    FOREIGN KEY (workspace_id, form_id) REFERENCES forms (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX form_fields_form_idx ON form_fields (form_id, position);
CREATE UNIQUE INDEX form_fields_one_identity ON form_fields (form_id) WHERE identifies_lead;
CREATE TRIGGER form_fields_touch BEFORE UPDATE ON form_fields FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

-- ───────────── leads ─────────────

CREATE TABLE leads (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    source_form_id uuid REFERENCES forms (id) ON DELETE SET NULL,
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    name           text,
    phone          text,
    company        text,
    status         text NOT NULL DEFAULT 'NEW' CHECK (status IN ('NEW', 'CONTACTED', 'QUALIFIED', 'BOOKED', 'PROPOSAL_SENT', 'WON', 'LOST', 'UNRESPONSIVE')),
    priority       text NOT NULL DEFAULT 'MEDIUM' CHECK (priority IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    assignee_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    UNIQUE (workspace_id, id)
);
-- One live lead per address; a soft-deleted lead frees the address.
CREATE UNIQUE INDEX leads_workspace_email_live ON leads (workspace_id, lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX leads_workspace_created_idx ON leads (workspace_id, created_at, id);
CREATE INDEX leads_workspace_status_idx ON leads (workspace_id, status);
CREATE INDEX leads_assignee_idx ON leads (assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX leads_source_form_idx ON leads (source_form_id) WHERE source_form_id IS NOT NULL;
CREATE TRIGGER leads_touch BEFORE UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE form_submissions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id     uuid NOT NULL,
    form_id          uuid NOT NULL,
    lead_id          uuid NOT NULL,
    data             jsonb NOT NULL,
    ip               text,
    user_agent       text,
    idempotency_key  text,
    request_digest   text,
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, form_id) REFERENCES forms (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX form_submissions_idempotency_key ON form_submissions (form_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX form_submissions_form_idx ON form_submissions (form_id, submitted_at, id);
CREATE INDEX form_submissions_lead_idx ON form_submissions (lead_id, submitted_at);

CREATE TABLE lead_field_values (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL,
    lead_id       uuid NOT NULL,
    form_field_id uuid NOT NULL REFERENCES form_fields (id) ON DELETE CASCADE,
    value         jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (lead_id, form_field_id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);
CREATE TRIGGER lead_field_values_touch BEFORE UPDATE ON lead_field_values FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

-- ───────────── workflows ─────────────

CREATE TABLE workflows (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description        text,
    status             text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'ACTIVE', 'PAUSED', 'ARCHIVED')),
    current_version_id uuid,
    webhook_token_hash bytea,
    created_by_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    archived_at        timestamptz,
    UNIQUE (workspace_id, id)
);
CREATE INDEX workflows_workspace_idx ON workflows (workspace_id, status, created_at);
CREATE UNIQUE INDEX workflows_webhook_token_key ON workflows (webhook_token_hash) WHERE webhook_token_hash IS NOT NULL;
CREATE TRIGGER workflows_touch BEFORE UPDATE ON workflows FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE workflow_nodes (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL,
    workflow_id  uuid NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
    type         text NOT NULL CHECK (type IN ('FORM_SUBMITTED', 'LEAD_STATUS_CHANGED', 'MANUAL', 'WEBHOOK', 'SCHEDULE',
                                              'SEND_EMAIL', 'HTTP_REQUEST', 'UPDATE_LEAD', 'ADD_NOTE', 'DELAY', 'CONDITION', 'APPROVAL')),
    name         text NOT NULL DEFAULT '',
    config       jsonb NOT NULL DEFAULT '{}'::jsonb,
    position_x   double precision NOT NULL DEFAULT 0,
    position_y   double precision NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, key),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
CREATE TRIGGER workflow_nodes_touch BEFORE UPDATE ON workflow_nodes FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE workflow_edges (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL,
    workflow_id   uuid NOT NULL,
    source_key    text NOT NULL,
    target_key    text NOT NULL,
    source_handle text NOT NULL DEFAULT 'default' CHECK (source_handle IN ('default', 'true', 'false')),
    condition     jsonb,
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (source_key <> target_key),
    UNIQUE (workflow_id, source_key, target_key, source_handle),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workflow_id, source_key) REFERENCES workflow_nodes (workflow_id, key) ON DELETE CASCADE,
    FOREIGN KEY (workflow_id, target_key) REFERENCES workflow_nodes (workflow_id, key) ON DELETE CASCADE
);
CREATE INDEX workflow_edges_workflow_idx ON workflow_edges (workflow_id);

-- Frozen on activation; executions run the version they started with.
CREATE TABLE workflow_versions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL,
    workflow_id   uuid NOT NULL,
    version       integer NOT NULL CHECK (version > 0),
    graph         jsonb NOT NULL,
    created_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, version),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
ALTER TABLE workflows ADD FOREIGN KEY (current_version_id) REFERENCES workflow_versions (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;

-- ───────────── executions ─────────────

CREATE TABLE workflow_executions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id     uuid NOT NULL,
    workflow_id      uuid NOT NULL,
    version_id       uuid NOT NULL REFERENCES workflow_versions (id),
    lead_id          uuid REFERENCES leads (id) ON DELETE SET NULL,
    submission_id    uuid REFERENCES form_submissions (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    trigger_type     text NOT NULL,
    trigger_data     jsonb NOT NULL DEFAULT '{}'::jsonb,
    context          jsonb NOT NULL DEFAULT '{}'::jsonb,
    output           jsonb,
    error            text,
    simulate         boolean NOT NULL DEFAULT false,
    idempotency_key  text,
    attempts         integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    run_at           timestamptz NOT NULL DEFAULT now(),
    created_by_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX workflow_executions_idempotency_key ON workflow_executions (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- The claim query scans only runnable work, oldest due first.
CREATE INDEX workflow_executions_runnable_idx ON workflow_executions (run_at) WHERE status IN ('QUEUED', 'WAITING');
CREATE INDEX workflow_executions_lease_idx ON workflow_executions (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX workflow_executions_workflow_idx ON workflow_executions (workflow_id, created_at, id);
CREATE INDEX workflow_executions_lead_idx ON workflow_executions (lead_id) WHERE lead_id IS NOT NULL;
CREATE TRIGGER workflow_executions_touch BEFORE UPDATE ON workflow_executions FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE execution_steps (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL,
    execution_id    uuid NOT NULL,
    node_key        text NOT NULL,
    node_type       text NOT NULL,
    step_number     integer NOT NULL,
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'SKIPPED')),
    input           jsonb,
    output          jsonb,
    error           text,
    attempt         integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    completed_at    timestamptz,
    UNIQUE (execution_id, step_number),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, execution_id) REFERENCES workflow_executions (workspace_id, id) ON DELETE CASCADE
);

-- Lead events reference the execution that acted, when one did.
CREATE TABLE lead_events (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id       uuid NOT NULL,
    lead_id            uuid NOT NULL,
    type               text NOT NULL CHECK (type IN ('LEAD_CREATED', 'FORM_SUBMITTED', 'STATUS_CHANGED', 'PRIORITY_CHANGED', 'NOTE_ADDED',
                                                    'ASSIGNED', 'UPDATED', 'DELETED', 'RESTORED', 'EMAIL_SENT', 'WEBHOOK_SENT',
                                                    'WORKFLOW_STARTED', 'WORKFLOW_FINISHED')),
    data               jsonb NOT NULL DEFAULT '{}'::jsonb,
    actor_user_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_api_key_id   uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    actor_execution_id uuid REFERENCES workflow_executions (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_events_lead_idx ON lead_events (lead_id, created_at DESC, id DESC);
CREATE INDEX lead_events_workspace_idx ON lead_events (workspace_id, created_at);

-- The audit trail is append-only: refuse edits at the database, not only in code.
CREATE FUNCTION intakeflow_forbid_lead_event_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'lead_events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER lead_events_append_only BEFORE UPDATE ON lead_events FOR EACH ROW EXECUTE FUNCTION intakeflow_forbid_lead_event_update();

-- High volume: range-partitioned by month; the id is the stream cursor.
CREATE TABLE execution_logs (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id uuid NOT NULL,
    execution_id uuid NOT NULL,
    step_id      uuid,
    level        text NOT NULL CHECK (level IN ('DEBUG', 'INFO', 'WARN', 'ERROR')),
    message      text NOT NULL,
    data         jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at),
    FOREIGN KEY (workspace_id, execution_id) REFERENCES workflow_executions (workspace_id, id) ON DELETE CASCADE
) PARTITION BY RANGE (created_at);
CREATE INDEX execution_logs_execution_idx ON execution_logs (execution_id, id);
CREATE TABLE execution_logs_default PARTITION OF execution_logs DEFAULT;

-- Creates the monthly partitions covering [from, from + months). Idempotent; run by migrations and
-- by the engine's maintenance job so partitions exist before rows arrive.
CREATE FUNCTION intakeflow_ensure_log_partitions(from_month date, months integer) RETURNS void AS $$
DECLARE
    m date := date_trunc('month', from_month)::date;
    part text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        part := format('execution_logs_%s', to_char(m, 'YYYY_MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF execution_logs FOR VALUES FROM (%L) TO (%L)',
                           part, m, (m + interval '1 month')::date);
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END;
$$ LANGUAGE plpgsql;
SELECT intakeflow_ensure_log_partitions((now() - interval '1 month')::date, 4);
