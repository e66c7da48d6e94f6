-- A subject's query history is read rarely (by an administrator) but was indexed on every audit
-- insert: at random places in a large index, which made each group commit write ~7 KiB of pages
-- per row and cost seven times the rest of the commit. The index is now kept beside the log and
-- filled in sorted batches (src/storage/audit.rs, index_subjects): rows up to upto_seq are in it,
-- later rows are found by a short scan of the log's tail.
DROP INDEX audit_log_by_subject;
CREATE TABLE audit_subject_index (
    subject_key TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (subject_key, seq)
) WITHOUT ROWID;
CREATE TABLE audit_subject_indexed (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    upto_seq BIGINT NOT NULL
);
INSERT INTO audit_subject_index (subject_key, seq)
SELECT subject_key, seq FROM audit_log WHERE subject_key IS NOT NULL ORDER BY subject_key, seq;
INSERT INTO audit_subject_indexed (id, upto_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_log;
