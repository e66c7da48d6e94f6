//! The synthetic city generator (issue 4): Zhanjiang enterprises with tax histories and grades,
//! farmer households with assessments, public records and loans whose true default probability
//! comes from a hidden latent-risk model. It writes the feed files of docs/feeds.md plus
//! `truth.csv`, deterministically from a seed. It shares no code with the `training` crate, so
//! models are judged against a truth they had no hand in.

mod calendar;
mod city;
mod enterprise_life;
mod enterprises;
mod farm_life;
mod grading;
mod households;
mod inject;
mod loans;
mod parallel;
mod public_records;
mod rng;
mod rows;
mod stats;
mod tables;
mod tax;

pub use calendar::Month;
pub use city::{generate, Summary};
pub use stats::{BadRate, ProductStats, Shares};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    pub enterprises: u64,
    pub households: u64,
    pub seed: u64,
    /// First month of tax payments written.
    pub start: Month,
    /// Last month simulated; loans whose 12 months end after it have no outcome yet.
    pub end: Month,
    /// Share of rows deliberately broken (0 = none).
    pub inject_errors: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enterprises: 2_000,
            households: 2_000,
            seed: 42,
            start: Month::new(2022, 1),
            end: Month::new(2025, 12),
            inject_errors: 0.0,
        }
    }
}

/// The simulated time line derived from a config.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// A warm-up year before `start` so the first written year already has last year's grades.
    pub sim_start: Month,
    pub start: Month,
    /// Loans start a year after `start`, when every borrower has a year of written history.
    pub loan_start: Month,
    pub end: Month,
}

impl Config {
    pub fn window(&self) -> Window {
        Window {
            sim_start: self.start.plus(-12),
            start: self.start,
            loan_start: self.start.plus(12),
            end: self.end,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.end < self.start {
            return Err(format!(
                "--end {}-{:02} is before --start {}-{:02}",
                self.end.year, self.end.month, self.start.year, self.start.month
            ));
        }
        if self.start.year < 2015 || self.end.year > 2099 {
            return Err(
                "the window must lie between 2015-01 and 2099-12 (feeds accept years 2014–2100)"
                    .into(),
            );
        }
        if !(0.0..=1.0).contains(&self.inject_errors) {
            return Err(format!(
                "--inject-errors {} must be between 0 and 1",
                self.inject_errors
            ));
        }
        Ok(())
    }
}

/// The default months of a city generated on `today`: the 48 months up to last month, so its
/// scores today see a full year of tax history and a retrain today finds matured loans.
pub fn months_up_to_last_month(today: chrono::NaiveDate) -> (Month, Month) {
    let end = Month::of(today).plus(-1);
    (end.plus(-47), end)
}

#[cfg(test)]
mod default_months_tests {
    use super::*;

    #[test]
    fn the_default_months_end_last_month_whatever_the_date() {
        for (today, start, end) in [
            ("2026-12-02", "2022-12", "2026-11"),
            ("2027-01-01", "2023-01", "2026-12"),
            ("2030-03-31", "2026-03", "2030-02"),
        ] {
            let (s, e) = months_up_to_last_month(today.parse().unwrap());
            assert_eq!(
                (s, e),
                (Month::parse(start).unwrap(), Month::parse(end).unwrap())
            );
        }
    }
}
