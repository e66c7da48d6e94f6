//! How long negative information is held (domain.md §6): five years from the end of its event,
//! then deleted by the retention purge. One rule, read by the purge (what to delete) and by the
//! model samples (which loans can still be seen with both outcomes).

use chrono::{Months, NaiveDate};

/// Negative facts are kept this many months after their event ends.
pub const NEGATIVE_INFO_MONTHS: u32 = 60;

/// The purge run on `day` deletes negative facts whose event ended before this date.
pub fn purge_cutoff(day: NaiveDate) -> NaiveDate {
    day.checked_sub_months(Months::new(NEGATIVE_INFO_MONTHS))
        .unwrap_or(NaiveDate::MIN)
}

/// The first disbursement day whose loans are certainly held with both outcomes on `today`: a
/// purge may have run on any day up to `today` (never later: a purge cannot be dated ahead of
/// the clock), and a default happens after its disbursement, so no default of a loan disbursed
/// on or after this day can have been deleted yet. Older vintages may have lost their bads
/// while keeping their goods.
pub fn complete_vintages_from(today: NaiveDate) -> NaiveDate {
    purge_cutoff(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vintages_are_complete_from_five_years_before_today() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(complete_vintages_from(d("2031-06-01")), d("2026-06-01"));
        assert_eq!(purge_cutoff(d("2026-11-28")), d("2021-11-28"));
    }
}
