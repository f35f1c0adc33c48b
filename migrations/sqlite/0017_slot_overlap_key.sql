-- PostgreSQL keys its overlap guard on a number per professional (see its 0017). SQLite has no such index: a
-- professional's overlaps are refused inside the BEGIN IMMEDIATE publishing transaction (see 0001), so nothing
-- changes here; the migration exists so that both databases keep the same versions.
SELECT 1;
