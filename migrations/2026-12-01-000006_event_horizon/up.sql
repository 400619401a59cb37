-- A workspace's lead-event stream without a workspace-wide lock.
--
-- Until now an event's position came from a per-workspace counter row, locked from the event's
-- insert until its transaction committed: gapless, but every writer in a workspace queued behind
-- the previous one's commit (and its fsync). Now each event records the id of the transaction
-- that wrote it (`xid`, from pg_current_xact_id()) and a number from a sequence (`seq`), nothing
-- is locked, and the stream's order is (xid, seq).
--
-- Why that is gapless: readers only take rows whose xid is below their snapshot's xmin (the
-- oldest transaction still running when the snapshot was taken). Every transaction with a
-- smaller xid has finished, so its rows are visible to that snapshot if it committed and will
-- never appear if it rolled back; every transaction that could still write gets an xid >= xmin.
-- So the set of rows below the horizon never changes once seen, and a reader that has everything
-- up to position (x, s) with x < xmin can never be handed a row before it later. Rows of
-- transactions still open (or committed above the horizon) are waited for, never skipped.
--
-- Existing events keep their positions as (0, seq): a cursor from before this migration (a plain
-- number n) still means (0, n), and every new event comes after all of them.

DROP TRIGGER lead_events_seq ON lead_events;
DROP FUNCTION intakeflow_next_event_seq();
DROP TABLE workspace_event_seqs;

ALTER TABLE lead_events ADD COLUMN xid bigint NOT NULL DEFAULT 0;
-- xid8 has no cast to bigint; text is the documented way between them. An xid8 counts
-- transactions since initdb (epoch and xid), far below 2^63.
ALTER TABLE lead_events ALTER COLUMN xid SET DEFAULT (pg_current_xact_id()::text::bigint);

CREATE SEQUENCE lead_events_seq_seq AS bigint OWNED BY lead_events.seq;
SELECT setval('lead_events_seq_seq', coalesce((SELECT max(seq) FROM lead_events), 0) + 1, false);
ALTER TABLE lead_events ALTER COLUMN seq SET DEFAULT nextval('lead_events_seq_seq');

DROP INDEX lead_events_workspace_seq_key;
CREATE UNIQUE INDEX lead_events_stream_key ON lead_events (workspace_id, xid, seq);
