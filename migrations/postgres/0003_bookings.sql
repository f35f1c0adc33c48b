-- Holds, bookings and idempotency keys.
--
-- The guarantee "at most one live hold or active booking per slot" is the slot row itself: every hold and booking
-- changes it with one conditional UPDATE (free, or held with a lapsed hold → held/booked), so concurrent
-- requests serialise on that row. The partial unique index on bookings is a second, independent guard.

ALTER TABLE slots ADD COLUMN hold_id TEXT;
ALTER TABLE slots ADD COLUMN hold_expires_at TIMESTAMPTZ;

CREATE TABLE holds (
    id          TEXT PRIMARY KEY,
    -- A slot removed by a rule change takes its lapsed holds with it; booked slots are never removed.
    slot_id     TEXT NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
    api_key_id  TEXT NOT NULL REFERENCES api_keys (id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    released_at TIMESTAMPTZ,
    booking_id  TEXT
);
CREATE INDEX holds_slot ON holds (slot_id);

CREATE TABLE bookings (
    id                 TEXT PRIMARY KEY,
    slot_id            TEXT NOT NULL REFERENCES slots (id),
    hold_id            TEXT,
    status             TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled', 'attended', 'no_show')),
    -- Personal health data (GDPR art. 9): never logged; purged after the retention period (issue 6).
    patient_first_name TEXT NOT NULL,
    patient_last_name  TEXT NOT NULL,
    patient_birth_date TEXT NOT NULL,
    patient_phone      TEXT,
    patient_email      TEXT,
    motif              TEXT NOT NULL,
    note               TEXT,
    search_id          TEXT,
    booked_by          TEXT NOT NULL REFERENCES api_keys (id),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    cancelled_at       TIMESTAMPTZ,
    cancelled_by       TEXT,
    cancel_reason      TEXT,
    outcome_at         TIMESTAMPTZ
);
CREATE UNIQUE INDEX bookings_one_active_per_slot ON bookings (slot_id) WHERE status <> 'cancelled';
CREATE INDEX bookings_slot ON bookings (slot_id);

CREATE TABLE idempotency_keys (
    api_key_id      TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    -- 0 while the first request is being processed.
    status_code     INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (api_key_id, endpoint, idempotency_key)
);
