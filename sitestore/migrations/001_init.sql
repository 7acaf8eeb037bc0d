-- The site store: every lane's records, and what the lanes share. Instants
-- are timestamptz (UTC); amounts are integer fils. Every row carries its
-- site, so one database can hold several sites.

-- One row per lane: how far its journal has been applied.
CREATE TABLE lanes (
    site        text        NOT NULL,
    lane        text        NOT NULL,
    last_seq    bigint      NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    applied_at  timestamptz,
    PRIMARY KEY (site, lane)
);

-- Each lane's records, exactly as the lane wrote them to its SQLite
-- ledger, in the lane's order (seq 1, 2, 3, ... without gaps). The derived
-- tables below are updated in the same transaction as the row is added.
CREATE TABLE journal (
    site        text        NOT NULL,
    lane        text        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq > 0),
    kind        text        NOT NULL,  -- visit, order, status, exit, ...
    at          timestamptz,           -- the record's own time, if it has one
    rec         jsonb       NOT NULL,  -- the record (lane.Record), instants in UTC
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, lane, seq),
    FOREIGN KEY (site, lane) REFERENCES lanes (site, lane)
);

CREATE TABLE visits (
    site            text        NOT NULL,
    lane            text        NOT NULL,
    visit           bigint      NOT NULL,  -- the lane's visit id
    started_at      timestamptz NOT NULL,
    ticket_id       text        NOT NULL DEFAULT '',
    serial          text        NOT NULL DEFAULT '',
    format          text        NOT NULL DEFAULT '',
    entry_at        timestamptz,
    signed          boolean     NOT NULL DEFAULT false,
    lost            boolean     NOT NULL DEFAULT false,
    fee             bigint      NOT NULL DEFAULT 0,
    paid_before     bigint      NOT NULL DEFAULT 0,  -- what the lane counted as paid when it priced
    due             bigint      NOT NULL DEFAULT 0,
    free            text        NOT NULL DEFAULT '',
    refused         text        NOT NULL DEFAULT '',
    override        boolean     NOT NULL DEFAULT false,
    attendant       text        NOT NULL DEFAULT '',
    reason          text        NOT NULL DEFAULT '',
    validation      text        NOT NULL DEFAULT '',
    validation_name text        NOT NULL DEFAULT '',
    ended_at        timestamptz,
    outcome         text        NOT NULL DEFAULT '',
    PRIMARY KEY (site, lane, visit)
);
CREATE INDEX visits_ticket ON visits (site, ticket_id) WHERE ticket_id <> '';
CREATE INDEX visits_started ON visits (site, started_at);

CREATE TABLE exits (
    id                bigserial   PRIMARY KEY,
    site              text        NOT NULL,
    lane              text        NOT NULL,
    visit             bigint      NOT NULL,
    ticket_id         text        NOT NULL DEFAULT '',
    at                timestamptz NOT NULL,
    cause             text        NOT NULL,
    amount            bigint      NOT NULL DEFAULT 0,  -- paid, waived or owed
    merchant_order_no text        NOT NULL DEFAULT '',
    attendant         text        NOT NULL DEFAULT '',
    reason            text        NOT NULL DEFAULT '',
    override          boolean     NOT NULL DEFAULT false,
    auth              text        NOT NULL,
    -- pending: authorised, pulse not yet reported; completed: pulsed;
    -- void: the pulse failed.
    state             text        NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'completed', 'void')),
    resolved_at       timestamptz,
    resolved_by       text        NOT NULL DEFAULT '',
    UNIQUE (site, lane, auth)
);
CREATE INDEX exits_ticket ON exits (site, ticket_id) WHERE ticket_id <> '';
CREATE INDEX exits_at ON exits (site, at);
CREATE INDEX exits_visit ON exits (site, lane, visit);
CREATE INDEX exits_unable ON exits (site, at) WHERE cause = 'unable_to_collect' AND resolved_at IS NULL;

-- Orders are keyed by their merchant order number, which names the site
-- and the lane that made it (lane.OrderKey): one row per order site-wide.
CREATE TABLE orders (
    site              text        NOT NULL,
    merchant_order_no text        NOT NULL,
    lane              text        NOT NULL,
    visit             bigint      NOT NULL,
    ticket_id         text        NOT NULL DEFAULT '',
    order_key         text        NOT NULL,
    attempt           integer     NOT NULL,
    amount            bigint      NOT NULL,
    created_at        timestamptz NOT NULL,
    expire_at         timestamptz NOT NULL,
    status            text        NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'created', 'paid', 'failed', 'not_found')),
    payby_status      text        NOT NULL DEFAULT '',
    status_at         timestamptz NOT NULL,
    paid              bigint      NOT NULL DEFAULT 0,
    paid_at           timestamptz,
    refunded          bigint      NOT NULL DEFAULT 0,
    abandoned_at      timestamptz,
    exit_id           bigint      REFERENCES exits (id),  -- the live exit this payment paid for
    resolved_at       timestamptz,
    resolved_by       text        NOT NULL DEFAULT '',
    resolution        text        NOT NULL DEFAULT '',
    PRIMARY KEY (site, merchant_order_no)
);
CREATE INDEX orders_ticket ON orders (site, ticket_id) WHERE ticket_id <> '';
CREATE INDEX orders_open ON orders (site, created_at) WHERE status IN ('new', 'created');
CREATE INDEX orders_paid_not_exited ON orders (site, paid_at)
    WHERE paid > refunded AND exit_id IS NULL AND resolved_at IS NULL;
CREATE INDEX orders_paid_at ON orders (site, paid_at) WHERE paid > 0;
CREATE INDEX orders_exit ON orders (exit_id) WHERE exit_id IS NOT NULL;

