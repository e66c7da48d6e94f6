//! The model registry: every trained model with its artifact (so any replica can load it), its
//! metrics and data window; at most one champion per product; a promotion history for rollback.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, StoreError};
use crate::with_db;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ModelRow {
    pub id: String,
    pub product: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub artifact_sha256: String,
    #[serde(skip)]
    pub artifact: String,
    pub metrics: String,
    pub data_window: String,
    pub promoted_at: Option<DateTime<Utc>>,
}

pub struct NewModel<'a> {
    pub product: &'a str,
    pub artifact: &'a str,
    pub metrics: &'a serde_json::Value,
    pub data_window: &'a serde_json::Value,
    /// When it was registered, from the caller's clock.
    pub created_at: DateTime<Utc>,
}

/// One change of champion as the registry records it.
pub struct Promotion<'a> {
    pub by: &'a str,
    pub forced: bool,
    pub reason: Option<&'a str>,
    /// The second administrator who approved a forced promotion; their open approval request
    /// is closed in the same transaction.
    pub approved_by: Option<&'a str>,
    /// `promotion` or `rollback`.
    pub kind: &'a str,
    pub at: DateTime<Utc>,
}

/// A forced promotion waiting for a second administrator.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ApprovalRequest {
    pub model_id: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub reason: String,
    pub gate_failures: String,
}

const COLUMNS: &str =
    "id, product, status, created_at, artifact_sha256, artifact, metrics, data_window, promoted_at";

/// A new model id: `prefix` (the product and quarter, e.g. `sme-2026Q4-`) and a ULID made from
/// `at` and 80 random bits. Unique without asking the database how many exist, so replicas and
/// separate databases never hand out the same id (a count-then-insert did).
pub fn new_model_id(prefix: &str, at: DateTime<Utc>) -> String {
    format!(
        "{prefix}{}",
        ulid::Ulid::from_datetime(std::time::SystemTime::from(at))
    )
}

impl Db {
    /// Registers a candidate under a fresh id (`new_model_id(prefix, created_at)`) allocated
    /// with the insert, and returns the id.
    pub async fn register_candidate(
        &self,
        prefix: &str,
        m: &NewModel<'_>,
    ) -> Result<String, StoreError> {
        let id = new_model_id(prefix, m.created_at);
        self.register_model(&id, m).await?;
        Ok(id)
    }

    /// Registers a candidate under an id the caller chose (fixtures, tests); a taken id is a
    /// conflict. The registry records the artifact's SHA-256, which loading checks.
    pub async fn register_model(&self, id: &str, m: &NewModel<'_>) -> Result<(), StoreError> {
        let digest = super::artifacts::digest_of(m.artifact);
        with_db!(self, p => sqlx::query(
            "INSERT INTO models (id, product, status, created_at, artifact_sha256, artifact, metrics, data_window) \
             VALUES ($1, $2, 'candidate', $3, $4, $5, $6, $7)")
            .bind(id).bind(m.product).bind(m.created_at).bind(&digest).bind(m.artifact)
            .bind(m.metrics.to_string()).bind(m.data_window.to_string())
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::from_insert(e, &format!("model {id}")))
    }

