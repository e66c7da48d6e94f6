-- creditbridge schema, PostgreSQL dialect. Dates are DATE, instants TIMESTAMPTZ,
-- money is integer fen (1/100 yuan). Personal identity numbers never appear: households and
-- persons are keyed by an HMAC-SHA256 of the resident id (subject_key) plus its last 4 characters.

CREATE TABLE feed_batches (
    id              TEXT PRIMARY KEY,           -- ULID
    kind            TEXT NOT NULL,
    source          TEXT NOT NULL,              -- partner id, or 'cli'
    idempotency_key TEXT NOT NULL,
    content_sha256  TEXT NOT NULL,
    format          TEXT NOT NULL,
    rows_stored     BIGINT NOT NULL,
    result_json     TEXT NOT NULL,              -- the response given, replayed on retry
    received_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (source, idempotency_key)
);

CREATE TABLE enterprises (
    uscc        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    region_code TEXT NOT NULL,
    industry    TEXT NOT NULL,
    size        TEXT NOT NULL,
    founded_on  DATE NOT NULL,
    closed_on   DATE,
    pilot_code  BOOLEAN NOT NULL DEFAULT FALSE, -- early pilot code that fails the GB 32100 check
    batch_id    TEXT NOT NULL REFERENCES feed_batches(id)
);

-- Time-versioned: a later row for the same (uscc, year) supersedes an earlier one; both stay.
CREATE TABLE tax_grades (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc           TEXT NOT NULL,
    year           BIGINT NOT NULL,
    grade          TEXT NOT NULL CHECK (grade IN ('A','B','M','C','D')),
    score          DOUBLE PRECISION,
    direct_d       BOOLEAN NOT NULL DEFAULT FALSE,
    effective_from DATE NOT NULL,
    batch_id       TEXT NOT NULL REFERENCES feed_batches(id),
    superseded_by  BIGINT REFERENCES tax_grades(id)
);
CREATE INDEX tax_grades_by_subject ON tax_grades (uscc, effective_from);
CREATE INDEX tax_grades_by_year ON tax_grades (uscc, year);

CREATE TABLE tax_payments (
    uscc       TEXT NOT NULL,
    period     TEXT NOT NULL,                   -- YYYY-MM
    tax_type   TEXT NOT NULL CHECK (tax_type IN ('vat','cit','other')),
    revenue    BIGINT NOT NULL,
    tax_due    BIGINT NOT NULL,
    tax_paid   BIGINT NOT NULL,
    filed_on   DATE NOT NULL,
    paid_on    DATE,
    batch_id   TEXT NOT NULL REFERENCES feed_batches(id),
    PRIMARY KEY (uscc, period, tax_type)
);

CREATE TABLE households (
    subject_key   TEXT PRIMARY KEY,             -- HMAC-SHA256(resident id of the head)
    id_last4      TEXT NOT NULL,
    birth_year    BIGINT NOT NULL,
    region_code   TEXT NOT NULL,
    village_code  TEXT NOT NULL,
    village_name  TEXT NOT NULL,
    members       BIGINT NOT NULL,
    labourers     BIGINT NOT NULL,
    education     TEXT NOT NULL,
    land_mu       DOUBLE PRECISION NOT NULL,
    main_activity TEXT NOT NULL,
    batch_id      TEXT NOT NULL REFERENCES feed_batches(id)
);
CREATE INDEX households_by_village ON households (village_code);

CREATE TABLE farmer_assessments (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_key   TEXT NOT NULL,
    year          BIGINT NOT NULL,
    assessed_on   DATE NOT NULL,
    score         DOUBLE PRECISION NOT NULL,
    grade         TEXT NOT NULL CHECK (grade IN ('AAA','AA','A','none')),
    annual_income BIGINT NOT NULL,
    assets        BIGINT NOT NULL,
    liabilities   BIGINT NOT NULL,
    batch_id      TEXT NOT NULL REFERENCES feed_batches(id),
    superseded_by BIGINT REFERENCES farmer_assessments(id)
);
CREATE INDEX farmer_assessments_by_subject ON farmer_assessments (subject_key, assessed_on);
CREATE INDEX farmer_assessments_by_year ON farmer_assessments (subject_key, year);

