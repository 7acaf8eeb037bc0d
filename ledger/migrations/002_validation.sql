-- Validations applied at the exit (a stamp scanned or chosen by an
-- attendant): the code and its name on the visit.
ALTER TABLE visits ADD COLUMN validation TEXT NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN validation_name TEXT NOT NULL DEFAULT '';
