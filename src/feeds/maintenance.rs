//! Retention (domain.md §6): negative information is kept 5 years from the end of the event,
//! then deleted. The clock is a parameter so the rule is tested with dates we control.

use chrono::{Months, NaiveDate};
use serde::Serialize;

use crate::storage::{loans, public_records, tax, Db, StoreError};

/// How long negative facts are kept after their event ends.
pub const RETENTION_MONTHS: u32 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purged {
    /// Events that ended before this date were deleted.
    pub cutoff: NaiveDate,
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
    let cutoff = today
        .checked_sub_months(Months::new(RETENTION_MONTHS))
        .unwrap_or(NaiveDate::MIN);
    let mut tx = db.begin().await?;
    let public_records =
        public_records::delete_negative_records_ended_before(&mut tx, cutoff).await?;
    let loan_defaults = loans::delete_defaults_before(&mut tx, cutoff).await?;
    let tax_grades = tax::delete_d_grades_ended_before(&mut tx, cutoff).await?;
    let late_tax_months = tax::delete_late_months_ended_before(&mut tx, cutoff).await?;
    tx.commit().await?;
    tracing::info!(%cutoff, public_records, loan_defaults, tax_grades, late_tax_months, "purged expired negative information");
    Ok(Purged {
        cutoff,
        public_records,
        loan_defaults,
        tax_grades,
        late_tax_months,
    })
}
