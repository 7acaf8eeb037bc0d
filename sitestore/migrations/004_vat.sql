-- The vehicle class of the ticket, and the VAT of every amount, as the
-- lanes' ledgers keep them (their migration 005). Rates are hundredths of
-- a percent (500 is 5 %), the rate the tariff's prices included when the
-- amount was priced; VAT amounts are integer fils, money.VATPart of the
-- amount at that rate: round(amount × rate / (10000 + rate)), a half fils
-- away from zero, which is what PostgreSQL's round(numeric) does.
ALTER TABLE visits ADD COLUMN class text NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN vat_rate bigint NOT NULL DEFAULT 0;  -- of the quote
ALTER TABLE visits ADD COLUMN vat bigint NOT NULL DEFAULT 0;       -- VAT in due
ALTER TABLE orders ADD COLUMN vat_rate bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN vat bigint NOT NULL DEFAULT 0;       -- VAT in paid
ALTER TABLE exits ADD COLUMN vat_rate bigint NOT NULL DEFAULT 0;
ALTER TABLE exits ADD COLUMN vat bigint NOT NULL DEFAULT 0;        -- VAT in amount
ALTER TABLE refunds ADD COLUMN vat bigint NOT NULL DEFAULT 0;      -- VAT in amount, at the order's rate

-- Rows applied before this migration get their class and rates from the
-- records the journal kept (a lane without VAT wrote none: 0, as in its
-- ledger), and their VAT computed as the lane's ledger computed it.
CREATE FUNCTION pg_temp.vat_part(gross bigint, rate bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN rate <= 0 THEN 0 ELSE round(gross::numeric * rate / (10000 + rate))::bigint END $$;

UPDATE visits v SET class = COALESCE(j.rec->'Ticket'->>'Class', ''),
                    vat_rate = COALESCE((j.rec->'Quote'->>'VATRate')::bigint, 0)
    FROM journal j
    WHERE j.site = v.site AND j.lane = v.lane AND j.kind = 'visit' AND (j.rec->>'Visit')::bigint = v.visit;
-- A validation re-priced the visit: its quote's rate is the one of due.
UPDATE visits v SET vat_rate = COALESCE((j.rec->'Quote'->>'VATRate')::bigint, 0)
    FROM (SELECT DISTINCT ON (site, lane, (rec->>'Visit')::bigint) site, lane, rec
            FROM journal WHERE kind = 'validation'
            ORDER BY site, lane, (rec->>'Visit')::bigint, seq DESC) j
    WHERE j.site = v.site AND j.lane = v.lane AND (j.rec->>'Visit')::bigint = v.visit;
UPDATE visits SET vat = pg_temp.vat_part(due, vat_rate) WHERE vat_rate > 0;

UPDATE orders o SET vat_rate = COALESCE((j.rec->>'VATRate')::bigint, 0)
    FROM journal j
    WHERE j.site = o.site AND j.lane = o.lane AND j.kind = 'order' AND j.rec->>'No' = o.merchant_order_no;
UPDATE orders SET vat = pg_temp.vat_part(paid, vat_rate) WHERE vat_rate > 0;

UPDATE exits x SET vat_rate = COALESCE((j.rec->>'VATRate')::bigint, 0)
    FROM journal j
    WHERE j.site = x.site AND j.lane = x.lane AND j.kind = 'exit' AND j.rec->>'Auth' = x.auth;
UPDATE exits SET vat = pg_temp.vat_part(amount, vat_rate) WHERE vat_rate > 0;

UPDATE refunds r SET vat = pg_temp.vat_part(r.amount, o.vat_rate)
    FROM orders o
    WHERE o.site = r.site AND o.merchant_order_no = r.merchant_order_no AND o.vat_rate > 0;

DROP FUNCTION pg_temp.vat_part(bigint, bigint);
