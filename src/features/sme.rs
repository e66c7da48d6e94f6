//! Small-business characteristics from the tax bureau's and public credit platform's facts.

use std::collections::BTreeSet;

use chrono::{Datelike, Months, NaiveDate};
use serde_json::json;
use training::Value;

use super::{
    category, deadline_of, month_index, number, period_index, years_between, FeatureVector,
};
use crate::domain::{Flag, RecordKind, TaxGrade, TaxType};
pub use crate::storage::facts::{EnterpriseFact, GradeFact, PaymentFact, RecordFact, SmeFacts};

/// Whether a public record bears on its subject: one rule for serving and training.
impl RecordFact {
    /// Known at `at` and still counting: inside its display window and not repaired.
    pub fn counts_at(&self, at: NaiveDate) -> bool {
        self.listed_at <= at && at <= self.display_until && self.repaired_at.is_none_or(|r| r > at)
    }
}

/// Grade rank for trends: a higher rank is a better grade. M (new entity) sits between B and C.
fn grade_rank(g: TaxGrade) -> i32 {
    match g {
        TaxGrade::A => 4,
        TaxGrade::B => 3,
        TaxGrade::M => 2,
        TaxGrade::C => 1,
        TaxGrade::D => 0,
    }
}

/// The grade in force at `at`: the latest effective one, the latest recorded among equals (a
/// correction supersedes what it corrects).
pub fn grade_at(grades: &[GradeFact], at: NaiveDate) -> Option<&GradeFact> {
    grades
        .iter()
        .filter(|g| g.effective_from <= at)
        .max_by_key(|g| (g.effective_from, g.year, g.id))
}

/// An enterprise's characteristics at `at`, in catalogue order: its grade and trend, what its
/// tax payments of the last two years say, its registration, its records; then the flags.
pub fn characteristics(f: &SmeFacts, at: NaiveDate) -> FeatureVector {
    let grade = grade_at(&f.grades, at);
    let trend = grade_trend(&f.grades, at);
    let tax = TaxHistory::of(&f.payments, at);
    let (industry, region, years) = match &f.enterprise {
        Some(e) => (
            category(&e.industry),
            category(&e.region_code),
            number(years_between(e.founded_on, at)),
        ),
        None => (Value::Missing, Value::Missing, Value::Missing),
    };
    let values = vec![
        (
            "tax_grade",
            grade.map_or(Value::Missing, |g| category(g.grade.as_str())),
        ),
        ("tax_grade_trend", category(trend)),
        (
            "late_filing_months_24m",
            number(tax.late_filing.len() as f64),
        ),
        (
            "late_payment_months_24m",
            number(tax.late_payment.len() as f64),
        ),
        ("arrears_months_24m", number(tax.arrears.len() as f64)),
        ("zero_filing_months_12m", number(tax.zero_filing as f64)),
        ("tax_paid_12m", number(tax.paid[0])),
        ("tax_paid_24m", number(tax.paid[0] + tax.paid[1])),
        ("tax_paid_growth", number(tax.growth())),
        ("revenue_12m", number(tax.revenue_12m)),
        ("years_in_business", years),
        ("industry", industry),
        ("region", region),
        ("penalties_3y", number(penalties_3y(&f.records, at) as f64)),
    ];
    let through = tax
        .last_period
        .map(|i| format!("{:04}-{:02}", i.div_euclid(12), i.rem_euclid(12) + 1));
    let data_as_of = json!({
        "tax_grade_year": grade.map(|g| g.year),
        "tax_payments_through": through,
        "as_of": at,
        "year": at.year(),
    });
    FeatureVector {
        values,
        flags: flags(f, grade, at),
        data_as_of,
    }
}

/// How the grade in force moved against the one of a year before: `none` (no grade), `new`
/// (none a year before), `up`, `same` or `down`.
fn grade_trend(grades: &[GradeFact], at: NaiveDate) -> &'static str {
    let year_ago = at.checked_sub_months(Months::new(12)).unwrap_or(at);
    match (grade_at(grades, at), grade_at(grades, year_ago)) {
        (None, _) => "none",
        (Some(_), None) => "new",
        (Some(g), Some(e)) => match grade_rank(g.grade).cmp(&grade_rank(e.grade)) {
            std::cmp::Ordering::Greater => "up",
            std::cmp::Ordering::Equal => "same",
            std::cmp::Ordering::Less => "down",
        },
    }
}

