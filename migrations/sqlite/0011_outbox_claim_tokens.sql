-- Each claim of a batch of messages carries a token of its own: a worker renews its lease before sending each
-- message and records the outcome only while the message is still its claim, so a batch that outlasts its lease
-- is never sent twice by the worker that took over.
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
