//! Reads of the audit ledger for people (the console's Audit page and overview): the signed
//! checkpoints newest first, a range of entries for export, and the record of each
//! verification run (migration 0010), so "when was the trail last verified, and did it hold"
//! has an answer.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ledger::StoredEntry;
use super::{Db, StoreError};
use crate::with_db;

/// One verification of the ledger, as recorded.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct VerificationRecord {
    pub id: String,
    pub verified_at: DateTime<Utc>,
    pub verified_by: String,
    pub ok: bool,
    pub rows_checked: i64,
    pub checkpoint_size: Option<i64>,
    pub problem: Option<String>,
}

/// A signed checkpoint: the tree's size, the signed note, when it was signed.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct CheckpointRow {
    pub size: i64,
    pub note: String,
    pub signed_at: DateTime<Utc>,
}

/// Which entries an export takes: by when they were recorded, or by leaf index (sequenced
/// entries only), each a half-open range.
#[derive(Clone, Copy, Debug)]
pub enum EntryRange {
    Time(DateTime<Utc>, DateTime<Utc>),
    Index(i64, i64),
}

const ENTRY_COLUMNS: &str =
    "e.entry_no, l.leaf_index, e.event_id, e.recorded_at, e.kind, e.actor, e.partner_id, \
     e.subject_key, e.subject_last4, e.correlation_id, e.leaf, e.leaf_hash";

impl Db {
    pub async fn add_verification(&self, v: &VerificationRecord) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "INSERT INTO audit_verifications (id, verified_at, verified_by, ok, rows_checked, checkpoint_size, problem) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&v.id).bind(v.verified_at).bind(&v.verified_by).bind(v.ok).bind(v.rows_checked)
            .bind(v.checkpoint_size).bind(&v.problem)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The newest recorded verification, if any.
    pub async fn last_verification(&self) -> Result<Option<VerificationRecord>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT id, verified_at, verified_by, ok, rows_checked, checkpoint_size, problem \
             FROM audit_verifications ORDER BY verified_at DESC, id DESC LIMIT 1")
            .fetch_optional(p).await)?)
    }

    /// The newest `limit` signed checkpoints, largest first.
    pub async fn recent_checkpoints(&self, limit: i64) -> Result<Vec<CheckpointRow>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT size, note, signed_at FROM ledger_checkpoints ORDER BY size DESC LIMIT $1")
            .bind(limit).fetch_all(p).await)?)
    }

    /// Entries in `range`, in ledger order, at most `limit` (the caller asks for one more than
    /// it will give, to tell a range that is too large).
    pub async fn ledger_range(
        &self,
        range: EntryRange,
        limit: i64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let from = "FROM ledger_entries e LEFT JOIN ledger_leaves l ON l.entry_no = e.entry_no";
        Ok(match range {
            EntryRange::Time(start, end) => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} {from} WHERE e.recorded_at >= $1 AND e.recorded_at < $2 \
                     ORDER BY e.recorded_at, e.entry_no LIMIT $3"
                );
                with_db!(self, p => sqlx::query_as(&sql).bind(start).bind(end).bind(limit).fetch_all(p).await)?
            }
            EntryRange::Index(start, end) => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} {from} WHERE l.leaf_index >= $1 AND l.leaf_index < $2 \
                     ORDER BY l.leaf_index LIMIT $3"
                );
                with_db!(self, p => sqlx::query_as(&sql).bind(start).bind(end).bind(limit).fetch_all(p).await)?
            }
        })
    }
}
