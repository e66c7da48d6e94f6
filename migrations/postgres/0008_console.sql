-- The console (issue 19). Console users are people (operators, analysts, auditors), separate
-- from partner keys: a password kept only as an Argon2id hash, the language they chose, and the
-- failed sign-ins that lock the account for a while.
CREATE TABLE console_users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('operator','analyst','auditor')),
    password_hash TEXT NOT NULL,
    lang          TEXT NOT NULL DEFAULT 'zh' CHECK (lang IN ('zh','en')),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);

-- A signed-in browser. The cookie's value is never stored: only its SHA-256.
CREATE TABLE console_sessions (
    id_sha256  TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES console_users(name),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_name);

-- A subject's dispute (异议) of one entry of their query history: the note, who opened it, and
-- how it was resolved. Subjects are held by their key (credit code or keyed hash), never in clear.
CREATE TABLE disputes (
    id          TEXT PRIMARY KEY,               -- ULID
    subject_key TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    note        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open','resolved')),
    opened_by   TEXT NOT NULL,
    opened_at   TIMESTAMPTZ NOT NULL,
    resolution  TEXT,
    resolved_by TEXT,
    resolved_at TIMESTAMPTZ
);
CREATE INDEX disputes_by_subject ON disputes (subject_key, opened_at);
-- At most one open dispute per history entry.
CREATE UNIQUE INDEX disputes_one_open ON disputes (event_id) WHERE status = 'open';
