-- Where a submission came from: the public form, the API (an authenticated caller), an inbound
-- webhook; EMAIL is reserved for mail intake.
ALTER TABLE form_submissions ADD COLUMN source text NOT NULL DEFAULT 'FORM'
    CHECK (source IN ('FORM', 'API', 'WEBHOOK', 'EMAIL'));

-- Intake routing (seeds 003/004): the first enabled rule, in position order, whose form, source
-- and conditions match a submission decides its lead's stage, assignee and priority, inside the
-- submission's transaction.
CREATE TABLE routing_rules (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id      uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- NULL: any form / any source / always.
    form_id           uuid REFERENCES forms(id) ON DELETE CASCADE,
    source            text CHECK (source IN ('FORM', 'API', 'WEBHOOK', 'EMAIL')),
    conditions        jsonb,
    -- A removed stage takes its rules' placement with it, not the rules.
    stage_id          uuid REFERENCES pipeline_stages(id) ON DELETE SET NULL,
    assign_strategy   text CHECK (assign_strategy IN ('SPECIFIC', 'ROUND_ROBIN')),
    -- Users (members of the workspace when the rule was saved; checked again when it runs).
    assign_user_ids   uuid[] NOT NULL DEFAULT '{}',
    -- Round robin: how many leads the rule has handed out; the row lock taken by incrementing
    -- it makes concurrent submissions take turns fairly.
    assigned_count    bigint NOT NULL DEFAULT 0,
    priority          text CHECK (priority IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    reopen_closed     boolean NOT NULL DEFAULT false,
    enabled           boolean NOT NULL DEFAULT true,
    position          integer NOT NULL CHECK (position >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, position) DEFERRABLE INITIALLY DEFERRED
);
CREATE TRIGGER routing_rules_touch BEFORE UPDATE ON routing_rules FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();
