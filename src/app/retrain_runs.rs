//! A retraining a person asked for (from the console): it runs in the background, so the page
//! that asked answers at once, under the same lease rules as the quarterly job — one retraining
//! per product at a time across replicas (`retrain-lock:PRODUCT`, held for at most
//! `RETRAIN_LEASE`, given up when the run ends) — and its state is kept in `scheduled_runs`
//! (`retrain-run:ID:PRODUCT:AS_OF`), so any replica's page can tell running, finished (with the
//! new candidate) or failed (with why). A run whose process died stays unfinished until its
//! lease has run out, and then reads as abandoned.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::jobs::RETRAIN_LEASE;
use super::AppState;
use crate::audit::Actor;
use crate::domain::Product;
use crate::storage::scheduled_runs::ScheduledRun;
use crate::storage::StoreError;

const LOCK: &str = "retrain-lock:";
const RUN: &str = "retrain-run:";

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunState {
    Running,
    /// A candidate was registered (whether or not it passes the gates).
    Finished {
        model_id: String,
        oot_auc: f64,
        /// DeLong 95 % interval of the out-of-time AUC.
        oot_auc_ci: (f64, f64),
        gate_verdict: crate::lifecycle::gates::Verdict,
        gate_failures: Vec<String>,
    },
    Failed {
        error: String,
    },
    /// Never finished, and its lease ran out: the process running it stopped.
    Abandoned,
}

/// One retraining asked for by a person.
#[derive(Debug, Clone, Serialize)]
pub struct RetrainRun {
    pub id: String,
    pub product: Product,
    pub as_of: NaiveDate,
    /// Who asked, as the ledger names them (`console:NAME`).
    pub requested_by: String,
    pub started_at: DateTime<Utc>,
    pub state: RunState,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("a retraining of {0} is already running; wait for it to finish")]
    Busy(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn lock_job(product: Product) -> String {
    format!("{LOCK}{}", product.as_str())
}

impl RetrainRun {
    fn from_row(row: &ScheduledRun, now: DateTime<Utc>) -> Option<RetrainRun> {
        let mut parts = row.job.strip_prefix(RUN)?.splitn(3, ':');
        let id = parts.next()?.to_owned();
        let product: Product = parts.next()?.parse().ok()?;
        let as_of: NaiveDate = parts.next()?.parse().ok()?;
        let started_at = id.parse::<ulid::Ulid>().ok()?.datetime().into();
        let state = match (&row.finished_at, &row.outcome) {
            (Some(_), Some(o)) => serde_json::from_str(o).unwrap_or_else(|e| RunState::Failed {
                error: format!("unreadable outcome: {e}"),
            }),
            _ if row.lease_until <= now => RunState::Abandoned,
            _ => RunState::Running,
        };
        Some(RetrainRun {
            id,
            product,
            as_of,
            requested_by: row.holder.clone(),
            started_at,
            state,
        })
    }
}

/// Every run asked for, newest first.
pub async fn list(state: &AppState) -> Result<Vec<RetrainRun>, StoreError> {
    let now = state.clock.now();
    let mut runs: Vec<RetrainRun> = state
        .db
        .scheduled_runs()
        .await?
        .iter()
        .filter_map(|r| RetrainRun::from_row(r, now))
        .collect();
    runs.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(runs)
}

/// The run `id`, if there is one.
pub async fn get(state: &AppState, id: &str) -> Result<Option<RetrainRun>, StoreError> {
    Ok(list(state).await?.into_iter().find(|r| r.id == id))
}

/// Takes `product`'s lease and records a running run for `by`; returns it with the work, which
/// the caller spawns (and may follow with its own record of the end). Refused (`Busy`) while
/// another retraining of the product runs anywhere.
pub async fn start(
    state: &AppState,
    product: Product,
    as_of: NaiveDate,
    by: &str,
) -> Result<(RetrainRun, impl Future<Output = RunState> + Send + 'static), RunError> {
    let now = state.clock.now();
    let id = ulid::Ulid::from_datetime(now.into()).to_string();
    let lock = lock_job(product);
    if !state
        .db
        .take_lease(&lock, &id, now, now + RETRAIN_LEASE)
        .await?
    {
        return Err(RunError::Busy(product.as_str()));
    }
    let job = format!("{RUN}{id}:{}:{as_of}", product.as_str());
    if let Err(e) = state
        .db
        .take_lease(&job, by, now, now + RETRAIN_LEASE)
        .await
    {
        let _ = state.db.release_lease(&lock, &id, now).await;
        return Err(e.into());
    }
    let run = RetrainRun {
        id: id.clone(),
        product,
        as_of,
        requested_by: by.to_owned(),
        started_at: now,
        state: RunState::Running,
    };
    let (state, by) = (state.clone(), by.to_owned());
    let work = async move {
        let result = state
            .retrain_as(product, as_of, Actor::Named { name: by.clone() })
            .await;
        let outcome = match result {
            Ok(o) => RunState::Finished {
                model_id: o.id,
                oot_auc: o.oot_auc,
                oot_auc_ci: o.oot_auc_ci,
                gate_verdict: o.gate_verdict,
                gate_failures: o.gate_failures,
            },
            Err(e) => {
                let error = format!("{e:#}");
                tracing::warn!(
                    product = product.as_str(),
                    error,
                    "a requested retraining failed"
                );
                RunState::Failed { error }
            }
        };
        let end = state.clock.now();
        let text = serde_json::to_string(&outcome).expect("a run state serialises");
        if let Err(e) = state.db.finish_run(&job, &by, end, &text).await {
            tracing::error!(job, error = %e, "could not record a retraining's outcome");
        }
        if let Err(e) = state.db.release_lease(&lock, &id, end).await {
            tracing::warn!(job = lock, error = %e, "could not release the retraining lease");
        }
        outcome
    };
    Ok((run, work))
}