    /// The model of `product` registered with this artifact digest, if any (an import of the
    /// same file twice finds the first).
    pub async fn model_by_digest(
        &self,
        product: &str,
        digest: &str,
    ) -> Result<Option<ModelRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM models WHERE product = $1 AND artifact_sha256 = $2 ORDER BY created_at, id LIMIT 1"
        );
        Ok(
            with_db!(self, p => sqlx::query_as(&sql).bind(product).bind(digest).fetch_optional(p).await)?,
        )
    }

    /// The newest candidate of `product` registered after its champion was promoted (or any,
    /// without a champion): the model scored in the shadows.
    pub async fn newest_candidate(&self, product: &str) -> Result<Option<ModelRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM models WHERE product = $1 AND status = 'candidate' \
             AND created_at >= COALESCE((SELECT MAX(promoted_at) FROM models WHERE product = $1 AND status = 'champion'), created_at) \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        Ok(with_db!(self, p => sqlx::query_as(&sql).bind(product).fetch_optional(p).await)?)
    }

    pub async fn model(&self, id: &str) -> Result<ModelRow, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM models WHERE id = $1");
        let row: Option<ModelRow> =
            with_db!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    pub async fn models(&self, product: Option<&str>) -> Result<Vec<ModelRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM models WHERE ($1 IS NULL OR product = $1) ORDER BY created_at DESC, id DESC"
        );
        Ok(with_db!(self, p => sqlx::query_as(&sql).bind(product).fetch_all(p).await)?)
    }

    pub async fn champion(&self, product: &str) -> Result<Option<ModelRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM models WHERE product = $1 AND status = 'champion'");
        Ok(with_db!(self, p => sqlx::query_as(&sql).bind(product).fetch_optional(p).await)?)
    }

    /// Makes `id` its product's champion (the old one retires) and records who did it and why.
    /// Returns the previous champion's id.
    pub async fn promote_model(
        &self,
        id: &str,
        p: &Promotion<'_>,
    ) -> Result<Option<String>, StoreError> {
        let model = self.model(id).await?;
        if model.status == "champion" {
            return Err(StoreError::Conflict(format!(
                "model {id} is already the champion"
            )));
        }
        let mut tx = self.begin().await?;
        if let Some(approver) = p.approved_by {
            // Closing the open request here means two approvals racing promote once.
            let closed = crate::with_tx!(&mut tx, c => sqlx::query(
                "UPDATE model_approvals SET approved_by = $2, approved_at = $3 \
                 WHERE model_id = $1 AND approved_at IS NULL")
                .bind(id).bind(approver).bind(p.at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            if closed != 1 {
                return Err(StoreError::Conflict(format!(
                    "model {id} has no forced promotion waiting for approval"
                )));
            }
        }
        let previous: Option<(String,)> = crate::with_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id FROM models WHERE product = $1 AND status = 'champion'")
            .bind(&model.product).fetch_optional(&mut *c).await)?;
        crate::with_tx!(&mut tx, c => sqlx::query(
            "UPDATE models SET status = 'retired' WHERE product = $1 AND status = 'champion'")
            .bind(&model.product).execute(&mut *c).await.map(|_| ()))?;
        crate::with_tx!(&mut tx, c => sqlx::query(
            "UPDATE models SET status = 'champion', promoted_at = $2 WHERE id = $1")
            .bind(id).bind(p.at).execute(&mut *c).await.map(|_| ()))?;
        let previous = previous.map(|p| p.0);
        crate::with_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO model_promotions (product, model_id, previous_model_id, promoted_at, promoted_by, forced, reason, approved_by, kind) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&model.product).bind(id).bind(&previous).bind(p.at).bind(p.by).bind(p.forced).bind(p.reason)
            .bind(p.approved_by).bind(p.kind)
            .execute(&mut *c).await.map(|_| ()))?;
        tx.commit().await?;
        Ok(previous)
    }

    /// Records a forced promotion waiting for a second administrator; a model has at most one
    /// open request (a second is a conflict).
    pub async fn request_approval(&self, r: &ApprovalRequest) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "INSERT INTO model_approvals (model_id, requested_by, requested_at, reason, gate_failures) \
             VALUES ($1, $2, $3, $4, $5)")
            .bind(&r.model_id).bind(&r.requested_by).bind(r.requested_at).bind(&r.reason).bind(&r.gate_failures)
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::from_insert(e, &format!("a forced promotion request for model {}", r.model_id)))
    }

    /// The open forced-promotion request for `model_id`, if any.
    pub async fn open_approval(
        &self,
        model_id: &str,
    ) -> Result<Option<ApprovalRequest>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT model_id, requested_by, requested_at, reason, gate_failures FROM model_approvals \
             WHERE model_id = $1 AND approved_at IS NULL")
            .bind(model_id).fetch_optional(p).await)?)
    }

    /// The champion history of `product` replayed as a stack (a promotion pushes its model, a
    /// rollback pops), bottom first: the last entry is the current champion, the one before it
    /// is where a rollback goes. A rollback therefore walks back one step each time, rather
    /// than toggling between the last two models.
    pub async fn champion_stack(&self, product: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String, String)> = with_db!(self, p => sqlx::query_as(
            "SELECT model_id, kind FROM model_promotions WHERE product = $1 ORDER BY id")
            .bind(product).fetch_all(p).await)?;
        let mut stack: Vec<String> = Vec::new();
        for (model, kind) in rows {
            if kind == "rollback" {
                stack.pop();
                // A rollback's row names the model it went back to, which is now on top.
                if stack.last() != Some(&model) {
                    stack.push(model);
                }
            } else {
                stack.push(model);
            }
        }
        Ok(stack)
    }
}

/// One change of champion to or from a model, as recorded (for its model card).
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct PromotionRecord {
    pub model_id: String,
    pub previous_model_id: Option<String>,
    pub promoted_at: DateTime<Utc>,
    pub promoted_by: String,
    pub forced: bool,
    pub reason: Option<String>,
    pub approved_by: Option<String>,
    pub kind: String,
}

/// A forced-promotion request and its approval, if given.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ApprovalRecord {
    pub model_id: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub reason: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
}

impl Db {
    /// The promotions and rollbacks that made `id` the champion, oldest first.
    pub async fn promotions_of(&self, id: &str) -> Result<Vec<PromotionRecord>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT model_id, previous_model_id, promoted_at, promoted_by, forced, reason, approved_by, kind \
             FROM model_promotions WHERE model_id = $1 ORDER BY id")
            .bind(id).fetch_all(p).await)?)
    }

    /// Every forced-promotion request for `id`, oldest first.
    pub async fn approvals_of(&self, id: &str) -> Result<Vec<ApprovalRecord>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT model_id, requested_by, requested_at, reason, approved_by, approved_at \
             FROM model_approvals WHERE model_id = $1 ORDER BY id")
            .bind(id).fetch_all(p).await)?)
    }
}
