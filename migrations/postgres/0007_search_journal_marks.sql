-- Pruning the search journal by when rows were written could drop the rows of a long transaction as soon as it
-- commits, before any process replayed them. Instead, each prune pass notes the oldest transaction still running,
-- and deletes only rows of transactions older than a mark taken more than an hour ago: over an hour ago at least.
DROP INDEX search_journal_created;
ALTER TABLE search_journal DROP COLUMN created_at;

CREATE TABLE search_journal_marks (
    taken_at TIMESTAMPTZ NOT NULL,
    horizon  xid8 NOT NULL
);