/// What the monthly filings of the 24 months before a date say, counting only filings made by
/// then (later ones were not known).
#[derive(Default)]
struct TaxHistory {
    /// Yuan paid: [last 12 months, the 12 before].
    paid: [f64; 2],
    revenue_12m: f64,
    late_filing: BTreeSet<i32>,
    late_payment: BTreeSet<i32>,
    arrears: BTreeSet<i32>,
    zero_filing: u32,
    last_period: Option<i32>,
}

impl TaxHistory {
    fn of(payments: &[PaymentFact], at: NaiveDate) -> TaxHistory {
        let now_idx = month_index(at);
        let mut h = TaxHistory::default();
        for p in payments.iter().filter(|p| p.filed_on <= at) {
            let Some(idx) = period_index(&p.period) else {
                continue;
            };
            let age = now_idx - idx; // 1 = last month
            if (1..=24).contains(&age) {
                h.add(p, idx, age, at);
            }
        }
        h
    }

    /// One filing of period `idx`, `age` months before `at`.
    fn add(&mut self, p: &PaymentFact, idx: i32, age: i32, at: NaiveDate) {
        self.last_period = self.last_period.max(Some(idx));
        let deadline = deadline_of(idx);
        self.paid[usize::from(age > 12)] += p.tax_paid as f64 / 100.0;
        if p.filed_on > deadline {
            self.late_filing.insert(idx);
        }
        let paid_late = match p.paid_on {
            Some(d) if d <= at => d > deadline,
            // Nothing paid (or paid after `at`, so unknown then) while tax was due.
            _ => p.tax_due > 0 && at > deadline,
        };
        if paid_late {
            self.late_payment.insert(idx);
        }
        if p.tax_due > p.tax_paid {
            self.arrears.insert(idx);
        }
        if age <= 12 {
            self.revenue_12m += p.revenue as f64 / 100.0;
            if p.tax_type == TaxType::Vat && p.revenue == 0 {
                self.zero_filing += 1;
            }
        }
    }

    /// Tax paid in the last 12 months against the 12 before; NaN (missing) without a prior year.
    fn growth(&self) -> f64 {
        if self.paid[1] > 0.0 {
            self.paid[0] / self.paid[1] - 1.0
        } else {
            f64::NAN
        }
    }
}

/// Administrative penalties listed in the last three years that still count at `at`.
fn penalties_3y(records: &[RecordFact], at: NaiveDate) -> usize {
    let three_years_ago = at.checked_sub_months(Months::new(36)).unwrap_or(at);
    records
        .iter()
        .filter(|r| {
            r.kind == RecordKind::AdminPenalty && r.listed_at > three_years_ago && r.counts_at(at)
        })
        .count()
}

