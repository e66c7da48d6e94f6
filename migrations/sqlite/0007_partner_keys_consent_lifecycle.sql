-- Issue 17. Keys belong to partners: a partner holds one or more keys, so a key can be rotated
-- without the partner (and with it its consents, history and rate limit) changing identity.
-- Each key is stored as its SHA-256 only. `retire_at` is when a rotated-out key stops (the end
-- of the overlap), `revoked_at` when a key was revoked outright.
CREATE TABLE partner_keys (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    key_sha256  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    retire_at   TEXT,
    revoked_at  TEXT
);
CREATE INDEX partner_keys_by_partner ON partner_keys (partner_id);

-- Each existing partner's key becomes that partner's first key (revoked if the partner was).
INSERT INTO partner_keys (id, partner_id, key_sha256, created_at, revoked_at)
    SELECT 'k_' || substr(id, 3), id, key_sha256, created_at, revoked_at FROM partners;

-- `partners.key_sha256` is no longer read (SQLite cannot drop a UNIQUE column in place): it now
-- holds a non-secret marker pointing at `partner_keys`, so no key digest is kept twice.
UPDATE partners SET key_sha256 = 'keys:' || id;

CREATE TRIGGER partner_keys_update_revision AFTER UPDATE ON partner_keys BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'partners';
END;

CREATE TRIGGER partner_keys_delete_revision AFTER DELETE ON partner_keys BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'partners';
END;

-- A subject's withdrawal, recorded by an administrator with the digest of the subject's
-- written withdrawal; it ends the consent like a revocation, under its own reason.
ALTER TABLE consents ADD COLUMN withdrawn_at TEXT;
ALTER TABLE consents ADD COLUMN withdrawal_evidence_sha256 TEXT;
CREATE INDEX consents_by_subject_key ON consents (subject_key);
