-- Facts about the service itself, one row each. `pii_key_fingerprint` is an HMAC of a fixed label
-- under the PII key (never the key): a process started with another key refuses to start instead
-- of silently hashing identity numbers that match nothing.
CREATE TABLE service_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
