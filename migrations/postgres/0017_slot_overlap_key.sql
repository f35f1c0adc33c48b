-- The database's guard against overlapping slots of one professional (the exclusion constraint of 0001) keyed on
-- a number instead of the professional's text id. btree_gist compares text keys character by character, through
-- the collation, at every level of the tree on every insert: that was four fifths of the cost of writing a slot
-- (99 µs a row, against 40 µs with a number, over 364,000 slots of the national benchmark), and publishing on
-- PostgreSQL was bound by it.
--
-- The number is the professional's own, given by the database. A trigger writes it on every slot inserted (or
-- moved to another professional), so that no write path, present or future, has to know about it; the foreign
-- key on both columns (MATCH FULL: neither may be missing) keeps it in agreement with the professional's id
-- whatever a statement sets, and replaces the foreign key on the id alone.
ALTER TABLE professionals ADD COLUMN number BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE professionals ADD CONSTRAINT professionals_id_number UNIQUE (id, number);

CREATE FUNCTION slots_professional_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An unknown professional leaves the number missing: the foreign key then refuses the row, as before.
    NEW.professional_number := (SELECT number FROM professionals WHERE id = NEW.professional_id);
    RETURN NEW;
END;
$$;

ALTER TABLE slots ADD COLUMN professional_number BIGINT;
UPDATE slots s SET professional_number = p.number FROM professionals p WHERE p.id = s.professional_id;
CREATE TRIGGER slots_professional_number BEFORE INSERT OR UPDATE OF professional_id, professional_number ON slots
    FOR EACH ROW EXECUTE FUNCTION slots_professional_number();

ALTER TABLE slots DROP CONSTRAINT slots_professional_id_fkey;
ALTER TABLE slots ADD CONSTRAINT slots_professional_fkey FOREIGN KEY (professional_id, professional_number)
    REFERENCES professionals (id, number) MATCH FULL;

ALTER TABLE slots DROP CONSTRAINT slots_no_overlap;
ALTER TABLE slots ADD CONSTRAINT slots_no_overlap EXCLUDE USING gist (
    professional_number WITH =,
    tstzrange(start_at, end_at, '[)') WITH &&
) WHERE (status <> 'withdrawn');
