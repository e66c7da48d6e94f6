-- Scheduled jobs that must run once across replicas (the quarterly retraining of each product).
-- A replica runs a job only while it holds its lease: it takes the row when there is none, or
-- when the holder's lease ran out before the job finished (the holder died); a finished job is
-- never run again, which makes a quarter's run idempotent per product.
CREATE TABLE scheduled_runs (
    job         TEXT PRIMARY KEY,          -- e.g. retrain:sme:2027Q1
    holder      TEXT NOT NULL,             -- the replica that holds (or held) the lease
    lease_until TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT                       -- what the run produced (a model id), once finished
);
