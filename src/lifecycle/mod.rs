//! The quarterly model lifecycle: point-in-time retraining, promotion gates, promotion and
//! rollback with an audit record, and hot reload of the serving champion.

use serde_json::json;

use crate::audit::{AuditEvent, AuditWriter};
use crate::clock::Clock;
use crate::domain::Product;
use crate::scoring::Champions;
use crate::storage::{Db, StoreError};

pub mod dataset;
pub mod gates;
pub mod monitoring;
pub mod retrain;
pub mod schedule;

pub use gates::{GateInputs, Gates};

#[derive(Debug, thiserror::Error)]
pub enum PromotionError {
    #[error("model {id} fails the promotion gates: {}", failures.join("; "))]
    GatesFailed { id: String, failures: Vec<String> },
    #[error("a forced promotion needs a reason")]
    ReasonRequired,
    #[error("no earlier champion of {0} to roll back to")]
    NothingToRollBack(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit: {0}")]
    Audit(String),
    #[error("model could not be loaded: {0}")]
    Load(String),
}

/// What promotion and rollback act on.
pub struct Registry<'a> {
    pub db: &'a Db,
    pub audit: &'a AuditWriter,
    pub champions: &'a Champions,
    pub gates: &'a Gates,
    pub clock: &'a dyn Clock,
}

impl Registry<'_> {
    /// Promotes `id` if it passes the gates, or regardless when `force` (which needs a reason).
    /// The promotion is audited, then the serving champion is reloaded.
    pub async fn promote(
        &self,
        id: &str,
        by: &str,
        force: bool,
        reason: Option<&str>,
    ) -> Result<Option<String>, PromotionError> {
        let Registry {
            db,
            audit,
            champions,
            gates,
            clock,
        } = self;
        let model = db.model(id).await?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if force && reason.is_none() {
            return Err(PromotionError::ReasonRequired);
        }
        let failures = match serde_json::from_str::<serde_json::Value>(&model.metrics)
            .ok()
            .and_then(|m| serde_json::from_value::<GateInputs>(m["gate_inputs"].clone()).ok())
        {
            Some(inputs) => gates.failures(&inputs),
            None => vec!["the model has no recorded out-of-time evaluation".into()],
        };
        if !force && !failures.is_empty() {
            return Err(PromotionError::GatesFailed {
                id: id.to_owned(),
                failures,
            });
        }
        let previous = db.promote_model(id, by, force, reason).await?;
        let mut event = AuditEvent::new(
            format!("promote-{}", ulid::Ulid::new()),
            "model_promotion",
            clock.now(),
        );
        event.product = Some(model.product.clone());
        event.model_id = Some(id.to_owned());
        event.detail = Some(json!({
            "by": by, "forced": force, "reason": reason, "previous_champion": previous, "gate_failures": failures,
        }));
        audit
            .record(event)
            .await
            .map_err(|e| PromotionError::Audit(e.to_string()))?;
        champions
            .refresh(db)
            .await
            .map_err(|e| PromotionError::Load(e.to_string()))?;
        Ok(previous)
    }

    /// Puts the previous champion of `product` back (a forced promotion with reason "rollback").
    pub async fn rollback(&self, product: Product, by: &str) -> Result<String, PromotionError> {
        let previous = self
            .db
            .previous_champion(product.as_str())
            .await?
            .ok_or_else(|| PromotionError::NothingToRollBack(product.as_str().into()))?;
        self.promote(&previous, by, true, Some("rollback")).await?;
        Ok(previous)
    }
}
