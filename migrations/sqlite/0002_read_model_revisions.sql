-- The serving read model (src/scoring/read_model.rs) keeps partners, consents and subjects' facts
-- in memory. Every replica polls these counters and drops what changed; triggers bump them so that
-- no writer (a feed batch, the CLI, a maintenance purge, another replica) can forget to.
-- Feeds bump once per batch (when the batch row is finished, near the commit); new partners and
-- consents need no bump because nothing unknown is cached.
CREATE TABLE data_revisions (
    name     TEXT PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO data_revisions (name, revision) VALUES ('partners', 0), ('consents', 0), ('facts', 0);

CREATE TRIGGER partners_update_revision AFTER UPDATE ON partners BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'partners';
END;

CREATE TRIGGER partners_delete_revision AFTER DELETE ON partners BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'partners';
END;

CREATE TRIGGER consents_update_revision AFTER UPDATE ON consents BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'consents';
END;

CREATE TRIGGER consents_delete_revision AFTER DELETE ON consents BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'consents';
END;

CREATE TRIGGER feed_batches_update_revision AFTER UPDATE ON feed_batches BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TRIGGER enterprises_delete_revision AFTER DELETE ON enterprises BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TRIGGER tax_grades_delete_revision AFTER DELETE ON tax_grades BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TRIGGER tax_payments_delete_revision AFTER DELETE ON tax_payments BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TRIGGER households_delete_revision AFTER DELETE ON households BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TRIGGER farmer_assessments_delete_revision AFTER DELETE ON farmer_assessments BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TRIGGER public_records_delete_revision AFTER DELETE ON public_records BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;

CREATE TRIGGER loans_delete_revision AFTER DELETE ON loans BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = 'facts';
END;
