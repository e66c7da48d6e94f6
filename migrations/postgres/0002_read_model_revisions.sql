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

CREATE FUNCTION bump_data_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_revisions SET revision = revision + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;

CREATE TRIGGER partners_revision AFTER UPDATE OR DELETE ON partners
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('partners');

CREATE TRIGGER consents_revision AFTER UPDATE OR DELETE ON consents
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('consents');

CREATE TRIGGER feed_batches_revision AFTER UPDATE ON feed_batches
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('facts');

CREATE TRIGGER enterprises_revision AFTER DELETE ON enterprises
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('facts');

CREATE TRIGGER tax_grades_revision AFTER DELETE ON tax_grades
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('facts');

CREATE TRIGGER tax_payments_revision AFTER DELETE ON tax_payments
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('facts');

CREATE TRIGGER households_revision AFTER DELETE ON households
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('facts');

CREATE TRIGGER farmer_assessments_revision AFTER DELETE ON farmer_assessments
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('facts');

CREATE TRIGGER public_records_revision AFTER DELETE ON public_records
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('facts');

CREATE TRIGGER loans_revision AFTER DELETE ON loans
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision('facts');
