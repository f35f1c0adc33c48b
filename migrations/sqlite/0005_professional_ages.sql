-- The ages a professional sees (e.g. a GP who does not see infants, a paediatric physio): in months, the upper
-- bound exclusive, both optional. Searches and bookings respect them as well as the reason's.
ALTER TABLE professionals ADD COLUMN min_patient_age_months INTEGER;
ALTER TABLE professionals ADD COLUMN max_patient_age_months INTEGER;
