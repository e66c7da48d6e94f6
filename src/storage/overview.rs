//! Read-side queries the console's pages need and the API did not (issue 19): the newest batch
//! per feed kind, recent batches, delivered scores per partner per day, the champion history,
//! a subject's consents, the open forced promotions.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::consents::Consent;
use super::feeds::BatchRecord;
use super::models::ApprovalRequest;
use super::{Db, StoreError};
use crate::with_db;

/// One entry of a product's champion history (the model card's record of it).
pub use super::models::PromotionRecord;

/// Delivered scores of one partner on one day (UTC).
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct DailyScores {
    pub partner_id: String,
    pub day: String,
    pub scores: i64,
}

const BATCH_COLUMNS: &str =
    "id, kind, source, idempotency_key, content_sha256, format, rows_stored, \
    result_json, received_at, visible_seq";

impl Db {
    /// The newest visible batch of each feed kind that has one (a batch still being staged is
    /// not fed yet).
    pub async fn newest_batch_per_kind(&self) -> Result<Vec<BatchRecord>, StoreError> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM feed_batches b WHERE visible_seq IS NOT NULL AND received_at = \
             (SELECT MAX(received_at) FROM feed_batches WHERE kind = b.kind AND visible_seq IS NOT NULL) \
             ORDER BY kind, id"
        );
        Ok(with_db!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?)
    }

    /// The latest `limit` visible batches, newest first.
    pub async fn recent_batches(&self, limit: i64) -> Result<Vec<BatchRecord>, StoreError> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM feed_batches WHERE visible_seq IS NOT NULL \
             ORDER BY received_at DESC, id DESC LIMIT $1"
        );
        Ok(with_db!(self, p => sqlx::query_as(&sql).bind(limit).fetch_all(p).await)?)
    }

    /// Delivered scores per partner per UTC day since `from`.
    pub async fn daily_scores(&self, from: DateTime<Utc>) -> Result<Vec<DailyScores>, StoreError> {
        // The day of a timestamp is spelled per dialect: SQLite keeps RFC 3339 text.
        let day = match self {
            Db::Sqlite(_) => "substr(recorded_at, 1, 10)",
            Db::Postgres(_) => "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        };
        let sql = format!(
            "SELECT partner_id, {day} AS day, COUNT(*) AS scores FROM ledger_entries \
             WHERE kind = 'score.delivered' AND partner_id IS NOT NULL AND recorded_at >= $1 \
             GROUP BY partner_id, {day} ORDER BY day, partner_id"
        );
        Ok(with_db!(self, p => sqlx::query_as(&sql).bind(from).fetch_all(p).await)?)
    }

    /// `product`'s champion history, newest first.
    pub async fn promotion_history(
        &self,
        product: &str,
    ) -> Result<Vec<PromotionRecord>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT model_id, previous_model_id, promoted_at, promoted_by, forced, reason, approved_by, kind \
             FROM model_promotions WHERE product = $1 ORDER BY id DESC")
            .bind(product).fetch_all(p).await)?)
    }

    /// Every consent registered for the subject held under `subject_key`, newest first.
    pub async fn consents_of(&self, subject_key: &str) -> Result<Vec<Consent>, StoreError> {
        self.consents_of_subject(subject_key).await
    }

    /// Forced promotions waiting for a second person, oldest first.
    pub async fn open_approvals(&self) -> Result<Vec<ApprovalRequest>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT model_id, requested_by, requested_at, reason, gate_failures FROM model_approvals \
             WHERE approved_at IS NULL ORDER BY requested_at")
            .fetch_all(p).await)?)
    }
}
