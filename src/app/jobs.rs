//! Background jobs of `serve`: picking up promotions made by other replicas (hot reload), and
//! retraining every product on the first day of each quarter, once across replicas (a lease).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::AppState;
use crate::clock::Clock;
use crate::domain::Product;
use crate::lifecycle::retrain::quarter_label;
use crate::lifecycle::schedule::{quarter_start, QuarterlySchedule};

/// Polls the registry so a promotion made anywhere (another replica, the CLI) is served here
/// within `every`; requests in flight keep the model they started with.
pub fn spawn_reload(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            reload_champions(&state).await;
        }
    })
}

/// One reload of the champions, counted by outcome (`creditbridge_champion_reloads_total`), with
/// the time of the last that succeeded (`creditbridge_champion_reload_last_success_seconds`, Unix
/// time by the app's clock): a replica serving a stale model shows as a growing gap.
pub async fn reload_champions(state: &AppState) {
    let outcome = match state.champions.refresh(&state.db).await {
        Ok(()) => {
            metrics::gauge!("creditbridge_champion_reload_last_success_seconds")
                .set(state.clock.now().timestamp() as f64);
            "ok"
        }
        Err(e) => {
            tracing::warn!(error = %e, "champion reload failed");
            "failed"
        }
    };
    metrics::counter!("creditbridge_champion_reloads_total", "outcome" => outcome).increment(1);
}

/// How long a replica holds a quarterly retraining's lease: far longer than a retraining takes.
/// When its holder dies mid-run the lease lapses after this, but nothing retries at once: each
/// replica's schedule fires once per quarter, so the quarter runs again at the next start of a
/// replica (or by hand, `retrain`). Known gap; a retry loop while a quarter is unfinished is the fix.
pub const RETRAIN_LEASE: chrono::Duration = chrono::Duration::hours(2);

/// Checks every `check_every` whether the quarterly retraining is due and, if so, runs it
/// (`run_quarter`) as this replica, `holder`.
pub fn spawn_quarterly(
    state: AppState,
    clock: Arc<dyn Clock>,
    check_every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let holder = format!("replica-{}", ulid::Ulid::from_datetime(clock.now().into()));
        let mut schedule =
            QuarterlySchedule::starting_at(state.settings.retrain_hour_utc, clock.now());
        let mut tick = tokio::time::interval(check_every);
        loop {
            tick.tick().await;
            let now = clock.now();
            if schedule.due(now) {
                run_quarter(&state, &holder, now).await;
            }
        }
    })
}

/// What one replica did about one product's quarterly retraining.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum QuarterRun {
    /// This replica retrained: the candidate, and whether it was promoted.
    Retrained { model_id: String, promoted: bool },
    /// Another replica holds or finished this quarter's run.
    Skipped,
    /// The retraining failed; the lease is released for a later try.
    Failed { error: String },
}

/// The quarterly job as replica `holder` at `now`: for each product, only if this replica takes
/// the lease on the product's run for the quarter, retrain as of today, promote when
/// `auto_promote` and every gate passes, and mark the run finished. Replicas starting the same
/// quarter together produce one candidate (and at most one promotion) per product; a second
/// call in the same quarter does nothing.
pub async fn run_quarter(
    state: &AppState,
    holder: &str,
    now: DateTime<Utc>,
) -> Vec<(Product, QuarterRun)> {
    let quarter = quarter_label(quarter_start(now.date_naive()));
    let mut runs = Vec::new();
    for product in [Product::Sme, Product::Farmer] {
        let job = format!("retrain:{}:{quarter}", product.as_str());
        let run = match state
            .db
            .take_lease(&job, holder, now, now + RETRAIN_LEASE)
            .await
        {
            Ok(true) => retrain_one(state, holder, &job, product, now).await,
            Ok(false) => {
                tracing::info!(job, "quarterly retraining held or done by another replica");
                QuarterRun::Skipped
            }
            Err(e) => QuarterRun::Failed {
                error: e.to_string(),
            },
        };
        runs.push((product, run));
    }
    runs
}

async fn retrain_one(
    state: &AppState,
    holder: &str,
    job: &str,
    product: Product,
    now: DateTime<Utc>,
) -> QuarterRun {
    let o = match state.retrain(product, now.date_naive()).await {
        Ok(o) => o,
        Err(e) => {
            let error = format!("{e:#}");
            tracing::error!(
                product = product.as_str(),
                error,
                "quarterly retraining failed"
            );
            if let Err(e) = state.db.release_lease(job, holder, state.clock.now()).await {
                tracing::warn!(job, error = %e, "could not release the lease");
            }
            return QuarterRun::Failed { error };
        }
    };
    tracing::info!(product = product.as_str(), model = %o.id, auc = o.oot_auc, "quarterly candidate registered");
    let mut promoted = false;
    if state.settings.auto_promote && o.gate_failures.is_empty() {
        match state
            .registry()
            .promote(&o.id, "schedule", false, None, Some(product))
            .await
        {
            Ok(_) => promoted = true,
            Err(e) => tracing::warn!(model = %o.id, error = %e, "auto-promotion refused"),
        }
    }
    if let Err(e) = state
        .db
        .finish_run(job, holder, state.clock.now(), &o.id)
        .await
    {
        tracing::warn!(job, error = %e, "could not mark the quarterly run finished");
    }
    QuarterRun::Retrained {
        model_id: o.id,
        promoted,
    }
}
