-- A pulse is recorded as started (lane.PulseStartRec) before its ON frame
-- and as done (lane.PulseRec) after its OFF frame, as in the lane's ledger
-- (its migration 003). An authorisation started and never done is a pulse
-- whose outcome is unknown: the lane crashed inside the hold.
ALTER TABLE barrier_events ADD COLUMN started_at timestamptz;
