-- Partner rate limits shared by every replica (issue 18): one token bucket per partner. A
-- replica takes a slice of tokens from its partner's row (under the row's lock) and spends them
-- locally, so the database sees one statement per slice, not one per score. The bucket refills
-- continuously at the per-minute limit up to one minute's worth; `refilled_at` is when `tokens`
-- was last brought up to date. A single SQLite process keeps its buckets in memory instead; the
-- table is here so that both schemas stay one.
CREATE TABLE rate_buckets (
    partner_id  TEXT PRIMARY KEY,
    tokens      REAL NOT NULL,
    refilled_at TEXT NOT NULL
);
