//! Refused feed files (migration 0010): what the console shows of a refusal — when, what kind,
//! from whom, the file's digest, the errors by line and column, and the refused lines with
//! every identity number masked. The file itself is never kept. Built by `feeds::refusals`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, StoreError};
use crate::with_db;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct FeedRefusal {
    pub id: String,
    pub kind: String,
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub file_sha256: String,
    pub message: String,
    pub errors_total: i64,
    /// `[{line, column, reason}]` as the pipeline listed them (at most `feeds::MAX_LISTED`).
    pub errors_json: String,
    /// The refused lines as CSV, identity numbers masked; `None` where the format has no lines
    /// to give back (a workbook) or the refusal was not about rows.
    pub rows_csv: Option<String>,
}

const COLUMNS: &str =
    "id, kind, source, received_at, file_sha256, message, errors_total, errors_json, rows_csv";

impl Db {
    pub async fn add_feed_refusal(&self, r: &FeedRefusal) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO feed_refusals ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        with_db!(self, p => sqlx::query(&sql)
            .bind(&r.id).bind(&r.kind).bind(&r.source).bind(r.received_at).bind(&r.file_sha256)
            .bind(&r.message).bind(r.errors_total).bind(&r.errors_json).bind(&r.rows_csv)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Refusals received at or after `since`, newest first, at most `limit`.
    pub async fn feed_refusals_since(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<FeedRefusal>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM feed_refusals WHERE received_at >= $1 \
             ORDER BY received_at DESC, id DESC LIMIT $2"
        );
        Ok(with_db!(self, p => sqlx::query_as(&sql).bind(since).bind(limit).fetch_all(p).await)?)
    }

    pub async fn feed_refusal(&self, id: &str) -> Result<FeedRefusal, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM feed_refusals WHERE id = $1");
        with_db!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?
            .ok_or(StoreError::NotFound)
    }
}
