-- The vehicle's identity for a re-entry (tariff.reentry), and the stay a
-- re-entry continues. plate is the plate the ticket carries (EL3 codes, a
-- pattern's plate group; '' for none); continues is the ticket id of the
-- earlier visit this one continues ('' for none), session_entry that
-- stay's first entry and previous_paid what it had paid (less refunds),
-- so a second re-entry continues the same stay from the same entry. A
-- lost ticket's class and known entry are the visit's class and entry_at.
ALTER TABLE visits ADD COLUMN plate TEXT NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN continues TEXT NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN session_entry INTEGER;
ALTER TABLE visits ADD COLUMN previous_paid INTEGER NOT NULL DEFAULT 0;
CREATE INDEX visits_plate ON visits(plate) WHERE plate <> '';
CREATE INDEX visits_serial ON visits(serial) WHERE serial <> '';
