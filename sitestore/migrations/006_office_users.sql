-- The office console's own tables (exitlane office): its users, their
-- sessions, failed log-ins, the office audit trail and the alarms the
-- office raised and cleared. Lanes neither read nor write them.

-- A user of the console. role: viewer < supervisor < admin. The password
-- is kept as a bcrypt hash only.
CREATE TABLE office_users (
    site          text        NOT NULL,
    name          text        NOT NULL CHECK (name <> ''),
    role          text        NOT NULL CHECK (role IN ('viewer', 'supervisor', 'admin')),
    password_hash text        NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    password_at   timestamptz NOT NULL,
    last_login_at timestamptz,
    PRIMARY KEY (site, name)
);

-- Failed log-ins in a row, per name typed (a name that is no user counts
-- too, so that a lock says nothing about whether the user exists).
CREATE TABLE office_login_failures (
    site          text        NOT NULL,
    name          text        NOT NULL,
    failed        integer     NOT NULL DEFAULT 0 CHECK (failed >= 0),
    last_at       timestamptz NOT NULL,
    locked_until  timestamptz,
    PRIMARY KEY (site, name)
);

-- A session: only the SHA-256 of its random id is kept, so a copy of the
-- table logs nobody in. csrf is the session's form token.
CREATE TABLE office_sessions (
    id_sha256     bytea       PRIMARY KEY CHECK (octet_length(id_sha256) = 32),
    site          text        NOT NULL,
    user_name     text        NOT NULL,
    csrf          text        NOT NULL,
    remote        text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    ended_at      timestamptz,
    FOREIGN KEY (site, user_name) REFERENCES office_users (site, name)
);
CREATE INDEX office_sessions_user ON office_sessions (site, user_name) WHERE ended_at IS NULL;

-- Every log-in (ok and failed), log-out and action of the console.
CREATE TABLE office_audit (
    id            bigserial   PRIMARY KEY,
    site          text        NOT NULL,
    at            timestamptz NOT NULL,
    user_name     text        NOT NULL,
    remote        text        NOT NULL DEFAULT '',
    action        text        NOT NULL,
    lane          text        NOT NULL DEFAULT '',
    reason        text        NOT NULL DEFAULT '',
    result        text        NOT NULL DEFAULT ''
);
CREATE INDEX office_audit_at ON office_audit (site, at);

-- Alarms the office's evaluator raised, and when they cleared. One open
-- alarm per (kind, lane, subject).
CREATE TABLE office_alarms (
    id            bigserial   PRIMARY KEY,
    site          text        NOT NULL,
    kind          text        NOT NULL,
    lane          text        NOT NULL DEFAULT '',
    subject       text        NOT NULL DEFAULT '',
    detail        text        NOT NULL DEFAULT '',
    raised_at     timestamptz NOT NULL,
    cleared_at    timestamptz
);
CREATE UNIQUE INDEX office_alarms_open ON office_alarms (site, kind, lane, subject) WHERE cleared_at IS NULL;
CREATE INDEX office_alarms_raised ON office_alarms (site, raised_at);
