-- The search index's change journal. Every write that can change what a search finds (slots, holds, bookings,
-- absences, a professional's skills, practices or ages) names the professional it concerns, in the same
-- transaction — by trigger, so that no write path, present or future, can forget it. Each server process replays
-- the journal into its in-memory search index (`routing::live`) before it searches.
--
-- SQLite has one writer at a time, so `seq` grows in commit order: a reader that has seen `seq` N has seen every
-- change up to N. AUTOINCREMENT keeps `seq` growing even after old rows are pruned.
CREATE TABLE search_journal (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    professional_id TEXT NOT NULL,
    -- Only for pruning (rows older than an hour): the database's own clock is enough for that.
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX search_journal_created ON search_journal (created_at);

CREATE TRIGGER search_journal_slot_insert AFTER INSERT ON slots BEGIN
    INSERT INTO search_journal (professional_id) VALUES (NEW.professional_id);
END;
CREATE TRIGGER search_journal_slot_update AFTER UPDATE ON slots BEGIN
    INSERT INTO search_journal (professional_id) VALUES (NEW.professional_id);
END;
CREATE TRIGGER search_journal_slot_delete AFTER DELETE ON slots BEGIN
    INSERT INTO search_journal (professional_id) VALUES (OLD.professional_id);
END;

CREATE TRIGGER search_journal_absence_insert AFTER INSERT ON absences BEGIN
    INSERT INTO search_journal (professional_id) VALUES (NEW.professional_id);
END;
CREATE TRIGGER search_journal_absence_update AFTER UPDATE ON absences BEGIN
    INSERT INTO search_journal (professional_id) VALUES (NEW.professional_id);
END;
CREATE TRIGGER search_journal_absence_delete AFTER DELETE ON absences BEGIN
    INSERT INTO search_journal (professional_id) VALUES (OLD.professional_id);
END;

-- Bookings feed the fairness tie-break (regulated bookings of the last 7 days).
CREATE TRIGGER search_journal_booking_insert AFTER INSERT ON bookings BEGIN
    INSERT INTO search_journal (professional_id) SELECT professional_id FROM slots WHERE id = NEW.slot_id;
END;
CREATE TRIGGER search_journal_booking_update AFTER UPDATE ON bookings BEGIN
    INSERT INTO search_journal (professional_id) SELECT professional_id FROM slots WHERE id = NEW.slot_id;
END;

CREATE TRIGGER search_journal_professional_insert AFTER INSERT ON professionals BEGIN
    INSERT INTO search_journal (professional_id) VALUES (NEW.id);
END;
CREATE TRIGGER search_journal_professional_update AFTER UPDATE ON professionals BEGIN
    INSERT INTO search_journal (professional_id) VALUES (NEW.id);
END;
CREATE TRIGGER search_journal_skill_insert AFTER INSERT ON professional_skills BEGIN
    INSERT INTO search_journal (professional_id) VALUES (NEW.professional_id);
END;
CREATE TRIGGER search_journal_skill_delete AFTER DELETE ON professional_skills BEGIN
    INSERT INTO search_journal (professional_id) VALUES (OLD.professional_id);
END;
CREATE TRIGGER search_journal_link_insert AFTER INSERT ON professional_practices BEGIN
    INSERT INTO search_journal (professional_id) VALUES (NEW.professional_id);
END;
CREATE TRIGGER search_journal_link_delete AFTER DELETE ON professional_practices BEGIN
    INSERT INTO search_journal (professional_id) VALUES (OLD.professional_id);
END;
CREATE TRIGGER search_journal_practice_update AFTER UPDATE ON practices BEGIN
    INSERT INTO search_journal (professional_id)
        SELECT professional_id FROM professional_practices WHERE practice_id = NEW.id;
END;
