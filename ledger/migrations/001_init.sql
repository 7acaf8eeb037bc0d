-- The exit lane's ledger. Instants are Unix milliseconds (UTC); amounts are
-- integer fils. Every operation is one transaction (see ledger.go).

CREATE TABLE visits (
    id              INTEGER PRIMARY KEY,          -- the lane's visit id
    started_at      INTEGER NOT NULL,
    ticket_id       TEXT    NOT NULL DEFAULT '',  -- stable ticket identity (anti-passback)
    serial          TEXT    NOT NULL DEFAULT '',
    format          TEXT    NOT NULL DEFAULT '',
    entry_at        INTEGER,
    signed          INTEGER NOT NULL DEFAULT 0,
    lost            INTEGER NOT NULL DEFAULT 0,
    fee             INTEGER NOT NULL DEFAULT 0,
    paid_before     INTEGER NOT NULL DEFAULT 0,
    due             INTEGER NOT NULL DEFAULT 0,
    free            TEXT    NOT NULL DEFAULT '',
    refused         TEXT    NOT NULL DEFAULT '',  -- notice kind when refused
    override        INTEGER NOT NULL DEFAULT 0,
    attendant       TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '',
    ended_at        INTEGER,
    outcome         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX visits_ticket ON visits(ticket_id) WHERE ticket_id <> '';
CREATE INDEX visits_started ON visits(started_at);

CREATE TABLE orders (
    merchant_order_no TEXT PRIMARY KEY,
    visit_id        INTEGER NOT NULL REFERENCES visits(id),
    ticket_id       TEXT    NOT NULL DEFAULT '',
    order_key       TEXT    NOT NULL,
    attempt         INTEGER NOT NULL CHECK (attempt > 0),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    created_at      INTEGER NOT NULL,
    expire_at       INTEGER NOT NULL,
    -- new (stored, placeOrder not confirmed), created, paid, failed, not_found
    status          TEXT    NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'created', 'paid', 'failed', 'not_found')),
    payby_status    TEXT    NOT NULL DEFAULT '',
    status_at       INTEGER NOT NULL,
    paid            INTEGER NOT NULL DEFAULT 0,
    paid_at         INTEGER,
    refunded        INTEGER NOT NULL DEFAULT 0,
    abandoned_at    INTEGER,
    exit_id         INTEGER REFERENCES exits(id), -- the live exit this payment paid for
    resolved_at     INTEGER,
    resolved_by     TEXT    NOT NULL DEFAULT '',
    resolution      TEXT    NOT NULL DEFAULT '',
    UNIQUE (order_key, attempt)
);
CREATE INDEX orders_ticket ON orders(ticket_id) WHERE ticket_id <> '';
CREATE INDEX orders_open ON orders(visit_id) WHERE status IN ('new', 'created');
CREATE INDEX orders_paid_not_exited ON orders(paid_at)
    WHERE paid > 0 AND exit_id IS NULL AND resolved_at IS NULL;
CREATE INDEX orders_paid_at ON orders(paid_at) WHERE paid > 0;
CREATE INDEX orders_exit ON orders(exit_id);

CREATE TABLE order_events (
    id                INTEGER PRIMARY KEY,
    merchant_order_no TEXT    NOT NULL REFERENCES orders(merchant_order_no),
    at                INTEGER NOT NULL,
    status            TEXT    NOT NULL,
    payby_status      TEXT    NOT NULL DEFAULT '',
    source            TEXT    NOT NULL
                      CHECK (source IN ('store', 'create', 'poll', 'notification', 'reconcile', 'cancel'))
);
CREATE INDEX order_events_order ON order_events(merchant_order_no);

