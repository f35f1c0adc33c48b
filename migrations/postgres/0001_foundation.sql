-- Foundation: practices, professionals, slots, API keys (PostgreSQL).

-- btree_gist lets one exclusion constraint combine equality on the professional with overlap of time ranges.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE practices (
    id          TEXT PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL, -- bytewise order, as SQLite sorts: identical lists on both
    kind        TEXT NOT NULL CHECK (kind IN ('cabinet', 'msp', 'esp', 'centre_de_sante')),
    address     TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    commune     TEXT NOT NULL,
    departement TEXT NOT NULL,
    lat         DOUBLE PRECISION NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         DOUBLE PRECISION NOT NULL CHECK (lon BETWEEN -180 AND 180),
    timezone    TEXT NOT NULL,
    phone       TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX practices_departement ON practices (departement);

CREATE TABLE professionals (
    id                   TEXT PRIMARY KEY,
    rpps                 TEXT UNIQUE,
    adeli                TEXT UNIQUE,
    first_name           TEXT COLLATE "C" NOT NULL,
    last_name            TEXT COLLATE "C" NOT NULL,
    profession           TEXT NOT NULL,
    accepts_new_patients BOOLEAN NOT NULL,
    accepts_overbooking  BOOLEAN NOT NULL,
    home_visit_radius_km DOUBLE PRECISION,
    email                TEXT,
    phone                TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
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

CREATE TABLE slots (
    id              TEXT PRIMARY KEY,
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    practice_id     TEXT NOT NULL REFERENCES practices (id),
    start_at        TIMESTAMPTZ NOT NULL,
    end_at          TIMESTAMPTZ NOT NULL,
    modality        TEXT NOT NULL CHECK (modality IN ('in_person', 'home_visit', 'teleconsultation')),
    visibility      TEXT NOT NULL CHECK (visibility IN ('public', 'regulation', 'cpts')),
    status          TEXT NOT NULL CHECK (status IN ('free', 'held', 'booked', 'withdrawn')),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CHECK (end_at > start_at),
    -- The database itself refuses two live slots of one professional that overlap, whoever publishes them
    -- and however concurrently: a withdrawn slot frees its time.
    CONSTRAINT slots_no_overlap EXCLUDE USING gist (
        professional_id WITH =,
        tstzrange(start_at, end_at, '[)') WITH &&
    ) WHERE (status <> 'withdrawn')
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
    created_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);

CREATE TABLE api_key_practices (
    api_key_id  TEXT NOT NULL REFERENCES api_keys (id),
    practice_id TEXT NOT NULL REFERENCES practices (id),
    PRIMARY KEY (api_key_id, practice_id)
);
