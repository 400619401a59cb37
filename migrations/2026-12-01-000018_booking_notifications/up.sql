-- Booking emails (issue 15): confirmation, reminders 24 h and 2 h before, reschedule and
-- cancellation, each a row with its due time, written in the transaction of the change and sent
-- by the engine (durable timers, not in-memory ones). A moved booking's pending reminders are
-- dropped and new ones written; a cancelled booking's are dropped.
CREATE TABLE booking_notifications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    booking_id   uuid NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('CONFIRMATION', 'REMINDER_24H', 'REMINDER_2H', 'RESCHEDULE', 'CANCELLATION')),
    -- When it is sent; a claim pushes it forward, so a crashed sender's email is retried later.
    due_at       timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'DROPPED')),
    -- The confirmation's manage token until it is sent (then erased): only its digest is kept
    -- on the booking.
    secret       text,
    attempts     integer NOT NULL DEFAULT 0,
    error        text,
    sent_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX booking_notifications_due_idx ON booking_notifications (due_at) WHERE status = 'PENDING';
CREATE INDEX booking_notifications_booking_idx ON booking_notifications (booking_id);
