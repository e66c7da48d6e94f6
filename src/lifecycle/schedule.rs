//! Background lifecycle jobs of `serve`: picking up promotions made by other replicas (hot
//! reload), and retraining every product on the first day of each quarter.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

pub use crate::clock::{Clock, SystemClock};
use crate::domain::Product;
use crate::http::AppState;

/// Decides when the quarterly retraining is due: once per quarter, on its first day from
/// `hour` (UTC) on — or later that quarter if the service was down on the day.
#[derive(Debug, Default)]
pub struct QuarterlySchedule {
    pub hour: u32,
    last_run: Option<NaiveDate>,
}

pub fn quarter_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month0() / 3 * 3 + 1, 1).expect("valid date")
}

impl QuarterlySchedule {
    pub fn new(hour: u32) -> Self {
        QuarterlySchedule {
            hour,
            last_run: None,
        }
    }

    /// Starts counting from `now`: a quarter already begun is not run at start-up.
    pub fn starting_at(hour: u32, now: DateTime<Utc>) -> Self {
        QuarterlySchedule {
            hour,
            last_run: Some(quarter_start(now.date_naive())),
        }
    }

    /// True once for each quarter, at the first check on or after its first day at `hour`.
    pub fn due(&mut self, now: DateTime<Utc>) -> bool {
        let q = quarter_start(now.date_naive());
        let reached = now.date_naive() > q || now.hour() >= self.hour;
        if reached && self.last_run != Some(q) {
            self.last_run = Some(q);
            return true;
        }
        false
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_schedule_fires_once_on_the_first_day_of_each_quarter_from_its_hour() {
        let mut s = QuarterlySchedule::starting_at(3, at("2026-11-28T10:00:00Z"));
        assert!(
            !s.due(at("2026-11-28T10:01:00Z")),
            "the quarter under way at start-up is not rerun"
        );
        assert!(!s.due(at("2026-12-31T23:59:00Z")));
        assert!(!s.due(at("2027-01-01T02:59:00Z")), "not before the hour");
        assert!(s.due(at("2027-01-01T03:00:00Z")));
        assert!(!s.due(at("2027-01-01T03:01:00Z")), "once per quarter");
        assert!(!s.due(at("2027-03-31T12:00:00Z")));
        assert!(s.due(at("2027-04-01T03:00:00Z")));
    }

    #[test]
    fn a_quarter_missed_on_its_first_day_runs_at_the_next_check() {
        let mut s = QuarterlySchedule::starting_at(3, at("2026-12-15T00:00:00Z"));
        assert!(
            s.due(at("2027-01-04T00:30:00Z")),
            "down on Jan 1st: run when back"
        );
        assert!(!s.due(at("2027-01-05T00:30:00Z")));
    }
}
