-- Every search, recorded pseudonymously for unmet-demand statistics: no patient data, only bands.
CREATE TABLE searches (
    id           TEXT PRIMARY KEY,
    created_at   TIMESTAMPTZ NOT NULL,
    api_key_id   TEXT NOT NULL,
    motif        TEXT,
    profession   TEXT,
    age_band     TEXT,             -- 0-1y, 1-3y, 3-6y, 6-18y, 18-65y, 65y+
    departement  TEXT,
    delay_band   TEXT NOT NULL,    -- 0-4h, 4-8h, 8-12h, 12-24h, 24-48h, 48-72h, 72h+
    modality     TEXT,
    radius_km    DOUBLE PRECISION NOT NULL,
    widened      BOOLEAN NOT NULL,
    result_count INTEGER NOT NULL,
    -- The booking this search led to, set when a booking names the search.
    booking_id   TEXT
);
CREATE INDEX searches_created ON searches (created_at);
