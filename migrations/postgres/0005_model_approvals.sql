-- A forced promotion (past failed gates) is a request until a second administrator approves it:
-- the request keeps who asked, why, and what the gates said; the approval who agreed and when.
CREATE TABLE model_approvals (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id      TEXT NOT NULL REFERENCES models(id),
    requested_by  TEXT NOT NULL,
    requested_at  TIMESTAMPTZ NOT NULL,
    reason        TEXT NOT NULL,
    gate_failures TEXT NOT NULL,                -- JSON array of the failed gates in words
    approved_by   TEXT,
    approved_at   TIMESTAMPTZ
);
-- At most one open request per model.
CREATE UNIQUE INDEX model_approvals_one_open ON model_approvals (model_id) WHERE approved_at IS NULL;
ALTER TABLE model_promotions ADD COLUMN approved_by TEXT;
-- A rollback is recorded as its own kind, so the champion history can be replayed as a stack:
-- a promotion pushes its model, a rollback pops back to the one below.
ALTER TABLE model_promotions ADD COLUMN kind TEXT NOT NULL DEFAULT 'promotion';
