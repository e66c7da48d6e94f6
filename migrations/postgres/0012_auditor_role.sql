-- Issue 14: the `auditor` partner role (reads the whole audit ledger, changes nothing).
ALTER TABLE partners DROP CONSTRAINT partners_role_check;
ALTER TABLE partners ADD CONSTRAINT partners_role_check
    CHECK (role IN ('bank','insurer','tax_bureau','assessor','public_records','admin','auditor'));
