-- Plans, subscriptions, quota counters and the usage log (DESIGN.md section 3, issue 17).
--
-- Plans are an operator-managed catalogue: a version is never changed or removed (a trigger
-- refuses it), a new version is a new row. Every workspace has exactly one subscription; a trigger
-- gives each new workspace one on the default plan, whatever inserted it (the API, the demo seed,
-- a bench's SQL): the plan named by the transaction's `intakeflow.default_plan` setting, or free.

CREATE TABLE plans (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code       text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    version    integer NOT NULL CHECK (version >= 1),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- {"leads": 100, ...}: a number is a limit, null (or a missing key) is unlimited.
    quotas     jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(quotas) = 'object'),
    features   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(features) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (code, version)
);

CREATE FUNCTION intakeflow_plans_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'plans are immutable: add a new version instead of changing or removing %@%',
        OLD.code, OLD.version;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER plans_immutable BEFORE UPDATE OR DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION intakeflow_plans_immutable();

INSERT INTO plans (code, version, name, quotas, features) VALUES
    ('free', 1, 'Free',
     '{"leads": 100, "executions": 500, "emails": 200, "workflows": 3, "forms": 3, "members": 3, "webhookEndpoints": 1}',
     '{"customDomain": false, "stripePayments": false, "apiAccess": false, "emailTemplates": true}'),
    ('pro', 1, 'Pro',
     '{"leads": 2000, "executions": 20000, "emails": 10000, "workflows": 25, "forms": 25, "members": 10, "webhookEndpoints": 10}',
     '{"customDomain": true, "stripePayments": true, "apiAccess": true, "emailTemplates": true}'),
    ('business', 1, 'Business',
     '{"leads": null, "executions": null, "emails": 100000, "workflows": null, "forms": null, "members": null, "webhookEndpoints": 100}',
     '{"customDomain": true, "stripePayments": true, "apiAccess": true, "emailTemplates": true}');

CREATE TABLE subscriptions (
    workspace_id         uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    plan_id              uuid NOT NULL REFERENCES plans (id) ON DELETE RESTRICT,
    status               text NOT NULL DEFAULT 'ACTIVE'
                         CHECK (status IN ('TRIALING', 'ACTIVE', 'PAST_DUE', 'CANCELLED', 'EXPIRED')),
    current_period_start timestamptz NOT NULL,
    current_period_end   timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (current_period_end > current_period_start)
);
CREATE INDEX subscriptions_plan_idx ON subscriptions (plan_id);
-- The rollover job looks for lapsed periods.
CREATE INDEX subscriptions_period_end_idx ON subscriptions (current_period_end);
CREATE TRIGGER subscriptions_touch BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

-- The latest version of a plan code, or NULL.
CREATE FUNCTION intakeflow_latest_plan(p_code text) RETURNS uuid AS $$
    SELECT id FROM plans WHERE code = p_code ORDER BY version DESC LIMIT 1
$$ LANGUAGE sql STABLE;

-- The default plan's code (BEFORE: the inserted row, and what RETURNING gives back, names it).
CREATE FUNCTION intakeflow_workspace_default_plan() RETURNS trigger AS $$
BEGIN
    NEW.plan := coalesce(
        (SELECT code FROM plans
          WHERE code = nullif(current_setting('intakeflow.default_plan', true), '') LIMIT 1),
        'free');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workspaces_default_plan BEFORE INSERT ON workspaces
    FOR EACH ROW EXECUTE FUNCTION intakeflow_workspace_default_plan();

-- Billing periods are whole months from the day the workspace was created.
CREATE FUNCTION intakeflow_workspace_subscription() RETURNS trigger AS $$
BEGIN
    INSERT INTO subscriptions (workspace_id, plan_id, status, current_period_start, current_period_end)
        VALUES (NEW.id, intakeflow_latest_plan(NEW.plan), 'ACTIVE',
                date_trunc('day', NEW.created_at), date_trunc('day', NEW.created_at) + interval '1 month');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workspaces_subscription AFTER INSERT ON workspaces
    FOR EACH ROW EXECUTE FUNCTION intakeflow_workspace_subscription();

INSERT INTO subscriptions (workspace_id, plan_id, status, current_period_start, current_period_end)
SELECT w.id, coalesce(intakeflow_latest_plan(w.plan), intakeflow_latest_plan('free')), 'ACTIVE',
       date_trunc('day', now()), date_trunc('day', now()) + interval '1 month'
