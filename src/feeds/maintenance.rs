//! Retention (domain.md §6): negative information is kept 5 years from the end of the event,
//! then deleted. The clock is a parameter so the rule is tested with dates we control.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use crate::audit::{Actor, AuditEvent, AuditWriter, EventKind, Outcome};
use crate::storage::{loans, public_records, tax, Db, StoreError};

/// How long negative facts are kept after their event ends (the rule is `domain::retention`).
pub const RETENTION_MONTHS: u32 = crate::domain::retention::NEGATIVE_INFO_MONTHS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purged {
    /// Events that ended before this date were deleted (or, in a dry run, would be).
    pub cutoff: NaiveDate,
    /// True when nothing was deleted: the counts are what an applied purge would delete now.
    pub dry_run: bool,
    pub public_records: u64,
    pub loan_defaults: u64,
    /// D grades, with the earlier versions of the same year that they had superseded.
    pub tax_grades: u64,
    /// Months filed or paid late, settled since.
    pub late_tax_months: u64,
}

/// Deletes, in one transaction, every kind of negative fact whose event ended more than 5 years
/// before `today`:
/// - dishonest-debtor listings and penalties (red lists are positive) whose display window
///   ended or that were repaired, whichever came first;
/// - loans whose default happened;
/// - D tax grades, whose event ends when a later grade of the enterprise takes effect or a
///   year after the D took effect, whichever comes first (`tax::delete_d_grades_ended_before`);
/// - months of tax filed or paid after their deadline, whose event ends when the tax is paid in
///   full (`tax::delete_late_months_ended_before`); open arrears never end.
pub async fn purge_expired(db: &Db, today: NaiveDate) -> Result<Purged, StoreError> {
    purge_in(db, today, false).await
}

/// What `purge_expired` would delete as of `today`, deleting nothing: the same statements run
/// in a transaction that is rolled back, so the preview cannot disagree with the purge.
pub async fn preview_expired(db: &Db, today: NaiveDate) -> Result<Purged, StoreError> {
    purge_in(db, today, true).await
}

async fn purge_in(db: &Db, today: NaiveDate, dry_run: bool) -> Result<Purged, StoreError> {
    let cutoff = crate::domain::retention::purge_cutoff(today);
    let mut tx = db.begin().await?;
    let public_records =
        public_records::delete_negative_records_ended_before(&mut tx, cutoff).await?;
    let loan_defaults = loans::delete_defaults_before(&mut tx, cutoff).await?;
    let tax_grades = tax::delete_d_grades_ended_before(&mut tx, cutoff).await?;
    let late_tax_months = tax::delete_late_months_ended_before(&mut tx, cutoff).await?;
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
        tracing::info!(%cutoff, public_records, loan_defaults, tax_grades, late_tax_months, "purged expired negative information");
    }
    Ok(Purged {
        cutoff,
        dry_run,
        public_records,
        loan_defaults,
        tax_grades,
        late_tax_months,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    /// A date ahead of the clock would delete facts still inside their retention period.
    #[error("--today {given} is after today ({today}): a purge may only be measured from a date that has come")]
    FutureDate { given: NaiveDate, today: NaiveDate },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the purge ran but its audit record failed: {0}")]
    Audit(String),
}

/// The operator's purge: as of `today` (default: the clock's day, and never after it), applied
/// or as a dry run, and in either case recorded in the audit trail with its counts. The record
/// follows the purge's own commit: on SQLite the audit writer needs the write lock the purge
/// holds.
pub async fn purge(
    db: &Db,
    audit: &AuditWriter,
    now: DateTime<Utc>,
    today: Option<NaiveDate>,
    dry_run: bool,
) -> Result<Purged, PurgeError> {
    let clock_today = now.date_naive();
    let today = match today {
        Some(given) if given > clock_today => {
            return Err(PurgeError::FutureDate {
                given,
                today: clock_today,
            })
        }
        Some(given) => given,
        None => clock_today,
    };
    let purged = purge_in(db, today, dry_run).await?;
    let outcome = if dry_run {
        Outcome::DryRun
    } else {
        Outcome::Applied
    };
    let event = AuditEvent::new(EventKind::Purge, Actor::operator(), now)
        .outcome(outcome)
        .with(
            "detail",
            json!({
                "as_of": today, "cutoff": purged.cutoff, "dry_run": dry_run,
                "public_records": purged.public_records, "loan_defaults": purged.loan_defaults,
                "tax_grades": purged.tax_grades, "late_tax_months": purged.late_tax_months,
            }),
        );
    audit
        .record(event)
        .await
        .map_err(|e| PurgeError::Audit(e.to_string()))?;
    Ok(purged)
}
