-- The outbox: every record the ledger accepted, numbered 1, 2, 3, ...
-- without gaps in commit order, written in the same transaction as the
-- record itself, for the site store (docs/site-store.md, the replication
-- contract). kind and rec are lane.EncodeRecord's; the store's last applied
-- seq says what was shipped, so a crash at any point loses nothing and
-- duplicates nothing. Records written before this migration have no row.
CREATE TABLE outbox (
    seq   INTEGER PRIMARY KEY,
    kind  TEXT    NOT NULL,
    rec   TEXT    NOT NULL,
    at    INTEGER NOT NULL   -- when the ledger wrote it
);

-- A decision taken while the site store could not be reached in time: a
-- visit priced from this lane's ledger alone, an exit authorised without
-- a site-wide claim.
ALTER TABLE visits ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
ALTER TABLE exits ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
