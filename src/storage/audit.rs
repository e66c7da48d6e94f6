//! Score observations, committed with the audit ledger's entry of each delivered score (the
//! ledger's own tables are in `storage::ledger`). The old hash chain's tables (`audit_log`,
//! `audit_chain_head`) are no longer written.

use chrono::{DateTime, Utc};

use super::{Db, StoreError};
use crate::with_db;

/// A delivered score kept for drift monitoring: no subject, only the model's view of it.
#[derive(Clone, Debug)]
pub struct Observation {
    pub product: String,
    pub model_id: String,
    pub scored_at: DateTime<Utc>,
    pub score: i32,
    /// Bin index per scorecard characteristic, in scorecard order.
    pub bins: Vec<usize>,
    pub shadow_model_id: Option<String>,
    pub shadow_score: Option<i32>,
}

impl Db {
    /// Observations of `product` scored by `model_id` since `from`: (score, bins JSON, shadow
    /// model, shadow score).
    #[allow(clippy::type_complexity)]
    pub async fn observations(
        &self,
        product: &str,
        model_id: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<(i64, String, Option<String>, Option<i64>)>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT score, bins, shadow_model_id, shadow_score FROM score_observations WHERE product = $1 AND model_id = $2 AND scored_at >= $3")
            .bind(product).bind(model_id).bind(from).fetch_all(p).await)?)
    }
}

/// A delivered score as monitoring reads it over time: (scored at, score, bins JSON, shadow
/// model, shadow score).
pub type DatedObservation = (DateTime<Utc>, i64, String, Option<String>, Option<i64>);

impl Db {
    /// As `observations`, with when each score was given, oldest first: the monitoring page's
    /// figures month by month.
    pub async fn observations_dated(
        &self,
        product: &str,
        model_id: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<DatedObservation>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT scored_at, score, bins, shadow_model_id, shadow_score FROM score_observations \
             WHERE product = $1 AND model_id = $2 AND scored_at >= $3 ORDER BY scored_at, id")
            .bind(product).bind(model_id).bind(from).fetch_all(p).await)?)
    }
}
