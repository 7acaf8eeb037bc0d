-- The plate of the ticket, and the stay a re-entry continued, as columns
-- of the visit, so the re-entry lookup (LastExitByPlate) is an indexed
-- query instead of a read of every visit record in the journal. The
-- continued stay is the one of the visit's current quote: its visit
-- record's, or that of the latest attendant re-pricing (reprice).
ALTER TABLE visits ADD COLUMN plate text NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN continued_entry timestamptz;        -- the continued stay's first entry
ALTER TABLE visits ADD COLUMN continued_paid bigint NOT NULL DEFAULT 0;  -- what that stay paid, fils

-- Rows applied before this migration: from the records the journal kept.
-- Amounts in records are decimals ("30.00", money's text form).
UPDATE visits v SET plate = COALESCE(j.rec->'Ticket'->>'Plate', ''),
                    continued_entry = (j.rec->'Quote'->'Continued'->>'Entry')::timestamptz,
                    continued_paid = COALESCE(round((j.rec->'Quote'->'Continued'->>'Paid')::numeric * 100)::bigint, 0)
    FROM journal j
    WHERE j.site = v.site AND j.lane = v.lane AND j.kind = 'visit' AND (j.rec->>'Visit')::bigint = v.visit;
UPDATE visits v SET continued_entry = (j.rec->'Quote'->'Continued'->>'Entry')::timestamptz,
                    continued_paid = COALESCE(round((j.rec->'Quote'->'Continued'->>'Paid')::numeric * 100)::bigint, 0)
    FROM (SELECT DISTINCT ON (site, lane, (rec->>'Visit')::bigint) site, lane, rec
            FROM journal WHERE kind = 'reprice'
            ORDER BY site, lane, (rec->>'Visit')::bigint, seq DESC) j
    WHERE j.site = v.site AND j.lane = v.lane AND (j.rec->>'Visit')::bigint = v.visit;

-- A plate's visits at the site, latest exit first.
CREATE INDEX visits_plate ON visits (site, plate, ended_at) WHERE plate <> '';
