-- The vehicle class of the ticket, and the VAT of every amount. Rates are
-- hundredths of a percent (500 is 5 %), the rate the tariff's prices
-- included when the amount was priced; VAT amounts are integer fils,
-- money.VATPart of the amount at that rate (VAT-inclusive prices: the
-- VAT is part of the amount, never added). Rows written before this
-- migration have rate and VAT 0: their VAT is unknown, not zero, and the
-- reports count none for them.
ALTER TABLE visits ADD COLUMN class TEXT NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN vat_rate INTEGER NOT NULL DEFAULT 0; -- of the quote
ALTER TABLE visits ADD COLUMN vat INTEGER NOT NULL DEFAULT 0;      -- VAT in due
ALTER TABLE orders ADD COLUMN vat_rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN vat INTEGER NOT NULL DEFAULT 0;      -- VAT in paid
ALTER TABLE exits ADD COLUMN vat_rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE exits ADD COLUMN vat INTEGER NOT NULL DEFAULT 0;       -- VAT in amount
ALTER TABLE refunds ADD COLUMN vat INTEGER NOT NULL DEFAULT 0;     -- VAT in amount, at the order's rate
