//! Rural household characteristics from assessors' facts, earlier loans and the village's
//! standing.

use chrono::{Datelike, NaiveDate};
use serde_json::json;
use training::Value;

use super::{category, number, FeatureVector};
use crate::domain::{FarmerGrade, Flag, RecordKind};
pub use crate::storage::facts::{AssessmentFact, FarmerFacts, HouseholdFact, LoanFact, Village};

/// Share of credit households at which a village is a credit village (domain.md §3).
pub const CREDIT_VILLAGE_SHARE: f64 = 0.70;

/// The latest assessment made by `at` (a correction of the same date wins).
pub fn assessment_at(a: &[AssessmentFact], at: NaiveDate) -> Option<&AssessmentFact> {
    a.iter()
        .filter(|x| x.assessed_on <= at)
        .max_by_key(|x| (x.assessed_on, x.year, x.id))
}

/// Share of the village's assessed households that are credit households at `at`; `None` when
/// no household had been assessed yet.
pub fn credit_share(village: &[Vec<(NaiveDate, FarmerGrade)>], at: NaiveDate) -> Option<f64> {
    let latest: Vec<FarmerGrade> = village
        .iter()
        .filter_map(|h| {
            h.iter()
                .filter(|(d, _)| *d <= at)
                .max_by_key(|(d, _)| *d)
                .map(|(_, g)| *g)
        })
        .collect();
    if latest.is_empty() {
        return None;
    }
    let credit = latest.iter().filter(|g| g.is_credit_household()).count();
    Some(credit as f64 / latest.len() as f64)
}

