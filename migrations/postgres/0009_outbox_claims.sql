-- Workers claim due messages for a lease: another worker leaves a claimed message alone until the lease ends
-- (a worker that died mid-send is thus replaced), and each attempt is counted when it is claimed.
ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMPTZ;
-- The provider's id for a sent message (SMTP queue id, SMS job id).
ALTER TABLE outbox ADD COLUMN provider_id TEXT;
