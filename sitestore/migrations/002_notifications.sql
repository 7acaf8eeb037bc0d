-- PayBy's notifications as the office received them at the site's one
-- notifyUrl: each verified on its raw body first, then recorded here, and
-- announced to the lanes on channel exitlane_payby (NOTIFY, sent at
-- commit). A notification PayBy repeats byte for byte is one row; repeats
-- counts the copies after the first.
CREATE TABLE notifications (
    id                bigserial   PRIMARY KEY,
    site              text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('order', 'refund')),
    merchant_order_no text        NOT NULL,  -- the order's (refund: the refund's) merchant order number
    status            text        NOT NULL,  -- PayBy's spelling: PAID_SUCCESS, FAILURE, ...
    revoked           boolean     NOT NULL DEFAULT false,
    amount            bigint      NOT NULL DEFAULT 0 CHECK (amount >= 0),
    paid              bigint      NOT NULL DEFAULT 0 CHECK (paid >= 0),
    paid_at           timestamptz,
    notify_id         text        NOT NULL DEFAULT '',
    notified_at       timestamptz,           -- PayBy's notify time
    received_at       timestamptz NOT NULL,  -- the office's clock, first copy
    last_received_at  timestamptz NOT NULL,
    repeats           integer     NOT NULL DEFAULT 0 CHECK (repeats >= 0),
    body_sha256       bytea       NOT NULL CHECK (octet_length(body_sha256) = 32),  -- of the raw, verified body
    UNIQUE (site, body_sha256)
);

CREATE INDEX notifications_order ON notifications (site, merchant_order_no);