/// The knock-outs (an active dishonest listing, grade D) and whether the enterprise is known.
fn flags(f: &SmeFacts, grade: Option<&GradeFact>, at: NaiveDate) -> Vec<Flag> {
    let mut flags = Vec::new();
    if f.records
        .iter()
        .any(|r| r.kind == RecordKind::DishonestDebtor && r.counts_at(at))
    {
        flags.push(Flag::DishonestDebtorActive);
    }
    if grade.is_some_and(|g| g.grade == TaxGrade::D) {
        flags.push(Flag::TaxGradeD);
    }
    if f.enterprise.is_none() {
        flags.push(Flag::UnknownEnterprise);
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn payment(
        period: &str,
        filed: &str,
        paid: Option<&str>,
        due: i64,
        paid_amt: i64,
    ) -> PaymentFact {
        PaymentFact {
            period: period.into(),
            tax_type: TaxType::Vat,
            revenue: 100_000,
            tax_due: due,
            tax_paid: paid_amt,
            filed_on: d(filed),
            paid_on: paid.map(d),
        }
    }

    fn grade(id: i64, year: i64, g: TaxGrade, from: &str) -> GradeFact {
        GradeFact {
            id,
            year,
            grade: g,
            effective_from: d(from),
        }
    }

    #[test]
    fn a_mid_year_direct_d_overrides_the_april_grade_from_its_date_on() {
        let grades = vec![
            grade(1, 2024, TaxGrade::B, "2025-04-20"),
            grade(2, 2024, TaxGrade::D, "2025-08-01"),
        ];
        assert_eq!(
            grade_at(&grades, d("2025-07-31")).unwrap().grade,
            TaxGrade::B
        );
        assert_eq!(
            grade_at(&grades, d("2025-08-01")).unwrap().grade,
            TaxGrade::D
        );
        assert_eq!(grade_at(&grades, d("2025-04-19")).map(|g| g.grade), None);
    }

    #[test]
    fn a_correction_with_the_same_effective_date_supersedes_the_earlier_row() {
        let grades = vec![
            grade(1, 2024, TaxGrade::C, "2025-04-20"),
            grade(7, 2024, TaxGrade::B, "2025-04-20"),
        ];
        assert_eq!(
            grade_at(&grades, d("2025-06-01")).unwrap().grade,
            TaxGrade::B
        );
    }

    #[test]
    fn facts_filed_after_the_date_do_not_count() {
        let facts = SmeFacts {
            payments: vec![
                payment("2025-01", "2025-02-10", Some("2025-02-10"), 1000, 1000),
                // Filed late, but only after the scoring date: unknown then.
                payment("2025-02", "2025-06-20", Some("2025-06-20"), 1000, 1000),
            ],
            ..Default::default()
        };
        let at_may = characteristics(&facts, d("2025-05-01"));
        assert_eq!(
            at_may.get("late_filing_months_24m"),
            Some(Value::Number(0.0))
        );
        assert_eq!(at_may.get("tax_paid_12m"), Some(Value::Number(10.0)));
        let at_july = characteristics(&facts, d("2025-07-01"));
        assert_eq!(
            at_july.get("late_filing_months_24m"),
            Some(Value::Number(1.0))
        );
        assert_eq!(at_july.get("tax_paid_12m"), Some(Value::Number(20.0)));
    }

    #[test]
    fn unpaid_tax_past_its_deadline_is_a_late_payment_and_arrears() {
        let facts = SmeFacts {
            payments: vec![payment("2025-01", "2025-02-10", None, 5000, 0)],
            ..Default::default()
        };
        let v = characteristics(&facts, d("2025-03-01"));
        assert_eq!(v.get("late_payment_months_24m"), Some(Value::Number(1.0)));
        assert_eq!(v.get("arrears_months_24m"), Some(Value::Number(1.0)));
    }

    #[test]
    fn a_repaired_or_expired_dishonest_listing_is_no_longer_a_knock_out() {
        let rec = |repaired: Option<&str>| RecordFact {
            kind: RecordKind::DishonestDebtor,
            listed_at: d("2024-01-01"),
            display_until: d("2026-01-01"),
            repaired_at: repaired.map(d),
        };
        let active = SmeFacts {
            records: vec![rec(None)],
            ..Default::default()
        };
        assert!(characteristics(&active, d("2025-01-01"))
            .flags
            .contains(&Flag::DishonestDebtorActive));
        assert!(!characteristics(&active, d("2026-01-02"))
            .flags
            .contains(&Flag::DishonestDebtorActive));
        let repaired = SmeFacts {
            records: vec![rec(Some("2024-06-01"))],
            ..Default::default()
        };
        assert!(!characteristics(&repaired, d("2025-01-01"))
            .flags
            .contains(&Flag::DishonestDebtorActive));
        assert!(characteristics(&repaired, d("2024-05-01"))
            .flags
            .contains(&Flag::DishonestDebtorActive));
    }

    #[test]
    fn growth_is_missing_without_a_prior_year_of_payments() {
        let facts = SmeFacts {
            payments: vec![payment(
                "2025-01",
                "2025-02-10",
                Some("2025-02-10"),
                1000,
                1000,
            )],
            ..Default::default()
        };
        assert_eq!(
            characteristics(&facts, d("2025-05-01")).get("tax_paid_growth"),
            Some(Value::Missing)
        );
    }
}
