-- Pipelines and their stages (seeds 003/004): a workspace models its own process, and may run
-- several boards (sales beside support). A lead sits in at most one stage per pipeline.
CREATE TABLE pipelines (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind         text NOT NULL CHECK (kind IN ('SALES', 'SUPPORT', 'BILLING', 'INTERNAL', 'GENERIC', 'CUSTOM')),
    -- The default pipeline mirrors the lead's status (see intakeflow_follow_status below).
    is_default   boolean NOT NULL DEFAULT false,
    archived_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (workspace_id) WHERE is_default;
CREATE UNIQUE INDEX pipelines_name_live ON pipelines (workspace_id, lower(name)) WHERE archived_at IS NULL;
CREATE INDEX pipelines_workspace_idx ON pipelines (workspace_id, created_at, id);
CREATE TRIGGER pipelines_touch BEFORE UPDATE ON pipelines FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE pipeline_stages (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    pipeline_id    uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    key            text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    color          text NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    -- OPEN: work in progress; WON and LOST: closed (a routing rule may reopen the lead).
    category       text NOT NULL CHECK (category IN ('OPEN', 'WON', 'LOST')),
    implies_status text CHECK (implies_status IN
        ('NEW', 'CONTACTED', 'QUALIFIED', 'BOOKED', 'PROPOSAL_SENT', 'WON', 'LOST', 'UNRESPONSIVE')),
    position       integer NOT NULL CHECK (position >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pipeline_id, key),
    -- Reordering swaps positions inside one transaction.
    UNIQUE (pipeline_id, position) DEFERRABLE INITIALLY DEFERRED,
    -- Lets a placement name its stage and the stage's pipeline together (see below).
    UNIQUE (pipeline_id, id)
);
CREATE TRIGGER pipeline_stages_touch BEFORE UPDATE ON pipeline_stages FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE lead_placements (
    lead_id      uuid NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    pipeline_id  uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    stage_id     uuid NOT NULL,
    workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    since        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lead_id, pipeline_id),
    -- The stage belongs to the pipeline; a stage with leads can't be deleted from under them
    -- (NO ACTION, checked at the end of the statement, so deleting a workspace still cascades).
    FOREIGN KEY (pipeline_id, stage_id) REFERENCES pipeline_stages (pipeline_id, id)
);
-- The board: a stage's leads, most recently placed first.
CREATE INDEX lead_placements_board_idx ON lead_placements (stage_id, since DESC, lead_id DESC);

-- Every workspace has a default "Sales" pipeline whose stages mirror LeadStatus. Created by the
-- database when the workspace is, so no path that creates a workspace can forget it.
CREATE FUNCTION intakeflow_create_default_pipeline(ws uuid) RETURNS uuid AS $$
DECLARE
    pipeline uuid;
BEGIN
    INSERT INTO pipelines (workspace_id, name, kind, is_default) VALUES (ws, 'Sales', 'SALES', true)
    RETURNING id INTO pipeline;
    INSERT INTO pipeline_stages (workspace_id, pipeline_id, key, name, color, category, implies_status, position)
    SELECT ws, pipeline, s.key, s.name, s.color, s.category, s.status, s.position
    FROM (VALUES
        ('new', 'New', '#3b82f6', 'OPEN', 'NEW', 0),
        ('contacted', 'Contacted', '#06b6d4', 'OPEN', 'CONTACTED', 1),
        ('qualified', 'Qualified', '#8b5cf6', 'OPEN', 'QUALIFIED', 2),
        ('booked', 'Booked', '#f59e0b', 'OPEN', 'BOOKED', 3),
        ('proposal_sent', 'Proposal sent', '#ec4899', 'OPEN', 'PROPOSAL_SENT', 4),
        ('won', 'Won', '#22c55e', 'WON', 'WON', 5),
        ('lost', 'Lost', '#ef4444', 'LOST', 'LOST', 6),
        ('unresponsive', 'Unresponsive', '#6b7280', 'LOST', 'UNRESPONSIVE', 7)
    ) AS s(key, name, color, category, status, position);
    RETURN pipeline;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION intakeflow_workspace_default_pipeline() RETURNS trigger AS $$