-- Every status seen for an order, by any lane, with its source. No
-- foreign key: a status may arrive (from another lane) before the order.
CREATE TABLE order_events (
    id                bigserial   PRIMARY KEY,
    site              text        NOT NULL,
    lane              text        NOT NULL,
    merchant_order_no text        NOT NULL,
    at                timestamptz NOT NULL,
    status            text        NOT NULL,
    payby_status      text        NOT NULL DEFAULT '',
    paid              bigint      NOT NULL DEFAULT 0,
    paid_at           timestamptz,
    source            text        NOT NULL
);
CREATE INDEX order_events_order ON order_events (site, merchant_order_no);

CREATE TABLE barrier_events (
    site              text        NOT NULL,
    lane              text        NOT NULL,
    auth              text        NOT NULL,
    at                timestamptz NOT NULL,
    cause             text        NOT NULL,
    actor             text        NOT NULL,  -- 'lane' or the attendant
    reason            text        NOT NULL DEFAULT '',
    merchant_order_no text        NOT NULL DEFAULT '',
    visit             bigint,
    exit_id           bigint      REFERENCES exits (id),
    state             text        NOT NULL DEFAULT 'authorised'
                      CHECK (state IN ('authorised', 'pulsed', 'failed')),
    done_at           timestamptz,
    error             text        NOT NULL DEFAULT '',
    PRIMARY KEY (site, lane, auth)
);
CREATE INDEX barrier_at ON barrier_events (site, at);

CREATE TABLE audit (
    id                bigserial   PRIMARY KEY,
    site              text        NOT NULL,
    lane              text        NOT NULL,
    at                timestamptz NOT NULL,
    attendant         text        NOT NULL,
    action            text        NOT NULL,
    reason            text        NOT NULL DEFAULT '',
    visit             bigint,
    merchant_order_no text        NOT NULL DEFAULT '',
    amount            bigint      NOT NULL DEFAULT 0
);
CREATE INDEX audit_at ON audit (site, at);

CREATE TABLE refunds (
    site              text        NOT NULL,
    refund_no         text        NOT NULL,
    lane              text        NOT NULL,
    merchant_order_no text        NOT NULL,
    amount            bigint      NOT NULL,
    at                timestamptz NOT NULL,
    attendant         text        NOT NULL DEFAULT '',
    reason            text        NOT NULL DEFAULT '',
    status            text        NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    PRIMARY KEY (site, refund_no)
);
CREATE INDEX refunds_at ON refunds (site, at);

CREATE TABLE shifts (
    id          bigserial   PRIMARY KEY,
    site        text        NOT NULL,
    lane        text        NOT NULL,
    attendant   text        NOT NULL,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
CREATE INDEX shifts_open ON shifts (site, lane) WHERE ended_at IS NULL;

-- Site-wide anti-passback. A lane claims a ticket's exit here before it
-- authorises the pulse (ClaimExit); an exit decided offline is claimed
-- when its record is applied. One live claim per ticket, except attendant
-- overrides; a claim is released when its pulse fails.
CREATE TABLE exit_claims (
    id          bigserial   PRIMARY KEY,
    site        text        NOT NULL,
    ticket_id   text        NOT NULL CHECK (ticket_id <> ''),
    lane        text        NOT NULL,
    visit       bigint      NOT NULL,
    at          timestamptz NOT NULL,
    override    boolean     NOT NULL DEFAULT false,
    attendant   text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    offline     boolean     NOT NULL DEFAULT false,  -- from a replayed exit, not claimed at scan
    exit_id     bigint      REFERENCES exits (id),   -- set when the lane's exit record arrives
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    released    text        NOT NULL DEFAULT '',     -- why: pulse_failed, superseded, released
    CONSTRAINT override_needs_reason CHECK (NOT override OR (attendant <> '' AND reason <> ''))
);
CREATE UNIQUE INDEX exit_claims_once ON exit_claims (site, ticket_id)
    WHERE NOT override AND released_at IS NULL;
CREATE UNIQUE INDEX exit_claims_visit ON exit_claims (site, lane, visit) WHERE released_at IS NULL;
CREATE INDEX exit_claims_ticket ON exit_claims (site, ticket_id);
CREATE INDEX exit_claims_unconfirmed ON exit_claims (site, lane) WHERE exit_id IS NULL AND released_at IS NULL;

-- Conflicts found while applying the lanes' records: a ticket that exited
-- at two lanes, a ticket with a second payment its lane did not know of.
CREATE TABLE incidents (
    id                bigserial   PRIMARY KEY,
    site              text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('double_exit', 'double_payment')),
    ticket_id         text        NOT NULL,
    -- What makes the incident one: "lane/visit" of the later exit, or the
    -- merchant order number of the surplus payment.
    key               text        NOT NULL,
    lane              text        NOT NULL,  -- the lane of the later exit / surplus payment
    visit             bigint      NOT NULL DEFAULT 0,
    at                timestamptz NOT NULL,
    amount            bigint      NOT NULL DEFAULT 0,
    merchant_order_no text        NOT NULL DEFAULT '',
    other_lane        text        NOT NULL,  -- the lane of the exit / payment it conflicts with
    other_visit       bigint      NOT NULL DEFAULT 0,
    other_at          timestamptz,
    other_amount      bigint      NOT NULL DEFAULT 0,
    other_order_no    text        NOT NULL DEFAULT '',
    refund            bigint      NOT NULL DEFAULT 0,  -- proposed refund of merchant_order_no
    found_at          timestamptz NOT NULL DEFAULT now(),
    resolved_at       timestamptz,
    resolved_by       text        NOT NULL DEFAULT '',
    resolution        text        NOT NULL DEFAULT '',
    UNIQUE (site, kind, key)
);
CREATE INDEX incidents_open ON incidents (site, found_at) WHERE resolved_at IS NULL;