pub fn characteristics(f: &FarmerFacts, at: NaiveDate) -> FeatureVector {
    let a = assessment_at(&f.assessments, at);
    let h = f.household.as_ref();
    let members = h.map(|h| h.members.max(1) as f64);
    let per_head = match (a, members) {
        (Some(a), Some(m)) => number(a.annual_income as f64 / 100.0 / m),
        _ => Value::Missing,
    };
    let labour = match (h, members) {
        (Some(h), Some(m)) => number(h.labourers as f64 / m),
        _ => Value::Missing,
    };
    let leverage = match a {
        Some(a) if a.assets > 0 => number(a.liabilities as f64 / a.assets as f64),
        _ => Value::Missing,
    };
    // Liabilities over a year's net income, from the same assessment: how many years of income
    // the household owes (负债收入比). Assets do not repay loans; income does.
    let debt_to_income = match a {
        Some(a) if a.annual_income > 0 => number(a.liabilities as f64 / a.annual_income as f64),
        _ => Value::Missing,
    };
    let earlier: Vec<&LoanFact> = f.loans.iter().filter(|l| l.disbursed_on < at).collect();
    let defaults = earlier
        .iter()
        .filter(|l| l.defaulted_on.is_some_and(|d| d <= at))
        .count();
    let village = match credit_share(&f.village, at) {
        Some(s) if s >= CREDIT_VILLAGE_SHARE => "yes",
        Some(_) => "no",
        None => "unknown",
    };
    let values = vec![
        (
            "assessment_score",
            a.map_or(Value::Missing, |a| number(a.score)),
        ),
        (
            "farmer_grade",
            a.map_or(Value::Missing, |a| category(a.grade.as_str())),
        ),
        ("income_per_head", per_head),
        ("labour_share", labour),
        ("land_mu", h.map_or(Value::Missing, |h| number(h.land_mu))),
        ("liabilities_to_assets", leverage),
        ("debt_to_income", debt_to_income),
        (
            "net_worth",
            a.map_or(Value::Missing, |a| {
                number((a.assets - a.liabilities) as f64 / 100.0)
            }),
        ),
        (
            "head_age",
            h.map_or(Value::Missing, |h| {
                number((at.year() as i64 - h.birth_year) as f64)
            }),
        ),
        (
            "education",
            h.map_or(Value::Missing, |h| category(&h.education)),
        ),
        (
            "main_activity",
            h.map_or(Value::Missing, |h| category(&h.main_activity)),
        ),
        ("prior_loans", number(earlier.len() as f64)),
        ("prior_defaults", number(defaults as f64)),
        ("credit_village", category(village)),
    ];
    let mut flags = Vec::new();
    if f.records
        .iter()
        .any(|r| r.kind == RecordKind::DishonestDebtor && r.counts_at(at))
    {
        flags.push(Flag::DishonestDebtorActive);
    }
    if a.is_some_and(|a| !a.grade.is_credit_household()) {
        flags.push(Flag::BelowCreditHouseholdLine);
    }
    if h.is_none() {
        flags.push(Flag::UnknownHousehold);
    }
    let data_as_of = json!({
        "assessment_year": a.map(|a| a.year),
        "assessed_on": a.map(|a| a.assessed_on),
        "as_of": at,
    });
    FeatureVector {
        values,
        flags,
        data_as_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assessment(year: i64, on: &str, income: i64, liabilities: i64) -> AssessmentFact {
        AssessmentFact {
            id: year,
            year,
            assessed_on: on.parse().unwrap(),
            score: 75.0,
            grade: FarmerGrade::Aa,
            annual_income: income,
            assets: 50_000_000,
            liabilities,
        }
    }

    #[test]
    fn debt_to_income_comes_from_the_latest_assessment_known_at_the_date() {
        let f = FarmerFacts {
            assessments: vec![
                assessment(2024, "2024-04-01", 6_000_000, 3_000_000),
                assessment(2025, "2025-04-01", 4_000_000, 6_000_000),
            ],
            ..Default::default()
        };
        assert_eq!(
            characteristics(&f, d("2025-03-31")).get("debt_to_income"),
            Some(Value::Number(0.5))
        );
        assert_eq!(
            characteristics(&f, d("2025-04-01")).get("debt_to_income"),
            Some(Value::Number(1.5))
        );
        assert_eq!(
            characteristics(&f, d("2024-03-31")).get("debt_to_income"),
            Some(Value::Missing)
        );
        let no_income = FarmerFacts {
            assessments: vec![assessment(2025, "2025-04-01", 0, 6_000_000)],
            ..Default::default()
        };
        assert_eq!(
            characteristics(&no_income, d("2025-06-01")).get("debt_to_income"),
            Some(Value::Missing)
        );
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_village_is_a_credit_village_from_seventy_percent_credit_households() {
        let hh = |g: FarmerGrade| vec![(d("2025-03-01"), g)];
        let mut village: Vec<_> = (0..7).map(|_| hh(FarmerGrade::Aa)).collect();
        village.extend((0..3).map(|_| hh(FarmerGrade::BelowLine)));
        assert_eq!(credit_share(&village, d("2025-06-01")), Some(0.7));
        let f = FarmerFacts {
            village: Village::new(village.clone()),
            ..Default::default()
        };
        assert_eq!(
            characteristics(&f, d("2025-06-01")).get("credit_village"),
            Some(category("yes"))
        );
        village.push(hh(FarmerGrade::BelowLine));
        let f = FarmerFacts {
            village: Village::new(village),
            ..Default::default()
        };
        assert_eq!(
            characteristics(&f, d("2025-06-01")).get("credit_village"),
            Some(category("no"))
        );
        assert_eq!(
            characteristics(&f, d("2025-01-01")).get("credit_village"),
            Some(category("unknown"))
        );
    }

    #[test]
    fn a_default_counts_only_once_it_has_happened() {
        let f = FarmerFacts {
            loans: vec![LoanFact {
                disbursed_on: d("2024-01-10"),
                defaulted_on: Some(d("2024-09-01")),
            }],
            ..Default::default()
        };
        assert_eq!(
            characteristics(&f, d("2024-06-01")).get("prior_defaults"),
            Some(Value::Number(0.0))
        );
        assert_eq!(
            characteristics(&f, d("2024-06-01")).get("prior_loans"),
            Some(Value::Number(1.0))
        );
        assert_eq!(
            characteristics(&f, d("2024-10-01")).get("prior_defaults"),
            Some(Value::Number(1.0))
        );
    }

    #[test]
    fn a_household_graded_none_is_flagged_below_the_credit_household_line() {
        let f = FarmerFacts {
            assessments: vec![AssessmentFact {
                id: 1,
                year: 2025,
                assessed_on: d("2025-03-01"),
                score: 52.0,
                grade: FarmerGrade::BelowLine,
                annual_income: 3_000_000,
                assets: 10_000_000,
                liabilities: 2_000_000,
            }],
            ..Default::default()
        };
        let v = characteristics(&f, d("2025-06-01"));
        assert!(v.flags.contains(&Flag::BelowCreditHouseholdLine));
        assert_eq!(v.get("liabilities_to_assets"), Some(Value::Number(0.2)));
        assert!(
            characteristics(&f, d("2025-02-01")).flags.is_empty()
                || !characteristics(&f, d("2025-02-01"))
                    .flags
                    .contains(&Flag::BelowCreditHouseholdLine)
        );
    }
}
