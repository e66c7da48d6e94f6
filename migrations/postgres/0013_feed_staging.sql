-- Issue 18, item 5: imports never stall scoring. A batch's rows are written in many short
-- transactions while the batch is invisible, and one short transaction makes it visible
-- (docs/feeds.md, Staging). `visible_seq` is that flag and the order batches became visible in:
-- NULL while the batch is being staged; readers see only rows of visible batches, and of two
-- visible versions of a key the one of the later batch (the `visible_*` views).
ALTER TABLE feed_batches ADD COLUMN visible_seq BIGINT;
UPDATE feed_batches b SET visible_seq = o.n
FROM (SELECT id, row_number() OVER (ORDER BY received_at, id) AS n FROM feed_batches) o
WHERE o.id = b.id;
CREATE UNIQUE INDEX feed_batches_by_visible_seq ON feed_batches (visible_seq);

-- A batch still being staged or whose older versions are still being removed: who is on it, and
-- when it last made progress (a batch whose importer died is discarded after a lease).
CREATE TABLE feed_staging (
    batch_id     TEXT PRIMARY KEY REFERENCES feed_batches(id),
    state        TEXT NOT NULL CHECK (state IN ('staging', 'compacting')),
    heartbeat_at TIMESTAMPTZ NOT NULL
);

-- Tables whose later row for a key replaced the earlier one in place now hold a version per
-- batch (the key plus batch_id), so a staged row never touches the visible one it will replace.
ALTER TABLE enterprises DROP CONSTRAINT enterprises_pkey, ADD PRIMARY KEY (uscc, batch_id);
ALTER TABLE tax_payments DROP CONSTRAINT tax_payments_pkey,
    ADD PRIMARY KEY (uscc, period, tax_type, batch_id);
ALTER TABLE households DROP CONSTRAINT households_pkey, ADD PRIMARY KEY (subject_key, batch_id);
ALTER TABLE public_records DROP CONSTRAINT public_records_pkey,
    ADD PRIMARY KEY (source, record_id, batch_id);
ALTER TABLE loans DROP CONSTRAINT loans_pkey, ADD PRIMARY KEY (reported_by, loan_id, batch_id);

-- A batch's rows in key order: staged rows are discarded, and the versions a batch replaces
-- removed, a bounded slice at a time.
CREATE INDEX enterprises_by_batch ON enterprises (batch_id, uscc);
CREATE INDEX tax_grades_by_batch ON tax_grades (batch_id, uscc, year);
CREATE INDEX tax_payments_by_batch ON tax_payments (batch_id, uscc, period, tax_type);
CREATE INDEX households_by_batch ON households (batch_id, subject_key);
CREATE INDEX farmer_assessments_by_batch ON farmer_assessments (batch_id, subject_key, year);
CREATE INDEX public_records_by_batch ON public_records (batch_id, source, record_id);
CREATE INDEX loans_by_batch ON loans (batch_id, reported_by, loan_id);

-- What readers see: rows of visible batches and, where a later batch replaces a key's row,
-- only the latest visible version (older ones are deleted shortly after the flip; until then,
-- and after a crash in between, the view hides them).
CREATE VIEW visible_enterprises AS
SELECT t.* FROM enterprises t JOIN feed_batches b ON b.id = t.batch_id
WHERE b.visible_seq IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM enterprises n JOIN feed_batches nb ON nb.id = n.batch_id
    WHERE n.uscc = t.uscc AND n.batch_id <> t.batch_id AND nb.visible_seq > b.visible_seq);

CREATE VIEW visible_tax_payments AS
SELECT t.* FROM tax_payments t JOIN feed_batches b ON b.id = t.batch_id
WHERE b.visible_seq IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM tax_payments n JOIN feed_batches nb ON nb.id = n.batch_id
    WHERE n.uscc = t.uscc AND n.period = t.period AND n.tax_type = t.tax_type
      AND n.batch_id <> t.batch_id AND nb.visible_seq > b.visible_seq);

CREATE VIEW visible_households AS
SELECT t.* FROM households t JOIN feed_batches b ON b.id = t.batch_id
WHERE b.visible_seq IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM households n JOIN feed_batches nb ON nb.id = n.batch_id
    WHERE n.subject_key = t.subject_key AND n.batch_id <> t.batch_id
      AND nb.visible_seq > b.visible_seq);

CREATE VIEW visible_public_records AS
SELECT t.* FROM public_records t JOIN feed_batches b ON b.id = t.batch_id
WHERE b.visible_seq IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM public_records n JOIN feed_batches nb ON nb.id = n.batch_id
    WHERE n.source = t.source AND n.record_id = t.record_id AND n.batch_id <> t.batch_id
      AND nb.visible_seq > b.visible_seq);

CREATE VIEW visible_loans AS
SELECT t.* FROM loans t JOIN feed_batches b ON b.id = t.batch_id
WHERE b.visible_seq IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM loans n JOIN feed_batches nb ON nb.id = n.batch_id
    WHERE n.reported_by = t.reported_by AND n.loan_id = t.loan_id AND n.batch_id <> t.batch_id
      AND nb.visible_seq > b.visible_seq);

-- Grades and assessments keep every version already (superseded_by): only visibility applies.
CREATE VIEW visible_tax_grades AS
SELECT t.* FROM tax_grades t JOIN feed_batches b ON b.id = t.batch_id
WHERE b.visible_seq IS NOT NULL;

CREATE VIEW visible_farmer_assessments AS
SELECT t.* FROM farmer_assessments t JOIN feed_batches b ON b.id = t.batch_id
WHERE b.visible_seq IS NOT NULL;
