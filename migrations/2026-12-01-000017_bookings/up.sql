-- Bookings (seeds 000/003/004, issue 15): booking types a prospect books without an account,
-- members' weekly availability, and the bookings themselves. Double booking is impossible at
-- the database: an exclusion constraint over each host's busy ranges, buffers included.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- A member's working hours: wall-clock times in their IANA zone (DST is resolved when slots are
-- computed, not stored). Removing the member removes their schedule.
CREATE TABLE availability_schedules (
    workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    time_zone    text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    -- [{weekday, start, end}] and [{date, start, end, unavailable}] (model::availability).
    weekly       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(weekly) = 'array'),
    overrides    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(overrides) = 'array'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES workspace_members (workspace_id, user_id) ON DELETE CASCADE
);
CREATE TRIGGER availability_schedules_touch BEFORE UPDATE ON availability_schedules
    FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE booking_types (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id           uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    slug                   text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    duration_minutes       integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720),
    slot_increment_minutes integer NOT NULL CHECK (slot_increment_minutes BETWEEN 5 AND 720),
    buffer_before_minutes  integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 240),
    buffer_after_minutes   integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 240),
    minimum_notice_minutes integer NOT NULL DEFAULT 0 CHECK (minimum_notice_minutes BETWEEN 0 AND 43200),
    booking_window_days    integer NOT NULL DEFAULT 60 CHECK (booking_window_days BETWEEN 1 AND 730),
    -- Bookings per host per local day; NULL: no limit.
    daily_limit            integer CHECK (daily_limit BETWEEN 1 AND 100),
    -- Users (members of the workspace when the type was saved; checked again when booking).
    host_user_ids          uuid[] NOT NULL DEFAULT '{}',
    host_strategy          text NOT NULL CHECK (host_strategy IN ('ANY', 'ROUND_ROBIN')),
    -- Round robin: how many bookings the type has handed out; the row lock taken by incrementing
    -- it makes concurrent bookings take turns fairly (as routing_rules.assigned_count does).
    assigned_count         bigint NOT NULL DEFAULT 0,
    location               text CHECK (length(location) <= 500),
    form_id                uuid REFERENCES forms(id) ON DELETE SET NULL,
    archived_at            timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, slug)
);
CREATE INDEX booking_types_workspace_idx ON booking_types (workspace_id, created_at, id);
CREATE TRIGGER booking_types_touch BEFORE UPDATE ON booking_types FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

CREATE TABLE bookings (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id      uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    booking_type_id   uuid NOT NULL REFERENCES booking_types(id) ON DELETE CASCADE,
    lead_id           uuid NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    host_user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    -- The time the host is taken: [start - buffer before, end + buffer after). Kept as two
    -- instants the application computes (timestamptz - interval is not immutable, so the range
    -- can't be derived from the type's minutes in a generated column) and one generated range.
    busy_from         timestamptz NOT NULL,
    busy_until        timestamptz NOT NULL,
    busy              tstzrange GENERATED ALWAYS AS (tstzrange(busy_from, busy_until, '[)')) STORED,
    status            text NOT NULL DEFAULT 'CONFIRMED' CHECK (status IN ('CONFIRMED', 'CANCELLED')),
    attendee_name     text CHECK (length(attendee_name) <= 200),
    attendee_email    text NOT NULL CHECK (length(attendee_email) BETWEEN 3 AND 320),
    attendee_phone    text CHECK (length(attendee_phone) <= 40),
    answers           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(answers) = 'object'),
    -- SHA-256 of the manage token (shown once, in the booking's answer and its emails).
    manage_token_hash bytea NOT NULL UNIQUE,
    idempotency_key   text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_digest    text,
    -- The ICS SEQUENCE: bumped by every reschedule and the cancellation.
    sequence          integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    cancel_reason     text CHECK (length(cancel_reason) <= 1000),
    cancelled_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    CHECK (busy_from <= starts_at AND busy_until >= ends_at),
    CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL)),
    UNIQUE (booking_type_id, idempotency_key),
    -- No host is in two confirmed meetings at once, buffers included, whoever writes the rows
    -- and however many write at once: the loser of a race gets SQLSTATE 23P01.
    CONSTRAINT bookings_no_double_booking
        EXCLUDE USING gist (host_user_id WITH =, busy WITH &&) WHERE (status = 'CONFIRMED')
);
CREATE INDEX bookings_workspace_idx ON bookings (workspace_id, starts_at, id);
CREATE INDEX bookings_lead_idx ON bookings (lead_id, starts_at);
CREATE TRIGGER bookings_touch BEFORE UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION intakeflow_touch_updated_at();

-- Booking events on the lead's trail, and a trigger for workflows.
ALTER TABLE lead_events DROP CONSTRAINT lead_events_type_check;
ALTER TABLE lead_events ADD CONSTRAINT lead_events_type_check CHECK (type IN (
    'LEAD_CREATED', 'FORM_SUBMITTED', 'STATUS_CHANGED', 'PRIORITY_CHANGED', 'NOTE_ADDED', 'ASSIGNED', 'UPDATED',
    'DELETED', 'RESTORED', 'EMAIL_SENT', 'WEBHOOK_SENT', 'WORKFLOW_STARTED', 'WORKFLOW_FINISHED', 'STAGE_CHANGED',
    'BOOKING_CREATED', 'BOOKING_RESCHEDULED', 'BOOKING_CANCELLED'));
ALTER TABLE workflow_nodes DROP CONSTRAINT workflow_nodes_type_check;
ALTER TABLE workflow_nodes ADD CONSTRAINT workflow_nodes_type_check CHECK (type IN (
    'FORM_SUBMITTED', 'LEAD_STATUS_CHANGED', 'PIPELINE_STAGE_CHANGED', 'BOOKING_CREATED', 'MANUAL', 'WEBHOOK',
    'SCHEDULE', 'SEND_EMAIL', 'HTTP_REQUEST', 'UPDATE_LEAD', 'ADD_NOTE', 'DELAY', 'CONDITION', 'APPROVAL'));
