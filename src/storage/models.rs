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
    pub id: &'a str,
    pub product: &'a str,
    pub artifact: &'a str,
    pub metrics: &'a serde_json::Value,
    pub data_window: &'a serde_json::Value,
}

const COLUMNS: &str =
    "id, product, status, created_at, artifact_sha256, artifact, metrics, data_window, promoted_at";

impl Db {
    /// Registers a candidate.
    pub async fn register_model(&self, m: &NewModel<'_>) -> Result<(), StoreError> {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(m.artifact.as_bytes()));
        with_db!(self, p => sqlx::query(
            "INSERT INTO models (id, product, status, created_at, artifact_sha256, artifact, metrics, data_window) \
             VALUES ($1, $2, 'candidate', $3, $4, $5, $6, $7)")
            .bind(m.id).bind(m.product).bind(Utc::now()).bind(&digest).bind(m.artifact)
            .bind(m.metrics.to_string()).bind(m.data_window.to_string())
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::from_insert(e, &format!("model {}", m.id)))
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
        by: &str,
        forced: bool,
        reason: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let model = self.model(id).await?;
        if model.status == "champion" {
            return Err(StoreError::Conflict(format!(
                "model {id} is already the champion"
            )));
        }
        let now = Utc::now();
        let mut tx = self.begin().await?;
        let previous: Option<(String,)> = crate::with_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id FROM models WHERE product = $1 AND status = 'champion'")
            .bind(&model.product).fetch_optional(&mut *c).await)?;
        crate::with_tx!(&mut tx, c => sqlx::query(
            "UPDATE models SET status = 'retired' WHERE product = $1 AND status = 'champion'")
            .bind(&model.product).execute(&mut *c).await.map(|_| ()))?;
        crate::with_tx!(&mut tx, c => sqlx::query(
            "UPDATE models SET status = 'champion', promoted_at = $2 WHERE id = $1")
            .bind(id).bind(now).execute(&mut *c).await.map(|_| ()))?;
        let previous = previous.map(|p| p.0);
        crate::with_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO model_promotions (product, model_id, previous_model_id, promoted_at, promoted_by, forced, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&model.product).bind(id).bind(&previous).bind(now).bind(by).bind(forced).bind(reason)
            .execute(&mut *c).await.map(|_| ()))?;
        tx.commit().await?;
        Ok(previous)
    }

    /// The champion before the current one, per the promotion history.
    pub async fn previous_champion(&self, product: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = with_db!(self, p => sqlx::query_as(
            "SELECT previous_model_id FROM model_promotions WHERE product = $1 ORDER BY id DESC LIMIT 1")
            .bind(product).fetch_optional(p).await)?;
        Ok(row.and_then(|r| r.0))
    }
}
