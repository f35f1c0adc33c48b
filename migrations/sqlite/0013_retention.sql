-- Retention: a booking's patient data (names, birth date, phone, email, note, cancellation reason) is erased a
-- configured number of days after its slot; the row stays, with its ids and times, for statistics and the
-- audit trail. Erased bookings have empty names and birth date and this instant set.
ALTER TABLE bookings ADD COLUMN patient_erased_at TEXT;