FROM workspaces w;
UPDATE workspaces w SET plan = p.code FROM subscriptions s JOIN plans p ON p.id = s.plan_id
    WHERE s.workspace_id = w.id AND w.plan IS DISTINCT FROM p.code;

-- What a workspace has used of each per-period quota, keyed by the period's start: a new period
-- starts at zero without anything being reset.
CREATE TABLE usage_counters (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    quota        text NOT NULL,
    period_start timestamptz NOT NULL,
    used         bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (workspace_id, quota, period_start)
);

-- Each counted action (billable) and each action refused or skipped over a quota (not billable,
-- `detail` says why).
CREATE TABLE usage_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    category     text NOT NULL,
    quantity     bigint NOT NULL DEFAULT 1,
    billable     boolean NOT NULL DEFAULT true,
    subject_id   uuid,
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_workspace_idx ON usage_events (workspace_id, occurred_at DESC, id DESC);

-- Takes `n` of a per-period quota: NULL when granted, else the refusal
-- ({quota, limit, used, resetsAt}) and nothing changed. Up to 120 % of the limit is granted (the
-- overage buffer). The conditional upsert holds the counter row's lock until the transaction
-- ends, so concurrent takers queue on it and the cap is exact.
CREATE FUNCTION intakeflow_quota_take(p_workspace uuid, p_quota text, p_n bigint) RETURNS jsonb AS $$
DECLARE
    v_start timestamptz;
    v_end   timestamptz;
    v_limit bigint;
    v_cap   bigint;
    v_used  bigint;
BEGIN
    SELECT s.current_period_start, s.current_period_end, (p.quotas ->> p_quota)::bigint
        INTO v_start, v_end, v_limit
        FROM subscriptions s JOIN plans p ON p.id = s.plan_id
        WHERE s.workspace_id = p_workspace;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- Unlimited: nothing to enforce, so no counter row is locked. Counting it would queue every
    -- lead-creating transaction of the workspace on one row until commit; the usage log
    -- (usage_events) still records each use, and `workspace.usage` sums it for such quotas.
    IF v_limit IS NULL THEN
        RETURN NULL;
    END IF;
    v_cap := floor(v_limit * 1.2);
    IF p_n <= v_cap THEN
        INSERT INTO usage_counters AS c (workspace_id, quota, period_start, used)
            VALUES (p_workspace, p_quota, v_start, p_n)
            ON CONFLICT (workspace_id, quota, period_start)
            DO UPDATE SET used = c.used + EXCLUDED.used
            WHERE c.used + EXCLUDED.used <= v_cap
            RETURNING c.used INTO v_used;
        IF v_used IS NOT NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    SELECT c.used INTO v_used FROM usage_counters c
        WHERE c.workspace_id = p_workspace AND c.quota = p_quota AND c.period_start = v_start;
    RETURN jsonb_build_object('quota', p_quota, 'limit', v_limit, 'used', coalesce(v_used, 0),
                              'resetsAt', to_char(v_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
END;
$$ LANGUAGE plpgsql;

-- Gives back what a taker took but did not use (an execution that turned out to exist already).
CREATE FUNCTION intakeflow_quota_release(p_workspace uuid, p_quota text, p_n bigint) RETURNS void AS $$
    UPDATE usage_counters c SET used = greatest(c.used - p_n, 0)
    FROM subscriptions s
    WHERE s.workspace_id = p_workspace AND c.workspace_id = p_workspace AND c.quota = p_quota
      AND c.period_start = s.current_period_start
$$ LANGUAGE sql;

-- Leads are counted where they are created, whatever path creates them (a form, the API, a
-- booking, a call): a refusal raises, which rolls back the whole action. The API maps the message
-- to QUOTA_EXCEEDED with the detail's numbers (error.rs).
CREATE FUNCTION intakeflow_count_lead() RETURNS trigger AS $$
DECLARE
    v_refused jsonb := intakeflow_quota_take(NEW.workspace_id, 'leads', 1);
BEGIN
    IF v_refused IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'intakeflow_quota_exceeded', DETAIL = v_refused::text;
    END IF;
    INSERT INTO usage_events (workspace_id, category, quantity, billable, subject_id, occurred_at)
        VALUES (NEW.workspace_id, 'leads', 1, true, NEW.id, now());
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER leads_count AFTER INSERT ON leads FOR EACH ROW EXECUTE FUNCTION intakeflow_count_lead();
