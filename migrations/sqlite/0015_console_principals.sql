-- A console user acts, like agenda or regulation software, as a principal: holds name who made them
-- (holds.api_key_id) and bookings who made them (bookings.booked_by). Each user therefore has one principal row in
-- api_keys, with the user's id and a digest no key can have ('user:' + id is not a SHA-256 hex digest), so it
-- authenticates nothing; the key listings and revocation leave it out.
ALTER TABLE api_keys ADD COLUMN user_id TEXT REFERENCES users (id);
INSERT INTO api_keys (id, name, role, professional_id, key_digest, created_at, user_id)
SELECT id, 'console ' || email, role, professional_id, 'user:' || id, created_at, id FROM users;
