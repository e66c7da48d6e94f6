//! Months and dates for the simulation, and their fast text forms (the generator writes tens of
//! millions of dates, so it formats digits itself instead of going through `chrono::format`).

use chrono::{Datelike, Days, NaiveDate};

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Month {
        assert!((1..=12).contains(&month), "month {month}");
        Month { year, month }
    }

    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("'{s}' is not a month in the form YYYY-MM");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Months since year 0, so that differences and additions are plain integer arithmetic.
    pub fn index(self) -> i32 {
        self.year * 12 + self.month as i32 - 1
    }

    pub fn from_index(i: i32) -> Month {
        Month {
            year: i.div_euclid(12),
            month: i.rem_euclid(12) as u32 + 1,
        }
    }

    pub fn plus(self, months: i32) -> Month {
        Month::from_index(self.index() + months)
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month")
    }

    pub fn last_day(self) -> NaiveDate {
        self.plus(1)
            .first_day()
            .pred_opt()
            .expect("not the first day ever")
    }

    pub fn days(self) -> u32 {
        self.last_day().day()
    }

    /// Day `d` (1-based, clamped to the month's length).
    pub fn day(self, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, d.clamp(1, self.days())).expect("clamped")
    }

    /// The filing and payment deadline for this period: the 15th of the next month (feeds.md).
    pub fn deadline(self) -> NaiveDate {
        self.plus(1).day(15)
    }
}

pub fn add_days(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(Days::new(days as u64))
        .expect("date in range")
}

pub fn years_between(from: NaiveDate, to: NaiveDate) -> f64 {
    (to - from).num_days() as f64 / 365.25
}

/// Appends `YYYY-MM-DD`.
pub fn push_date(buf: &mut Vec<u8>, d: NaiveDate) {
    push_padded(buf, d.year() as u32, 4);
    buf.push(b'-');
    push_padded(buf, d.month(), 2);
    buf.push(b'-');
    push_padded(buf, d.day(), 2);
}

/// Appends `YYYY-MM`.
pub fn push_month(buf: &mut Vec<u8>, m: Month) {
    push_padded(buf, m.year as u32, 4);
    buf.push(b'-');
    push_padded(buf, m.month, 2);
}

fn push_padded(buf: &mut Vec<u8>, mut v: u32, width: usize) {
    let start = buf.len();
    for _ in 0..width {
        buf.push(b'0' + (v % 10) as u8);
        v /= 10;
    }
    buf[start..].reverse();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_is_the_fifteenth_of_the_next_month() {
        assert_eq!(
            Month::new(2023, 12).deadline(),
            NaiveDate::from_ymd_opt(2024, 1, 15).unwrap()
        );
    }

    #[test]
    fn month_arithmetic_crosses_year_ends() {
        assert_eq!(Month::new(2023, 11).plus(3), Month::new(2024, 2));
        assert_eq!(Month::new(2024, 2).plus(-14), Month::new(2022, 12));
        assert_eq!(Month::new(2024, 2).last_day().day(), 29);
    }

    #[test]
    fn dates_are_written_zero_padded() {
        let mut buf = Vec::new();
        push_date(&mut buf, NaiveDate::from_ymd_opt(2024, 3, 5).unwrap());
        buf.push(b' ');
        push_month(&mut buf, Month::new(2024, 11));
        assert_eq!(String::from_utf8(buf).unwrap(), "2024-03-05 2024-11");
    }

    #[test]
    fn a_month_must_be_yyyy_mm() {
        assert!(Month::parse("2024-13").is_err());
        assert!(Month::parse("2024-1").is_err());
        assert_eq!(Month::parse("2024-01").unwrap(), Month::new(2024, 1));
    }
}
