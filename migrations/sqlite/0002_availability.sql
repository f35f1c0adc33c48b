-- Recurring availability rules, the slots they materialise, and absences.

CREATE TABLE availability_rules (
    id              TEXT PRIMARY KEY,
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    practice_id     TEXT NOT NULL REFERENCES practices (id),
    weekdays        TEXT NOT NULL,          -- mon,tue,… (Monday first)
    start_time      TEXT NOT NULL,          -- HH:MM, wall clock in the practice's zone
    end_time        TEXT NOT NULL,          -- HH:MM; earlier than start_time = the window crosses midnight
    slot_minutes    INTEGER NOT NULL CHECK (slot_minutes > 0),
    modality        TEXT NOT NULL CHECK (modality IN ('in_person', 'home_visit', 'teleconsultation')),
    visibility      TEXT NOT NULL CHECK (visibility IN ('public', 'regulation', 'cpts')),
    valid_from      TEXT NOT NULL,          -- YYYY-MM-DD, local date
    valid_until     TEXT,
    public_holidays TEXT NOT NULL CHECK (public_holidays IN ('skip', 'include', 'only')),
    season_from     TEXT,                   -- MM-DD
    season_to       TEXT,
    -- Bumped by every change or deletion: a horizon pass that expanded an older version writes nothing.
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- A deleted rule is kept: booked slots it produced still name it.
    deleted_at      TEXT
);
CREATE INDEX availability_rules_professional ON availability_rules (professional_id);

-- The rule a slot was materialised from (NULL for one-off slots). One slot per rule and start: re-running the
-- horizon job, from any number of processes, can never duplicate a slot.
ALTER TABLE slots ADD COLUMN rule_id TEXT REFERENCES availability_rules (id);
-- The rule version that produced (or, after a change, kept) the slot: a cancelled booking frees its slot again
-- only if the current version of its rule still produces it.
ALTER TABLE slots ADD COLUMN rule_version INTEGER;
CREATE UNIQUE INDEX slots_rule_start ON slots (rule_id, start_at);

CREATE TABLE absences (
    id              TEXT PRIMARY KEY,
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    start_at        TEXT NOT NULL,
    end_at          TEXT NOT NULL,
    reason          TEXT,
    created_at      TEXT NOT NULL,
    deleted_at      TEXT,
    CHECK (end_at > start_at)
);
CREATE INDEX absences_professional ON absences (professional_id, start_at);
