-- Foundation: practices, professionals, slots, API keys (SQLite).
-- Instants are TEXT written by sqlx as RFC 3339 in UTC (2026-11-27T17:00:00+00:00, fraction digits only when
-- non-zero): for four-digit years text order is time order, because '+' sorts before '.' and the digits.

CREATE TABLE practices (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('cabinet', 'msp', 'esp', 'centre_de_sante')),
    address     TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    commune     TEXT NOT NULL,
    departement TEXT NOT NULL,
    lat         REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    timezone    TEXT NOT NULL,
    phone       TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX practices_departement ON practices (departement);

CREATE TABLE professionals (
    id                   TEXT PRIMARY KEY,
    rpps                 TEXT UNIQUE,
    adeli                TEXT UNIQUE,
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    profession           TEXT NOT NULL,
    accepts_new_patients INTEGER NOT NULL,
    accepts_overbooking  INTEGER NOT NULL,
    home_visit_radius_km REAL,
    email                TEXT,
    phone                TEXT,
    created_at           TEXT NOT NULL,
    CHECK ((rpps IS NULL) <> (adeli IS NULL))
);
CREATE INDEX professionals_profession ON professionals (profession);

CREATE TABLE professional_skills (
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    skill           TEXT NOT NULL,
    PRIMARY KEY (professional_id, skill)
);
CREATE INDEX professional_skills_skill ON professional_skills (skill);

CREATE TABLE professional_practices (
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    practice_id     TEXT NOT NULL REFERENCES practices (id),
    PRIMARY KEY (professional_id, practice_id)
);
CREATE INDEX professional_practices_practice ON professional_practices (practice_id);

-- Overlap between a professional's slots is refused inside the BEGIN IMMEDIATE publishing transaction
-- (SQLite has one writer at a time, so the check and the insert cannot interleave with another publisher).
CREATE TABLE slots (
    id              TEXT PRIMARY KEY,
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    practice_id     TEXT NOT NULL REFERENCES practices (id),
    start_at        TEXT NOT NULL,
    end_at          TEXT NOT NULL,
    modality        TEXT NOT NULL CHECK (modality IN ('in_person', 'home_visit', 'teleconsultation')),
    visibility      TEXT NOT NULL CHECK (visibility IN ('public', 'regulation', 'cpts')),
    status          TEXT NOT NULL CHECK (status IN ('free', 'held', 'booked', 'withdrawn')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX slots_professional_start ON slots (professional_id, start_at);
CREATE INDEX slots_practice_start ON slots (practice_id, start_at);
CREATE INDEX slots_free_start ON slots (start_at) WHERE status = 'free';

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'regulator', 'professional', 'publisher')),
    professional_id TEXT REFERENCES professionals (id),
    key_digest      TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    revoked_at      TEXT
);

CREATE TABLE api_key_practices (
    api_key_id  TEXT NOT NULL REFERENCES api_keys (id),
    practice_id TEXT NOT NULL REFERENCES practices (id),
    PRIMARY KEY (api_key_id, practice_id)
);
