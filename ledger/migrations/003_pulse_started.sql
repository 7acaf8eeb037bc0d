-- A pulse is recorded as started (started_at, committed before the ON
-- frame is sent) and as completed (done_at, after OFF). A row started and
-- never completed is a pulse the lane stopped inside of: the barrier may
-- have opened. A row authorised and never started was never sent.
ALTER TABLE barrier_events ADD COLUMN started_at INTEGER;
-- Rows written before this migration have no start: a pulse that was, or
-- may have been, sent counts as started at its authorisation.
UPDATE barrier_events SET started_at = at WHERE state IN ('authorised', 'pulsed', 'unknown');
-- The authorisation whose pulse was interrupted, when this pulse opens the
-- barrier again for the same ticket ("opened again after an interrupted
-- pulse"); '' otherwise.
ALTER TABLE barrier_events ADD COLUMN reopens TEXT NOT NULL DEFAULT '';

-- An exit whose outcome the lane lost (state unknown) is replaced by the
-- next exit of its ticket, which takes over its payments: the report counts
-- the vehicle and its money once. Cleared again if the replacing exit's
-- pulse fails.
ALTER TABLE exits ADD COLUMN replaced_by INTEGER REFERENCES exits(id);
