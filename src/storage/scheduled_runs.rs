//! Leases on scheduled jobs, so that one replica runs each (see migration 0009): a lease row
//! per job with its holder and expiry, taken in one statement (no check-then-insert).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, StoreError};
use crate::with_db;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ScheduledRun {
    pub job: String,
    pub holder: String,
    pub lease_until: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

impl Db {
    /// Takes the lease on `job` for `holder` until `until`, if nobody holds it: no row yet, or a
    /// row whose job is unfinished and whose lease ran out before `now`. True when taken.
    pub async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let taken = with_db!(self, p => sqlx::query(
            "INSERT INTO scheduled_runs (job, holder, lease_until) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until \
             WHERE scheduled_runs.finished_at IS NULL AND scheduled_runs.lease_until < $4")
            .bind(job).bind(holder).bind(until).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(taken == 1)
    }

    /// Marks `job` done by `holder` (who must still hold it) with its outcome: never run again.
    pub async fn finish_run(
        &self,
        job: &str,
        holder: &str,
        at: DateTime<Utc>,
        outcome: &str,
    ) -> Result<bool, StoreError> {
        let n = with_db!(self, p => sqlx::query(
            "UPDATE scheduled_runs SET finished_at = $3, outcome = $4 \
             WHERE job = $1 AND holder = $2 AND finished_at IS NULL")
            .bind(job).bind(holder).bind(at).bind(outcome)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Gives up `holder`'s lease on unfinished `job` at once (the run failed), so a later check
    /// of any replica may try again.
    pub async fn release_lease(
        &self,
        job: &str,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "UPDATE scheduled_runs SET lease_until = $3 WHERE job = $1 AND holder = $2 AND finished_at IS NULL")
            .bind(job).bind(holder).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Every scheduled run on record, by job.
    pub async fn scheduled_runs(&self) -> Result<Vec<ScheduledRun>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT job, holder, lease_until, finished_at, outcome FROM scheduled_runs ORDER BY job")
            .fetch_all(p).await)?)
    }
}
