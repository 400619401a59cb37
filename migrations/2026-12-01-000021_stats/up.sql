-- Daily stats and workflow reports for dashboards (issue 17, seeds 001 and 002). Both are
-- rollups: recomputed from the source tables by an idempotent job (`engine/rollups.rs`), so running
-- it twice, or in two processes at once, writes the same numbers. Days are the workspace's own,
-- in its IANA time zone.
ALTER TABLE workspaces ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';

CREATE TABLE workspace_daily_stats (
    workspace_id         uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    day                  date NOT NULL,
    leads_created        integer NOT NULL DEFAULT 0,
    leads_won            integer NOT NULL DEFAULT 0,
    leads_lost           integer NOT NULL DEFAULT 0,
    submissions          integer NOT NULL DEFAULT 0,
    executions_completed integer NOT NULL DEFAULT 0,
    executions_failed    integer NOT NULL DEFAULT 0,
    emails_sent          integer NOT NULL DEFAULT 0,
    emails_opened        integer NOT NULL DEFAULT 0,
    bookings_created     integer NOT NULL DEFAULT 0,
    bookings_cancelled   integer NOT NULL DEFAULT 0,
    computed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, day)
);

-- One row per workflow, period kind and period (its first day, in the workspace's zone), over
-- the executions created in it (simulations aside).
CREATE TABLE workflow_reports (
    workflow_id     uuid NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    workspace_id    uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    period          text NOT NULL CHECK (period IN ('DAY', 'WEEK', 'MONTH')),
    period_start    date NOT NULL,
    total           integer NOT NULL,
    completed       integer NOT NULL,
    failed          integer NOT NULL,
    cancelled       integer NOT NULL,
    avg_duration_ms bigint,
    p95_duration_ms bigint,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, period, period_start)
);

-- The rollup counts per workspace and time range; these make each count an index range.
CREATE INDEX form_submissions_workspace_time_idx ON form_submissions (workspace_id, submitted_at);
CREATE INDEX workflow_executions_workspace_completed_idx ON workflow_executions (workspace_id, completed_at)
    WHERE completed_at IS NOT NULL;
CREATE INDEX workflow_executions_workspace_created_idx ON workflow_executions (workspace_id, created_at);
CREATE INDEX emails_workspace_sent_idx ON emails (workspace_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX emails_workspace_opened_idx ON emails (workspace_id, opened_at) WHERE opened_at IS NOT NULL;
CREATE INDEX bookings_workspace_created_idx ON bookings (workspace_id, created_at);
CREATE INDEX bookings_workspace_cancelled_idx ON bookings (workspace_id, cancelled_at) WHERE cancelled_at IS NOT NULL;
