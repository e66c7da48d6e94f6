-- Issue 18, item 5: imports never stall scoring. A batch's rows are written in many short
-- transactions while the batch is invisible, and one short transaction makes it visible
-- (docs/feeds.md, Staging). `visible_seq` is that flag and the order batches became visible in:
-- NULL while the batch is being staged; readers see only rows of visible batches, and of two
-- visible versions of a key the one of the later batch (the `visible_*` views).
ALTER TABLE feed_batches ADD COLUMN visible_seq INTEGER;
UPDATE feed_batches SET visible_seq = (
    SELECT COUNT(*) FROM feed_batches o
    WHERE o.received_at < feed_batches.received_at
       OR (o.received_at = feed_batches.received_at AND o.id <= feed_batches.id));
CREATE UNIQUE INDEX feed_batches_by_visible_seq ON feed_batches (visible_seq);

-- A batch still being staged or whose older versions are still being removed: who is on it, and
-- when it last made progress (a batch whose importer died is discarded after a lease).
CREATE TABLE feed_staging (
    batch_id     TEXT PRIMARY KEY REFERENCES feed_batches(id),
    state        TEXT NOT NULL CHECK (state IN ('staging', 'compacting')),
    heartbeat_at TEXT NOT NULL
);

-- Tables whose later row for a key replaced the earlier one in place now hold a version per
-- batch (the key plus batch_id), so a staged row never touches the visible one it will replace.
-- SQLite cannot change a primary key: each table is rebuilt with its indexes and triggers.
CREATE TABLE enterprises_v (
    uscc        TEXT NOT NULL,
    name        TEXT NOT NULL,
    region_code TEXT NOT NULL,
    industry    TEXT NOT NULL,
    size        TEXT NOT NULL,
    founded_on  TEXT NOT NULL,
    closed_on   TEXT,
    pilot_code  INTEGER NOT NULL DEFAULT 0,
    batch_id    TEXT NOT NULL REFERENCES feed_batches(id),
    PRIMARY KEY (uscc, batch_id)
);
INSERT INTO enterprises_v (uscc, name, region_code, industry, size, founded_on, closed_on, pilot_code, batch_id)
    SELECT uscc, name, region_code, industry, size, founded_on, closed_on, pilot_code, batch_id FROM enterprises;
DROP TABLE enterprises;
ALTER TABLE enterprises_v RENAME TO enterprises;
CREATE TRIGGER enterprises_delete_revision AFTER DELETE ON enterprises BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TABLE tax_payments_v (
    uscc       TEXT NOT NULL,
    period     TEXT NOT NULL,
    tax_type   TEXT NOT NULL CHECK (tax_type IN ('vat','cit','other')),
    revenue    INTEGER NOT NULL,
    tax_due    INTEGER NOT NULL,
    tax_paid   INTEGER NOT NULL,
    filed_on   TEXT NOT NULL,
    paid_on    TEXT,
    batch_id   TEXT NOT NULL REFERENCES feed_batches(id),
    PRIMARY KEY (uscc, period, tax_type, batch_id)
) WITHOUT ROWID;
INSERT INTO tax_payments_v (uscc, period, tax_type, revenue, tax_due, tax_paid, filed_on, paid_on, batch_id)
    SELECT uscc, period, tax_type, revenue, tax_due, tax_paid, filed_on, paid_on, batch_id FROM tax_payments;
DROP TABLE tax_payments;
ALTER TABLE tax_payments_v RENAME TO tax_payments;
CREATE TRIGGER tax_payments_delete_revision AFTER DELETE ON tax_payments BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TABLE households_v (
    subject_key   TEXT NOT NULL,
    id_last4      TEXT NOT NULL,
    birth_year    INTEGER NOT NULL,
    region_code   TEXT NOT NULL,
    village_code  TEXT NOT NULL,
    village_name  TEXT NOT NULL,
    members       INTEGER NOT NULL,
    labourers     INTEGER NOT NULL,
    education     TEXT NOT NULL,
    land_mu       REAL NOT NULL,
    main_activity TEXT NOT NULL,
    batch_id      TEXT NOT NULL REFERENCES feed_batches(id),
    PRIMARY KEY (subject_key, batch_id)
);
INSERT INTO households_v (subject_key, id_last4, birth_year, region_code, village_code, village_name,
        members, labourers, education, land_mu, main_activity, batch_id)
    SELECT subject_key, id_last4, birth_year, region_code, village_code, village_name,
        members, labourers, education, land_mu, main_activity, batch_id FROM households;
DROP TABLE households;
ALTER TABLE households_v RENAME TO households;
CREATE INDEX households_by_village ON households (village_code);
CREATE TRIGGER households_delete_revision AFTER DELETE ON households BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TABLE public_records_v (
    source        TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    subject_type  TEXT NOT NULL CHECK (subject_type IN ('enterprise','person')),
    subject_key   TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('dishonest_debtor','admin_penalty','red_list')),
    severity      TEXT NOT NULL DEFAULT 'normal',
    listed_at     TEXT NOT NULL,
    display_until TEXT NOT NULL,
    repaired_at   TEXT,
    batch_id      TEXT NOT NULL REFERENCES feed_batches(id),
    PRIMARY KEY (source, record_id, batch_id)
);
INSERT INTO public_records_v (source, record_id, subject_type, subject_key, kind, severity, listed_at,
        display_until, repaired_at, batch_id)
    SELECT source, record_id, subject_type, subject_key, kind, severity, listed_at,
        display_until, repaired_at, batch_id FROM public_records;
DROP TABLE public_records;
ALTER TABLE public_records_v RENAME TO public_records;
CREATE INDEX public_records_by_subject ON public_records (subject_key, listed_at);
CREATE TRIGGER public_records_delete_revision AFTER DELETE ON public_records BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TABLE loans_v (
    loan_id      TEXT NOT NULL,
    product      TEXT NOT NULL CHECK (product IN ('sme','farmer')),
    subject_key  TEXT NOT NULL,
    disbursed_on TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    term_months  INTEGER NOT NULL,
    defaulted    INTEGER,
    defaulted_on TEXT,
    reported_by  TEXT NOT NULL,
    batch_id     TEXT NOT NULL REFERENCES feed_batches(id),
    PRIMARY KEY (reported_by, loan_id, batch_id)
);
INSERT INTO loans_v (loan_id, product, subject_key, disbursed_on, amount, term_months, defaulted,
        defaulted_on, reported_by, batch_id)
    SELECT loan_id, product, subject_key, disbursed_on, amount, term_months, defaulted,
        defaulted_on, reported_by, batch_id FROM loans;
DROP TABLE loans;
ALTER TABLE loans_v RENAME TO loans;
CREATE INDEX loans_by_product_date ON loans (product, disbursed_on);
CREATE INDEX loans_by_subject ON loans (subject_key, disbursed_on);
CREATE TRIGGER loans_delete_revision AFTER DELETE ON loans BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

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
