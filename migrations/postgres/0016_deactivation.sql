-- Practices and professionals are deactivated, never deleted: bookings, slots and the audit trail keep naming
-- them. While `deactivated_at` is set, nothing of theirs is offered, held, booked, published or materialised
-- (the conditions are in the statements that do those things), and the search journal's update triggers tell
-- every process's search index at once.
ALTER TABLE practices ADD COLUMN deactivated_at TIMESTAMPTZ;
ALTER TABLE professionals ADD COLUMN deactivated_at TIMESTAMPTZ;
