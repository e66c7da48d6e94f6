-- no-transaction
-- Issue 14: the `auditor` partner role (reads the whole audit ledger, changes nothing). SQLite
-- cannot alter a CHECK constraint, so `partners` is rebuilt the documented way (ALTER TABLE,
-- "other kinds of table schema changes"): foreign keys off outside the transaction (consents and
-- partner_keys point here, and keep pointing at the same ids), copy, drop, rename, its triggers
-- again. Hence no-transaction: PRAGMA foreign_keys is a no-op inside a transaction.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE partners_new (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('bank','insurer','tax_bureau','assessor','public_records','admin','auditor')),
    key_sha256 TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','revoked')),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
INSERT INTO partners_new (id, name, role, key_sha256, status, created_at, revoked_at)
    SELECT id, name, role, key_sha256, status, created_at, revoked_at FROM partners;
DROP TABLE partners;
ALTER TABLE partners_new RENAME TO partners;
CREATE TRIGGER partners_update_revision AFTER UPDATE ON partners BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'partners';
END;
CREATE TRIGGER partners_delete_revision AFTER DELETE ON partners BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'partners';
END;
COMMIT;
PRAGMA foreign_keys = ON;
