-- Back to per-workspace counters: number every event in stream order again.
DROP INDEX lead_events_stream_key;
ALTER TABLE lead_events ALTER COLUMN seq DROP DEFAULT;
DROP SEQUENCE lead_events_seq_seq;

ALTER TABLE lead_events DISABLE TRIGGER lead_events_append_only;
UPDATE lead_events e SET seq = n.rn
FROM (SELECT id, row_number() OVER (PARTITION BY workspace_id ORDER BY xid, seq) AS rn FROM lead_events) n
WHERE n.id = e.id;
ALTER TABLE lead_events ENABLE TRIGGER lead_events_append_only;
ALTER TABLE lead_events DROP COLUMN xid;
CREATE UNIQUE INDEX lead_events_workspace_seq_key ON lead_events (workspace_id, seq);

CREATE TABLE workspace_event_seqs (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    last         bigint NOT NULL
);
INSERT INTO workspace_event_seqs (workspace_id, last)
SELECT workspace_id, max(seq) FROM lead_events GROUP BY workspace_id;

CREATE FUNCTION intakeflow_next_event_seq() RETURNS trigger AS $$
BEGIN
    INSERT INTO workspace_event_seqs AS s (workspace_id, last) VALUES (NEW.workspace_id, 1)
    ON CONFLICT (workspace_id) DO UPDATE SET last = s.last + 1
    RETURNING last INTO NEW.seq;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER lead_events_seq BEFORE INSERT ON lead_events FOR EACH ROW EXECUTE FUNCTION intakeflow_next_event_seq();