BEGIN
    PERFORM intakeflow_create_default_pipeline(NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workspaces_default_pipeline AFTER INSERT ON workspaces
    FOR EACH ROW EXECUTE FUNCTION intakeflow_workspace_default_pipeline();

-- The default pipeline follows the lead's status: a new lead is placed in the stage that implies
-- its status, and a status change moves it to the first stage implying the new one, unless the
-- stage it is in already implies it (a member moved it there). A status no stage implies leaves
-- it where it is. The STATUS_CHANGED event records the move; explicit moves (moveLeadToStage,
-- routing) write STAGE_CHANGED events of their own.
CREATE FUNCTION intakeflow_follow_status() RETURNS trigger AS $$
BEGIN
    INSERT INTO lead_placements (lead_id, pipeline_id, stage_id, workspace_id)
    SELECT NEW.id, p.id, s.id, NEW.workspace_id
    FROM pipelines p
    CROSS JOIN LATERAL (
        SELECT id FROM pipeline_stages st
        WHERE st.pipeline_id = p.id AND (TG_OP = 'INSERT' OR st.implies_status = NEW.status)
        ORDER BY st.implies_status IS DISTINCT FROM NEW.status, st.position
        LIMIT 1
    ) s
    WHERE p.workspace_id = NEW.workspace_id AND p.is_default
    ON CONFLICT (lead_id, pipeline_id) DO UPDATE SET stage_id = EXCLUDED.stage_id, since = now()
    WHERE NOT EXISTS (
        SELECT 1 FROM pipeline_stages cur
        WHERE cur.id = lead_placements.stage_id AND cur.implies_status = NEW.status
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER leads_place_new AFTER INSERT ON leads
    FOR EACH ROW EXECUTE FUNCTION intakeflow_follow_status();
CREATE TRIGGER leads_follow_status AFTER UPDATE OF status ON leads
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION intakeflow_follow_status();

-- Existing workspaces and leads.
SELECT intakeflow_create_default_pipeline(id) FROM workspaces;
INSERT INTO lead_placements (lead_id, pipeline_id, stage_id, workspace_id, since)
SELECT l.id, p.id, s.id, l.workspace_id, l.updated_at
FROM leads l
JOIN pipelines p ON p.workspace_id = l.workspace_id AND p.is_default
JOIN pipeline_stages s ON s.pipeline_id = p.id AND s.implies_status = l.status;

-- A stage change is a lead event and a trigger.
ALTER TABLE lead_events DROP CONSTRAINT lead_events_type_check;
ALTER TABLE lead_events ADD CONSTRAINT lead_events_type_check CHECK (type IN (
    'LEAD_CREATED', 'FORM_SUBMITTED', 'STATUS_CHANGED', 'PRIORITY_CHANGED', 'NOTE_ADDED', 'ASSIGNED', 'UPDATED',
    'DELETED', 'RESTORED', 'EMAIL_SENT', 'WEBHOOK_SENT', 'WORKFLOW_STARTED', 'WORKFLOW_FINISHED', 'STAGE_CHANGED'));
ALTER TABLE workflow_nodes DROP CONSTRAINT workflow_nodes_type_check;
ALTER TABLE workflow_nodes ADD CONSTRAINT workflow_nodes_type_check CHECK (type IN (
    'FORM_SUBMITTED', 'LEAD_STATUS_CHANGED', 'PIPELINE_STAGE_CHANGED', 'MANUAL', 'WEBHOOK', 'SCHEDULE',
    'SEND_EMAIL', 'HTTP_REQUEST', 'UPDATE_LEAD', 'ADD_NOTE', 'DELAY', 'CONDITION', 'APPROVAL'));
