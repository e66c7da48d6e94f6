//! The quarterly model lifecycle: point-in-time retraining, promotion gates, promotion and
//! rollback with an audit record, and hot reload of the serving champion.

use serde_json::json;

use crate::audit::{Actor, AuditEvent, AuditWriter, EventKind, Outcome};
use crate::clock::Clock;
use crate::domain::Product;
use crate::scoring::Champions;
use crate::storage::models::{ApprovalRequest, Promotion};
use crate::storage::{Db, StoreError};

pub mod card;
pub mod dataset;
pub mod delong;
pub mod gates;
pub mod import;
pub mod monitoring;
pub mod retrain;
pub mod schedule;

pub use gates::{GateInputs, GateResult, Gates};

#[derive(Debug, thiserror::Error)]
pub enum PromotionError {
    #[error("model {id} fails the promotion gates ({verdict:?}): {}", failures.join("; "))]
    GatesFailed {
        id: String,
        verdict: gates::Verdict,
        failures: Vec<String>,
    },
    #[error("a forced promotion needs a reason")]
    ReasonRequired,
    #[error("model {id} is a {actual} model, not {expected}")]
    WrongProduct {
        id: String,
        actual: String,
        expected: String,
    },
    #[error("model {0} has no forced promotion waiting for approval")]
    NoApprovalPending(String),
    #[error("a forced promotion of {id} was requested by {by}: a different administrator must approve it")]
    SameApprover { id: String, by: String },
    #[error("no earlier champion of {0} to roll back to")]
    NothingToRollBack(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit: {0}")]
    Audit(String),
    #[error("model could not be loaded: {0}")]
    Load(String),
    /// The model's artifact fails its digest check or does not parse: refused before anything
    /// changes, so the champion in service keeps serving.
    #[error("{0}")]
    Unloadable(String),
}

/// What a promotion request led to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PromotionOutcome {
    /// The model serves now.
    Promoted {
        champion: String,
        previous: Option<String>,
    },
    /// Forced past failed gates: waits for a second administrator's `approve`.
    AwaitingApproval {
        model_id: String,
        requested_by: String,
        gate_failures: Vec<String>,
    },
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
    /// Promotes `id` if it passes the gates. With `force` (which needs a reason) a model that
    /// fails them is not promoted but put up for a second administrator's approval; both steps
    /// are audited. `product`, when given, must be the model's.
    pub async fn promote(
        &self,
        id: &str,
        by: &str,
        force: bool,
        reason: Option<&str>,
        product: Option<Product>,
    ) -> Result<PromotionOutcome, PromotionError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if force && reason.is_none() {
            return Err(PromotionError::ReasonRequired);
        }
        let model = self.db.model(id).await?;
        if let Some(p) = product.filter(|p| p.as_str() != model.product) {
            return Err(PromotionError::WrongProduct {
                id: id.to_owned(),
                actual: model.product,
                expected: p.as_str().to_owned(),
            });
        }
        if model.status == "champion" {
            return Err(StoreError::Conflict(format!("model {id} is already the champion")).into());
        }
        self.check_loadable(&model)?;
        let result = gate_result(self.gates, &model.metrics);
        if result.passed() {
            let previous = self
                .change_champion(
                    &model.product,
                    id,
                    by,
                    false,
                    reason,
                    None,
                    "promotion",
                    &result,
                )
                .await?;
            return Ok(PromotionOutcome::Promoted {
                champion: id.to_owned(),
                previous,
            });
        }
        if !force {
            return Err(PromotionError::GatesFailed {
                id: id.to_owned(),
                verdict: result.verdict,
                failures: result.failures,
            });
        }
        let reason = reason.expect("checked above");
        self.db
            .request_approval(&ApprovalRequest {
                model_id: id.to_owned(),
                requested_by: by.to_owned(),
                requested_at: self.clock.now(),
                reason: reason.to_owned(),
                gate_failures: serde_json::to_string(&result.failures).unwrap_or_default(),
            })
            .await?;
        self.audit_event(
            EventKind::ModelForced,
            by,
            &model.product,
            id,
            json!({ "stage": "requested", "by": by, "forced": true, "reason": reason, "gate_verdict": result.verdict,
                    "gate_failures": result.failures }),
        )
        .await?;
        Ok(PromotionOutcome::AwaitingApproval {
            model_id: id.to_owned(),
            requested_by: by.to_owned(),
            gate_failures: result.failures,
        })
    }

    /// A second administrator approves the open forced promotion of `id`, which then serves.
    pub async fn approve(&self, id: &str, by: &str) -> Result<PromotionOutcome, PromotionError> {
        let model = self.db.model(id).await?;
        let request = self
            .db
            .open_approval(id)
            .await?
            .ok_or_else(|| PromotionError::NoApprovalPending(id.to_owned()))?;
        if request.requested_by == by {
            return Err(PromotionError::SameApprover {
                id: id.to_owned(),
                by: by.to_owned(),
            });
        }
        self.check_loadable(&model)?;
        let result = gate_result(self.gates, &model.metrics);
        let previous = self
            .change_champion(
                &model.product,
                id,
                &request.requested_by,
                true,
                Some(&request.reason),
                Some(by),
                "promotion",
                &result,
            )
            .await?;
        Ok(PromotionOutcome::Promoted {
            champion: id.to_owned(),
            previous,
        })
    }

    /// Puts back the champion before the current one in the champion history, without the
    /// gates (it served before) and audited. Repeating it walks further back.
    pub async fn rollback(&self, product: Product, by: &str) -> Result<String, PromotionError> {
        let stack = self.db.champion_stack(product.as_str()).await?;
        let [.., target, _current] = stack.as_slice() else {
            return Err(PromotionError::NothingToRollBack(product.as_str().into()));
        };
        let target_row = self.db.model(target).await?;
        self.check_loadable(&target_row)?;
        let result = gate_result(self.gates, &target_row.metrics);
        self.change_champion(
            product.as_str(),
            target,
            by,
            false,
            Some("rollback"),
            None,
            "rollback",
            &result,
        )
        .await?;
        Ok(target.clone())
    }

    /// The model card of `id` (`card::build`): its row, its artifact loaded with the digest
    /// checked, its approvals and promotions.
    pub async fn card(&self, id: &str) -> Result<card::ModelCard, PromotionError> {
        let row = self.db.model(id).await?;
        let model = self
            .champions
            .load(&row)
            .map_err(|e| PromotionError::Unloadable(e.to_string()))?;
        let approvals = self.db.approvals_of(id).await?;
        let promotions = self.db.promotions_of(id).await?;
        Ok(card::build(&row, &model, self.gates, approvals, promotions))
    }

    /// Loads the model's artifact from the store as serving would (digest checked), so a model
    /// that could not serve never becomes the champion.
    fn check_loadable(
        &self,
        model: &crate::storage::models::ModelRow,
    ) -> Result<(), PromotionError> {
        self.champions
            .load(model)
            .map(|_| ())
            .map_err(|e| PromotionError::Unloadable(e.to_string()))
    }

    /// The one place a champion changes: registry, audit record, reload.
    #[allow(clippy::too_many_arguments)]
    async fn change_champion(
        &self,
        product: &str,
        id: &str,
        by: &str,
        forced: bool,
        reason: Option<&str>,
        approved_by: Option<&str>,
        kind: &str,
        gates: &GateResult,
    ) -> Result<Option<String>, PromotionError> {
        let previous = self
            .db
            .promote_model(
                id,
                &Promotion {
                    by,
                    forced,
                    reason,
                    approved_by,
                    kind,
                    at: self.clock.now(),
                },
            )
            .await?;
        // A forced promotion is `model.forced` when it is asked for; once a second admin
        // approves it, the change itself is a promotion like any other (with `forced: true`).
        let event_kind = if kind == "rollback" {
            EventKind::ModelRolledBack
        } else {
            EventKind::ModelPromoted
        };
        self.audit_event(
            event_kind,
            by,
            product,
            id,
            json!({ "by": by, "forced": forced, "reason": reason, "approved_by": approved_by,
                    "previous_champion": previous, "gate_verdict": gates.verdict,
                    "gate_failures": gates.failures }),
        )
        .await?;
        self.champions
            .refresh(self.db)
            .await
            .map_err(|e| PromotionError::Load(e.to_string()))?;
        Ok(previous)
    }

    async fn audit_event(
        &self,
        kind: EventKind,
        by: &str,
        product: &str,
        id: &str,
        detail: serde_json::Value,
    ) -> Result<(), PromotionError> {
        let event = AuditEvent::new(
            kind,
            Actor::Named {
                name: by.to_owned(),
            },
            self.clock.now(),
        )
        .outcome(Outcome::Done)
        .with("product", product)
        .with("model_id", id)
        .with("detail", detail);
        self.audit
            .record(event)
            .await
            .map(|_| ())
            .map_err(|e| PromotionError::Audit(e.to_string()))
    }
}

/// The gates' verdict on a registered model's recorded inputs; a model with none (a fixture,
/// one trained before the gates recorded their inputs) fails.
pub fn gate_result(gates: &Gates, metrics: &str) -> GateResult {
    match serde_json::from_str::<serde_json::Value>(metrics)
        .ok()
        .and_then(|m| serde_json::from_value::<GateInputs>(m["gate_inputs"].clone()).ok())
    {
        Some(inputs) => gates.judge(&inputs),
        None => GateResult {
            verdict: gates::Verdict::Fail,
            failures: vec!["the model has no recorded out-of-time evaluation".into()],
        },
    }
}
