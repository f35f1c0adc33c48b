-- The outbox: every message a booking's confirmation, cancellation or reminders produce, written in the same
-- transaction as the state change (so none is ever lost), sent later by a worker (so no booking waits for a mail
-- server or an SMS provider). What a message says is rendered when it is sent, from the booking.
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    booking_id  TEXT NOT NULL REFERENCES bookings (id),
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient   TEXT NOT NULL CHECK (recipient IN ('patient', 'professional')),
    kind        TEXT NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'cancellation')),
    -- An email address or a phone number: personal data, purged with the booking's contact data.
    address     TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    sent_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_booking ON outbox (booking_id);
-- What a worker looks for: pending messages by due time.
CREATE INDEX outbox_due ON outbox (due_at) WHERE status = 'pending';
