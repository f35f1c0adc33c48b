-- The audit trail: who did or saw what, when, in which request. Append-only: rows are never updated or deleted
-- (the triggers refuse it, whoever asks, TRUNCATE included), and they name people and records by pseudonymous
-- ids only, so the trail outlives the retention of patient data.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('api_key', 'user', 'patient', 'system')),
    actor_id    TEXT,
    role        TEXT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT,
    request_id  TEXT,
    detail      TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, at);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
