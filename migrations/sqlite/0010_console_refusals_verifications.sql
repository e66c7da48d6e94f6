-- The console (issue 19). Refused feed files were only a ledger entry with digests; operators
-- need to see which batch was refused and why, and to hand the sender the refused rows back.
-- A refusal keeps its errors by line and column and the refused rows with every identity
-- number masked (never the file itself). Ledger verifications are recorded so the overview can
-- say when the trail was last verified and with what result. Partners' last activity reads
-- ledger entries by partner, newest first.
CREATE TABLE feed_refusals (
    id           TEXT PRIMARY KEY,              -- ULID
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,                 -- partner id, 'cli' or 'console:NAME'
    received_at  TEXT NOT NULL,
    file_sha256  TEXT NOT NULL,
    message      TEXT NOT NULL,                 -- the refusal's summary (counts, the limit hit)
    errors_total INTEGER NOT NULL,
    errors_json  TEXT NOT NULL,                 -- [{line, column, reason}], at most 100
    rows_csv     TEXT                           -- the refused lines, identity numbers masked
);
CREATE INDEX feed_refusals_by_time ON feed_refusals (received_at);

CREATE TABLE audit_verifications (
    id              TEXT PRIMARY KEY,           -- ULID
    verified_at     TEXT NOT NULL,
    verified_by     TEXT NOT NULL,              -- the ledger's actor form: console:NAME, operator:…, partner:…
    ok              INTEGER NOT NULL,
    rows_checked    INTEGER NOT NULL,
    checkpoint_size INTEGER,
    problem         TEXT
);
CREATE INDEX audit_verifications_by_time ON audit_verifications (verified_at);

CREATE INDEX ledger_entries_by_partner ON ledger_entries (partner_id, recorded_at);
