//! Background jobs of `serve`: picking up promotions made by other replicas (hot reload), and
//! retraining every product on the first day of each quarter.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;

use super::AppState;
use crate::clock::Clock;
use crate::domain::Product;
use crate::lifecycle::schedule::QuarterlySchedule;

/// Polls the registry so a promotion made anywhere (another replica, the CLI) is served here
/// within `every`; requests in flight keep the model they started with.
pub fn spawn_reload(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = state.champions.refresh(&state.db).await {
                tracing::warn!(error = %e, "champion reload failed");
            }
        }
    })
}

/// Checks every minute whether the quarterly retraining is due and, if so, retrains every
/// product as of that day, registering candidates (promoted only when `auto_promote`).
pub fn spawn_quarterly(
    state: AppState,
    clock: Arc<dyn Clock>,
    check_every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut schedule =
            QuarterlySchedule::starting_at(state.settings.retrain_hour_utc, clock.now());
        let mut tick = tokio::time::interval(check_every);
        loop {
            tick.tick().await;
            let now = clock.now();
            if schedule.due(now) {
                retrain_all(&state, now.date_naive()).await;
            }
        }
    })
}

/// The quarterly job: one candidate per product, failures logged rather than fatal.
pub async fn retrain_all(state: &AppState, as_of: NaiveDate) -> Vec<String> {
    let mut registered = Vec::new();
    for product in [Product::Sme, Product::Farmer] {
        let outcome = state.retrain(product, as_of).await;
        match outcome {
            Ok(o) => {
                tracing::info!(product = product.as_str(), model = %o.id, auc = o.oot_auc, "quarterly candidate registered");
                if state.settings.auto_promote && o.gate_failures.is_empty() {
                    let registry = state.registry();
                    if let Err(e) = registry
                        .promote(&o.id, "schedule", false, None, Some(product))
                        .await
                    {
                        tracing::warn!(model = %o.id, error = %e, "auto-promotion refused");
                    }
                }
                registered.push(o.id);
            }
            Err(e) => {
                tracing::error!(product = product.as_str(), error = %format!("{e:#}"), "quarterly retraining failed")
            }
        }
    }
    registered
}