CREATE TABLE exits (
    id                INTEGER PRIMARY KEY,
    visit_id          INTEGER NOT NULL REFERENCES visits(id),
    ticket_id         TEXT    NOT NULL DEFAULT '',
    at                INTEGER NOT NULL,
    cause             TEXT    NOT NULL,
    amount            INTEGER NOT NULL DEFAULT 0, -- paid, waived or owed
    merchant_order_no TEXT    REFERENCES orders(merchant_order_no),
    attendant         TEXT    NOT NULL DEFAULT '',
    reason            TEXT    NOT NULL DEFAULT '',
    override          INTEGER NOT NULL DEFAULT 0,
    -- pending: authorised, pulse not yet confirmed; completed: pulsed;
    -- void: the pulse failed; unknown: the lane stopped while pending.
    state             TEXT    NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'completed', 'void', 'unknown')),
    resolved_at       INTEGER,
    resolved_by       TEXT    NOT NULL DEFAULT '',
    CONSTRAINT override_needs_reason CHECK (override = 0 OR (attendant <> '' AND reason <> '')),
    CONSTRAINT attendant_needs_reason CHECK (
        cause NOT IN ('manual', 'exempt', 'unable_to_collect', 'override') OR (attendant <> '' AND reason <> ''))
);
-- Anti-passback: a ticket completes one exit, unless an attendant overrides.
CREATE UNIQUE INDEX exits_once ON exits(ticket_id)
    WHERE ticket_id <> '' AND override = 0 AND state IN ('pending', 'completed');
CREATE INDEX exits_ticket ON exits(ticket_id) WHERE ticket_id <> '';
CREATE INDEX exits_order ON exits(merchant_order_no) WHERE merchant_order_no IS NOT NULL;
CREATE INDEX exits_at ON exits(at);
CREATE INDEX exits_pending ON exits(state) WHERE state = 'pending';
CREATE INDEX exits_unable ON exits(at) WHERE cause = 'unable_to_collect' AND resolved_at IS NULL;

CREATE TABLE barrier_events (
    id                INTEGER PRIMARY KEY,
    auth              TEXT    NOT NULL UNIQUE,    -- one row per authorised pulse
    at                INTEGER NOT NULL,
    cause             TEXT    NOT NULL,
    actor             TEXT    NOT NULL,           -- 'lane' or the attendant id
    reason            TEXT    NOT NULL DEFAULT '',
    merchant_order_no TEXT    NOT NULL DEFAULT '',
    visit_id          INTEGER,
    exit_id           INTEGER REFERENCES exits(id),
    state             TEXT    NOT NULL DEFAULT 'authorised'
                      CHECK (state IN ('authorised', 'pulsed', 'failed', 'unknown')),
    done_at           INTEGER,
    error             TEXT    NOT NULL DEFAULT '',
    CONSTRAINT attendant_needs_reason CHECK (
        cause NOT IN ('manual', 'exempt', 'unable_to_collect', 'override') OR (actor <> 'lane' AND reason <> ''))
);
CREATE INDEX barrier_authorised ON barrier_events(state) WHERE state = 'authorised';
CREATE INDEX barrier_exit ON barrier_events(exit_id) WHERE exit_id IS NOT NULL;

CREATE TABLE audit (
    id                INTEGER PRIMARY KEY,
    at                INTEGER NOT NULL,
    attendant         TEXT    NOT NULL CHECK (attendant <> ''),
    action            TEXT    NOT NULL,
    reason            TEXT    NOT NULL DEFAULT '',
    visit_id          INTEGER,
    merchant_order_no TEXT    NOT NULL DEFAULT '',
    amount            INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE refunds (
    refund_no         TEXT PRIMARY KEY,
    merchant_order_no TEXT    NOT NULL REFERENCES orders(merchant_order_no),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    at                INTEGER NOT NULL,
    attendant         TEXT    NOT NULL CHECK (attendant <> ''),
    reason            TEXT    NOT NULL CHECK (reason <> ''),
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'failed'))
);
CREATE INDEX refunds_at ON refunds(at);

CREATE TABLE shifts (
    id          INTEGER PRIMARY KEY,
    attendant   TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER
);

-- One line per operation, for the admin screen's history (paged by id).
CREATE TABLE entries (
    id                INTEGER PRIMARY KEY,
    at                INTEGER NOT NULL,
    kind              TEXT    NOT NULL,
    visit_id          INTEGER NOT NULL DEFAULT 0,
    ticket            TEXT    NOT NULL DEFAULT '',
    cause             TEXT    NOT NULL DEFAULT '',
    amount            INTEGER NOT NULL DEFAULT 0,
    merchant_order_no TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL DEFAULT '',
    attendant         TEXT    NOT NULL DEFAULT '',
    reason            TEXT    NOT NULL DEFAULT ''
);
