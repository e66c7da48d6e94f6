-- The audit ledger (issue 14): a transparency log. Appending an entry is one INSERT into
-- ledger_entries that reads no other row (no chain head: replicas never wait on each other).
-- The one sequencer then gives entries their leaf index (ledger_leaves), stores the tree's
-- perfect subtrees of level >= 1 (ledger_nodes; level 0 is the entry's leaf_hash), the subject
-- index and, at least once a second while entries arrive, a signed checkpoint. The old hash
-- chain (audit_log, audit_chain_head) is left in place: its rows are not yet carried over.
CREATE TABLE ledger_entries (
    entry_no       INTEGER PRIMARY KEY,           -- SQLite: commit order (one writer at a time)
    event_id       TEXT NOT NULL UNIQUE,          -- server-assigned ULID
    recorded_at    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    partner_id     TEXT,
    subject_key    TEXT,                          -- hex HMAC-SHA256 under the PII key
    subject_last4  TEXT,
    correlation_id TEXT,                          -- the client's X-Request-Id: NOT unique
    leaf           BLOB NOT NULL,                 -- the exact bytes hashed (ledger::entry v1)
    leaf_hash      BLOB NOT NULL
);
CREATE TABLE ledger_leaves (
    leaf_index INTEGER PRIMARY KEY,
    entry_no   INTEGER NOT NULL UNIQUE
);
CREATE TABLE ledger_nodes (
    level INTEGER NOT NULL CHECK (level >= 1),
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE ledger_subject_index (
    subject_key TEXT    NOT NULL,
    leaf_index  INTEGER NOT NULL,
    PRIMARY KEY (subject_key, leaf_index)
) WITHOUT ROWID;
CREATE TABLE ledger_checkpoints (
    size      INTEGER PRIMARY KEY,
    note      TEXT NOT NULL,                      -- C2SP signed note, verbatim
    signed_at TEXT NOT NULL
);
CREATE TABLE ledger_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    size            INTEGER NOT NULL,
    frontier        BLOB    NOT NULL,             -- the frontier's hashes, 32 bytes each, largest first
    lease_epoch     INTEGER NOT NULL,             -- bumped by each sequencer that takes over
    verifying_key   TEXT,                         -- the log's public key (vkey), for display only
    entry_watermark INTEGER NOT NULL              -- entries up to this number are sequenced
);
INSERT INTO ledger_state (id, size, frontier, lease_epoch, verifying_key, entry_watermark)
VALUES (1, 0, x'', 0, NULL, 0);
