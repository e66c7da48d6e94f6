//! When the quarterly retraining is due. The jobs that act on it run over the application's
//! state, in `app::jobs`.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

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