-- record_id is unique per source (the feeding partner, or 'cli').
CREATE TABLE public_records (
    source        TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    subject_type  TEXT NOT NULL CHECK (subject_type IN ('enterprise','person')),
    subject_key   TEXT NOT NULL,                -- uscc, or HMAC of the resident id
    kind          TEXT NOT NULL CHECK (kind IN ('dishonest_debtor','admin_penalty','red_list')),
    severity      TEXT NOT NULL DEFAULT 'normal',
    listed_at     DATE NOT NULL,
    display_until DATE NOT NULL,
    repaired_at   DATE,
    batch_id      TEXT NOT NULL REFERENCES feed_batches(id),
    PRIMARY KEY (source, record_id)
);
CREATE INDEX public_records_by_subject ON public_records (subject_key, listed_at);

-- loan_id is unique per bank (reported_by); a later row for the same loan updates its outcome.
CREATE TABLE loans (
    loan_id      TEXT NOT NULL,
    product      TEXT NOT NULL CHECK (product IN ('sme','farmer')),
    subject_key  TEXT NOT NULL,
    disbursed_on DATE NOT NULL,
    amount       BIGINT NOT NULL,
    term_months  BIGINT NOT NULL,
    defaulted    BOOLEAN,                       -- NULL while the 12-month outcome is unknown
    defaulted_on DATE,
    reported_by  TEXT NOT NULL,
    batch_id     TEXT NOT NULL REFERENCES feed_batches(id),
    PRIMARY KEY (reported_by, loan_id)
);
CREATE INDEX loans_by_product_date ON loans (product, disbursed_on);
CREATE INDEX loans_by_subject ON loans (subject_key, disbursed_on);

CREATE TABLE partners (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('bank','insurer','tax_bureau','assessor','public_records','admin')),
    key_sha256 TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','revoked')),
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE consents (
    id              TEXT PRIMARY KEY,
    partner_id      TEXT NOT NULL REFERENCES partners(id),
    subject_type    TEXT NOT NULL CHECK (subject_type IN ('enterprise','person')),
    subject_key     TEXT NOT NULL,
    subject_masked  TEXT NOT NULL,
    purpose         TEXT NOT NULL CHECK (purpose IN ('loan_application','post_loan','underwriting')),
    valid_until     DATE NOT NULL,
    evidence_sha256 TEXT NOT NULL,
    signed_at       TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX consents_by_subject ON consents (partner_id, subject_key, purpose);

-- Append-only, hash-chained: row_hash = SHA-256(prev_hash || body). The single head row
-- serialises writers, also across replicas sharing one database.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    recorded_at TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,
    partner_id  TEXT,
    subject_key TEXT,
    outcome     TEXT NOT NULL,
    body        TEXT NOT NULL,                  -- canonical JSON of every audited field
    prev_hash   TEXT NOT NULL,
    row_hash    TEXT NOT NULL
);
CREATE INDEX audit_log_by_subject ON audit_log (subject_key, recorded_at);
CREATE TABLE audit_chain_head (
    id        SMALLINT PRIMARY KEY CHECK (id = 1),
    last_seq  BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE models (
    id               TEXT PRIMARY KEY,          -- e.g. sme-2026Q3-1
    product          TEXT NOT NULL CHECK (product IN ('sme','farmer')),
    status           TEXT NOT NULL CHECK (status IN ('candidate','champion','retired','rejected')),
    created_at       TIMESTAMPTZ NOT NULL,
    artifact_sha256  TEXT NOT NULL,
    artifact         TEXT NOT NULL,             -- the model.json, so every replica can load it
    metrics          TEXT NOT NULL,
    data_window      TEXT NOT NULL,
    promoted_at      TIMESTAMPTZ
);
CREATE UNIQUE INDEX models_one_champion ON models (product) WHERE status = 'champion';

CREATE TABLE model_promotions (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product           TEXT NOT NULL,
    model_id          TEXT NOT NULL REFERENCES models(id),
    previous_model_id TEXT REFERENCES models(id),
    promoted_at       TIMESTAMPTZ NOT NULL,
    promoted_by       TEXT NOT NULL,
    forced            BOOLEAN NOT NULL DEFAULT FALSE,
    reason            TEXT
);

-- Live scores for drift monitoring (no personal data: product, model, score, bins only).
CREATE TABLE score_observations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product      TEXT NOT NULL,
    model_id     TEXT NOT NULL,
    scored_at    TIMESTAMPTZ NOT NULL,
    score        BIGINT NOT NULL,
    bins         TEXT NOT NULL,                 -- JSON: characteristic -> bin index
    shadow_model_id TEXT,
    shadow_score BIGINT
);
CREATE INDEX score_observations_by_product ON score_observations (product, scored_at);
