-- Gapless streams and cross-process notifications.
--
-- Ids from a sequence become visible out of order when transactions commit out of order, so a
-- reader following `id > cursor` could skip a row that commits later with a smaller id. Stream
-- positions are therefore assigned per stream under a row lock held until commit: a writer can
-- only take position N+1 after the writer of N has committed, so positions become visible in
-- order and `seq > cursor` never skips anything.

CREATE TABLE execution_log_seqs (
    execution_id uuid PRIMARY KEY REFERENCES workflow_executions (id) ON DELETE CASCADE,
    last         bigint NOT NULL
);

CREATE TABLE workspace_event_seqs (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    last         bigint NOT NULL
);

ALTER TABLE execution_logs ADD COLUMN seq bigint;
UPDATE execution_logs l SET seq = n.rn
FROM (SELECT id, row_number() OVER (PARTITION BY execution_id ORDER BY id) AS rn FROM execution_logs) n
WHERE n.id = l.id;
INSERT INTO execution_log_seqs (execution_id, last)
SELECT execution_id, max(seq) FROM execution_logs GROUP BY execution_id;
ALTER TABLE execution_logs ALTER COLUMN seq SET NOT NULL;
CREATE INDEX execution_logs_seq_idx ON execution_logs (execution_id, seq);

ALTER TABLE lead_events ADD COLUMN seq bigint;
-- Numbering existing events is the one update the append-only guard must allow.
ALTER TABLE lead_events DISABLE TRIGGER lead_events_append_only;
UPDATE lead_events e SET seq = n.rn
FROM (SELECT id, row_number() OVER (PARTITION BY workspace_id ORDER BY created_at, id) AS rn FROM lead_events) n
WHERE n.id = e.id;
ALTER TABLE lead_events ENABLE TRIGGER lead_events_append_only;
INSERT INTO workspace_event_seqs (workspace_id, last)
SELECT workspace_id, max(seq) FROM lead_events GROUP BY workspace_id;
ALTER TABLE lead_events ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX lead_events_workspace_seq_key ON lead_events (workspace_id, seq);

CREATE FUNCTION intakeflow_next_log_seq() RETURNS trigger AS $$
BEGIN
    INSERT INTO execution_log_seqs AS s (execution_id, last) VALUES (NEW.execution_id, 1)
    ON CONFLICT (execution_id) DO UPDATE SET last = s.last + 1
    RETURNING last INTO NEW.seq;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER execution_logs_seq BEFORE INSERT ON execution_logs FOR EACH ROW EXECUTE FUNCTION intakeflow_next_log_seq();

CREATE FUNCTION intakeflow_next_event_seq() RETURNS trigger AS $$
BEGIN
    INSERT INTO workspace_event_seqs AS s (workspace_id, last) VALUES (NEW.workspace_id, 1)
    ON CONFLICT (workspace_id) DO UPDATE SET last = s.last + 1
    RETURNING last INTO NEW.seq;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- Runs before the append-only guard is relevant (that one is BEFORE UPDATE).
CREATE TRIGGER lead_events_seq BEFORE INSERT ON lead_events FOR EACH ROW EXECUTE FUNCTION intakeflow_next_event_seq();

-- Notifications carry only a topic (and an id where the topic alone can't say what changed);
-- NOTIFY is delivered at commit and identical payloads in one transaction collapse into one.
CREATE FUNCTION intakeflow_notify_log() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('intakeflow_events', 'log:' || NEW.execution_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER execution_logs_notify AFTER INSERT ON execution_logs FOR EACH ROW EXECUTE FUNCTION intakeflow_notify_log();

CREATE FUNCTION intakeflow_notify_lead_event() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('intakeflow_events', 'lead:' || NEW.workspace_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER lead_events_notify AFTER INSERT ON lead_events FOR EACH ROW EXECUTE FUNCTION intakeflow_notify_lead_event();

CREATE FUNCTION intakeflow_notify_execution() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('intakeflow_events', 'exec:' || NEW.id);
    PERFORM pg_notify('intakeflow_events', 'wf:' || NEW.workflow_id || '|' || NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workflow_executions_notify_insert AFTER INSERT ON workflow_executions
    FOR EACH ROW EXECUTE FUNCTION intakeflow_notify_execution();
CREATE TRIGGER workflow_executions_notify_update AFTER UPDATE ON workflow_executions
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION intakeflow_notify_execution();

CREATE FUNCTION intakeflow_notify_step() RETURNS trigger AS $$
DECLARE
    wf uuid;
BEGIN
    SELECT workflow_id INTO wf FROM workflow_executions WHERE id = NEW.execution_id;
    PERFORM pg_notify('intakeflow_events', 'exec:' || NEW.execution_id);
    PERFORM pg_notify('intakeflow_events', 'wf:' || wf || '|' || NEW.execution_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER execution_steps_notify AFTER INSERT OR UPDATE ON execution_steps
    FOR EACH ROW EXECUTE FUNCTION intakeflow_notify_step();

-- Revoking a credential ends the live connections that use it.
CREATE FUNCTION intakeflow_notify_revoked() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('intakeflow_events', 'auth:' || NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER sessions_notify_revoked AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION intakeflow_notify_revoked();
CREATE TRIGGER api_keys_notify_revoked AFTER UPDATE OF revoked_at ON api_keys
    FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION intakeflow_notify_revoked();
