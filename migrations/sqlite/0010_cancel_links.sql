-- The patients' cancel links: the SHA-256 digest of each token the worker put in a message (never the token),
-- the booking it cancels, and until when. A link is used once; a booking has one link per message sent.
CREATE TABLE cancel_links (
    token_digest TEXT PRIMARY KEY,
    booking_id   TEXT NOT NULL REFERENCES bookings (id),
    expires_at   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    used_at      TEXT
);
CREATE INDEX cancel_links_booking ON cancel_links (booking_id);
