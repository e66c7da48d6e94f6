//! Disputes (异议) of query-history entries: opened with a note, resolved with a resolution.
//! The rules (whose entry, one open at a time, notes required) are in `disputes`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, StoreError};
use crate::with_db;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct DisputeRow {
    pub id: String,
    #[serde(skip)]
    pub subject_key: String,
    pub event_id: String,
    pub note: String,
    pub status: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, subject_key, event_id, note, status, opened_by, opened_at, resolution, resolved_by, resolved_at";

impl Db {
    /// Opens a dispute; a second open dispute of the same entry is a `Conflict` (unique index).
    pub async fn open_dispute(&self, d: &DisputeRow) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "INSERT INTO disputes (id, subject_key, event_id, note, status, opened_by, opened_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6)")
            .bind(&d.id).bind(&d.subject_key).bind(&d.event_id).bind(&d.note)
            .bind(&d.opened_by).bind(d.opened_at)
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::from_insert(e, "an open dispute of this entry"))
    }

    pub async fn dispute(&self, id: &str) -> Result<DisputeRow, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM disputes WHERE id = $1");
        with_db!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?
            .ok_or(StoreError::NotFound)
    }

    /// A subject's disputes, newest first.
    pub async fn disputes_of(&self, subject_key: &str) -> Result<Vec<DisputeRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM disputes WHERE subject_key = $1 ORDER BY opened_at DESC, id DESC"
        );
        Ok(with_db!(self, p => sqlx::query_as(&sql).bind(subject_key).fetch_all(p).await)?)
    }

    /// Resolves an open dispute; one already resolved is a `Conflict`.
    pub async fn resolve_dispute(
        &self,
        id: &str,
        resolution: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let done = with_db!(self, p => sqlx::query(
            "UPDATE disputes SET status = 'resolved', resolution = $2, resolved_by = $3, resolved_at = $4 \
             WHERE id = $1 AND status = 'open'")
            .bind(id).bind(resolution).bind(by).bind(at).execute(p).await.map(|r| r.rows_affected()))?;
        if done == 1 {
            return Ok(());
        }
        self.dispute(id).await?;
        Err(StoreError::Conflict(format!(
            "dispute {id} is already resolved"
        )))
    }
}
