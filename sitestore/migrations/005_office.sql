-- The site office's view of the lanes and its orders to them.
--
-- lane_status: each lane's latest published status (sitestore.LaneStatus
-- as JSON), upserted at every change and at a heartbeat, announced on
-- channel exitlane_lane_status (payload site/lane). lane_time is the
-- lane's clock at publication, updated_at the store's: their difference
-- is the lane's clock skew, and an old updated_at is a lane not reporting.
CREATE TABLE lane_status (
    site        text        NOT NULL,
    lane        text        NOT NULL,
    seq         bigint      NOT NULL DEFAULT 0 CHECK (seq >= 0),
    lane_time   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    status      jsonb       NOT NULL,
    PRIMARY KEY (site, lane)
);

-- lane_commands: attendant actions the office asks a lane to carry out
-- (refund, resolve, close or open the lane, clear a fault, open the
-- barrier). Announced on exitlane_lane_command (payload: the lane), taken
-- once by the lane (taken_at), finished with ok and the lane's words
-- (done_at, announced on exitlane_command_done, payload: the id). A
-- command not taken within two minutes is finished as expired instead:
-- a stale close or open must never fire later.
CREATE TABLE lane_commands (
    id          bigserial   PRIMARY KEY,
    site        text        NOT NULL,
    lane        text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('refund', 'resolve', 'close_lane', 'open_lane', 'clear_fault', 'open_barrier')),
    args        jsonb       NOT NULL DEFAULT '{}',  -- order_no, amount (fils), visit
    actor       text        NOT NULL CHECK (actor <> ''),
    reason      text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    taken_at    timestamptz,
    done_at     timestamptz,
    ok          boolean,
    result      text        NOT NULL DEFAULT ''
);

CREATE INDEX lane_commands_waiting ON lane_commands (site, lane, id) WHERE taken_at IS NULL;
CREATE INDEX lane_commands_created ON lane_commands (site, created_at);
