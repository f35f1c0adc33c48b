-- The search index's change journal. Every write that can change what a search finds (slots, holds, bookings,
-- absences, a professional's skills, practices or ages) names the professional it concerns, in the same
-- transaction — by trigger, so that no write path, present or future, can forget it. Each server process replays
-- the journal into its in-memory search index (`routing::live`) before it searches.
--
-- Sequence numbers are handed out before commit, so on PostgreSQL they do not grow in commit order. Each row
-- therefore carries its transaction id: a reader advances its cursor, in (txid, seq) order, only over rows whose
-- transaction is older than the oldest one still running (`pg_snapshot_xmin`) — those can no longer change —
-- and applies younger visible rows without moving past them. No committed change is ever skipped.
CREATE TABLE search_journal (
    txid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq             BIGSERIAL,
    professional_id TEXT NOT NULL,
    -- Only for pruning (rows older than an hour): the database's own clock is enough for that.
    created_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (txid, seq)
);
CREATE INDEX search_journal_created ON search_journal (created_at);

-- Statement-level triggers: a batch of 5,000 slots writes one journal row per professional, not per slot.
CREATE FUNCTION search_journal_new_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_journal (professional_id) SELECT DISTINCT professional_id FROM new_rows;
    RETURN NULL;
END $$;
CREATE FUNCTION search_journal_old_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_journal (professional_id) SELECT DISTINCT professional_id FROM old_rows;
    RETURN NULL;
END $$;
CREATE FUNCTION search_journal_bookings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_journal (professional_id)
        SELECT DISTINCT s.professional_id FROM new_rows b JOIN slots s ON s.id = b.slot_id;
    RETURN NULL;
END $$;
CREATE FUNCTION search_journal_professionals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_journal (professional_id) SELECT id FROM new_rows;
    RETURN NULL;
END $$;
CREATE FUNCTION search_journal_practices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_journal (professional_id)
        SELECT DISTINCT l.professional_id FROM new_rows p JOIN professional_practices l ON l.practice_id = p.id;
    RETURN NULL;
END $$;

CREATE TRIGGER search_journal_slot_insert AFTER INSERT ON slots
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_new_rows();
CREATE TRIGGER search_journal_slot_update AFTER UPDATE ON slots
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_new_rows();
CREATE TRIGGER search_journal_slot_delete AFTER DELETE ON slots
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_old_rows();

CREATE TRIGGER search_journal_absence_insert AFTER INSERT ON absences
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_new_rows();
CREATE TRIGGER search_journal_absence_update AFTER UPDATE ON absences
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_new_rows();
CREATE TRIGGER search_journal_absence_delete AFTER DELETE ON absences
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_old_rows();

-- Bookings feed the fairness tie-break (regulated bookings of the last 7 days).
CREATE TRIGGER search_journal_booking_insert AFTER INSERT ON bookings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_bookings();
CREATE TRIGGER search_journal_booking_update AFTER UPDATE ON bookings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_bookings();

CREATE TRIGGER search_journal_professional_insert AFTER INSERT ON professionals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_professionals();
CREATE TRIGGER search_journal_professional_update AFTER UPDATE ON professionals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_professionals();
CREATE TRIGGER search_journal_skill_insert AFTER INSERT ON professional_skills
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_new_rows();
CREATE TRIGGER search_journal_skill_delete AFTER DELETE ON professional_skills
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_old_rows();
CREATE TRIGGER search_journal_link_insert AFTER INSERT ON professional_practices
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_new_rows();
CREATE TRIGGER search_journal_link_delete AFTER DELETE ON professional_practices
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_old_rows();
CREATE TRIGGER search_journal_practice_update AFTER UPDATE ON practices
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_journal_practices();
