//! Public credit records (domain.md §4): dishonest judgment debtors listed for 2 years (sometimes
//! extended), administrative penalties shown 3 months to 3 years, red lists for A taxpayers; some
//! repaired early.

use chrono::{Months, NaiveDate};
use rand::Rng;

use super::calendar::{add_days, push_date};
use super::inject;
use super::rng::chance;
use super::tables::{push_text, Out};
use crate::domain::FeedKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    DishonestDebtor,
    AdminPenalty,
    RedList,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub kind: Kind,
    pub serious: bool,
    pub listed_at: NaiveDate,
    pub display_until: NaiveDate,
    pub repaired_at: Option<NaiveDate>,
}

impl Record {
    /// A record counts from its listing until its window ends or it is repaired.
    pub fn is_active(&self, on: NaiveDate) -> bool {
        let end = self
            .repaired_at
            .map_or(self.display_until, |r| r.min(self.display_until));
        self.listed_at <= on && on < end
    }
}

fn months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).expect("date in range")
}

/// Listed for 2 years, extended by 1–3 years for a fifth; 40% perform the obligation and are
/// removed early.
pub fn dishonest_debtor(rng: &mut impl Rng, listed_at: NaiveDate) -> Record {
    let extension = if chance(rng, 0.2) {
        12 * rng.gen_range(1..=3)
    } else {
        0
    };
    let display_until = months(listed_at, 24 + extension);
    let span = (display_until - listed_at).num_days() as u32;
    let repaired_at = chance(rng, 0.4).then(|| add_days(listed_at, rng.gen_range(30..span)));
    Record {
        kind: Kind::DishonestDebtor,
        serious: false,
        listed_at,
        display_until,
        repaired_at,
    }
}

/// Shown 3 months–1 year (serious: 6 months–3 years); 30% apply for repair after the minimum.
pub fn admin_penalty(rng: &mut impl Rng, listed_at: NaiveDate) -> Record {
    let serious = chance(rng, 0.2);
    let (min, max) = if serious { (6, 36) } else { (3, 12) };
    let display_until = months(listed_at, rng.gen_range(min..=max));
    let earliest = months(listed_at, min);
    let repaired_at = (chance(rng, 0.3) && earliest < display_until).then(|| {
        let span = (display_until - earliest).num_days() as u32;
        add_days(earliest, rng.gen_range(0..span))
    });
    Record {
        kind: Kind::AdminPenalty,
        serious,
        listed_at,
        display_until,
        repaired_at,
    }
}

/// A-grade taxpayers are put on the red list when the grade is published, for a year.
pub fn red_list(listed_at: NaiveDate) -> Record {
    Record {
        kind: Kind::RedList,
        serious: false,
        listed_at,
        display_until: months(listed_at, 12),
        repaired_at: None,
    }
}

/// Writes a record; `record_id` must be unique, `subject_id` the clear identifier (the feed
/// hashes personal ids on import).
pub fn write(
    out: &mut Out,
    r: &Record,
    record_id: &str,
    subject_type: &str,
    subject_id: &str,
    broken_id: &str,
) {
    let id_col = if subject_type == "person" {
        inject::HEAD_ID_CHECK.1
    } else {
        inject::USCC.1
    };
    let broken = out.begin(
        FeedKind::PublicRecords,
        &[("subject_id", id_col), ("listed_at", inject::REASON_DATE)],
    );
    let buf = out.buf(FeedKind::PublicRecords);
    push_text(buf, record_id);
    buf.push(b',');
    push_text(buf, subject_type);
    buf.push(b',');
    push_text(
        buf,
        if broken == Some("subject_id") {
            broken_id
        } else {
            subject_id
        },
    );
    buf.push(b',');
    push_text(
        buf,
        match r.kind {
            Kind::DishonestDebtor => "dishonest_debtor",
            Kind::AdminPenalty => "admin_penalty",
            Kind::RedList => "red_list",
        },
    );
    buf.push(b',');
    push_text(buf, if r.serious { "serious" } else { "normal" });
    buf.push(b',');
    if broken == Some("listed_at") {
        push_text(buf, &inject::impossible_date(r.listed_at));
    } else {
        push_date(buf, r.listed_at);
    }
    buf.push(b',');
    push_date(buf, r.display_until);
    buf.push(b',');
    if let Some(d) = r.repaired_at {
        push_date(buf, d);
    }
    buf.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::rng::{stream, Purpose};

    #[test]
    fn windows_follow_the_listing_rules_and_repairs_fall_inside_them() {
        let mut rng = stream(3, Purpose::Villages, 9);
        let d = NaiveDate::from_ymd_opt(2023, 3, 1).unwrap();
        for _ in 0..500 {
            for r in [dishonest_debtor(&mut rng, d), admin_penalty(&mut rng, d)] {
                assert!(r.display_until > r.listed_at);
                assert!(r
                    .repaired_at
                    .is_none_or(|x| x >= r.listed_at && x < r.display_until));
                let max = if r.kind == Kind::DishonestDebtor {
                    60
                } else {
                    36
                };
                assert!(r.display_until <= months(d, max));
            }
        }
    }

    #[test]
    fn a_repaired_record_stops_counting() {
        let d = NaiveDate::from_ymd_opt(2023, 3, 1).unwrap();
        let mut r = red_list(d);
        assert!(r.is_active(months(d, 6)));
        r.repaired_at = Some(months(d, 2));
        assert!(!r.is_active(months(d, 6)));
        assert!(!r.is_active(d.pred_opt().unwrap()));
    }
}
