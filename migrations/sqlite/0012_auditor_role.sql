-- Issue 14: the `auditor` partner role (reads the whole audit ledger, changes nothing). SQLite
-- cannot alter a CHECK constraint, so `partners` is rebuilt. sqlx runs every SQLite migration in
-- a transaction, where `PRAGMA foreign_keys = OFF` does nothing; the foreign keys of `consents`
-- and `partner_keys` are deferred instead: dropping the table counts their rows as violations,
-- inserting the same ids into the new `partners` clears them again, and the commit checks that
-- none is left.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE partners_copy AS SELECT id, name, role, key_sha256, status, created_at, revoked_at FROM partners;
DROP TABLE partners;
CREATE TABLE partners (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('bank','insurer','tax_bureau','assessor','public_records','admin','auditor')),
    key_sha256 TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','revoked')),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
INSERT INTO partners (id, name, role, key_sha256, status, created_at, revoked_at)
    SELECT id, name, role, key_sha256, status, created_at, revoked_at FROM partners_copy;
DROP TABLE partners_copy;
CREATE TRIGGER partners_update_revision AFTER UPDATE ON partners BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'partners';
END;
CREATE TRIGGER partners_delete_revision AFTER DELETE ON partners BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'partners';
END;
