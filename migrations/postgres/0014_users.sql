-- Console accounts: one role of the contract each (a professional user acts for one professional), an argon2id
-- password hash, and the lock-out counters. Logins are unique, lower-cased.
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'regulator', 'professional')),
    professional_id     TEXT REFERENCES professionals (id),
    password_hash       TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    password_changed_at TIMESTAMPTZ NOT NULL,
    disabled_at         TIMESTAMPTZ,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        TIMESTAMPTZ
);
-- Console sessions, in our own table: the digest of the cookie's 256-bit secret (never the secret), the CSRF
-- token of the session's forms, and the times that end it (idle, absolute, logout).
CREATE TABLE sessions (
    id_digest    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);
