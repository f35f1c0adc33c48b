-- Pruning the search journal by when rows were written could drop the rows of a long transaction as soon as it
-- commits, before any process replayed them. Instead, each prune pass notes where the journal ends, and deletes
-- only what was already there at a mark taken more than an hour ago: committed an hour ago at least.
DROP INDEX search_journal_created;
ALTER TABLE search_journal DROP COLUMN created_at;

CREATE TABLE search_journal_marks (
    taken_at TEXT NOT NULL,
    seq      INTEGER NOT NULL
);
