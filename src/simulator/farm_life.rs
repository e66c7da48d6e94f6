//! One household's years: finances, the spring assessment (100 points, AAA/AA/A/none), public
//! records, and loans month by month with what a default does afterwards.

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::{add_days, years_between, Month};
use super::households::{self, Education, Household};
use super::loans::{self, Draw, FarmerFacts, Loan};
use super::public_records::{self, Kind, Record};
use super::rng::{chance, lognormal, normal, sigmoid, uniform};
use super::Window;
use crate::domain::{FarmerGrade, Product};

#[derive(Debug, Clone)]
pub struct Assessment {
    pub year: i32,
    pub assessed_on: NaiveDate,
    pub score: u32,
    pub grade: FarmerGrade,
    pub income: i64,
    pub assets: i64,
    pub liabilities: i64,
}

pub struct FarmLife {
    pub assessments: Vec<Assessment>,
    pub records: Vec<Record>,
    pub loans: Vec<Loan>,
}

/// Hidden yearly income shock by activity: Typhoon Yagi (September 2024) wrecked ponds and
/// orchards; sugarcane had a poor 2023.
fn income_shock(activity: &str, year: i32) -> f64 {
    match (activity, year) {
        ("shrimp" | "fish" | "tropical_fruit" | "pineapple", 2024) => 0.7,
        ("sugarcane", 2023) => 0.85,
        _ => 1.0,
    }
}

fn score(
    h: &Household,
    q: f64,
    age: f64,
    income: f64,
    prior_default: bool,
    dishonest: bool,
    rng: &mut impl Rng,
) -> u32 {
    let age_pts = (12.0 - 0.012 * (age - 42.0).powi(2)).clamp(0.0, 12.0);
    let health = 10.0 * sigmoid(1.0 + 0.8 * q - 0.04 * (age - 50.0));
    let labour = 10.0 * (h.labourers.min(3) as f64 / 3.0);
    let education = match h.education {
        Education::Primary => 3.0,
        Education::Junior => 5.0,
        Education::Senior => 7.0,
        Education::College => 8.0,
    };
    let assets = 20.0 * (h.assets / 40_000_000.0).min(1.0);
    let per_capita = 20.0 * (income / h.members as f64 / 3_000_000.0).min(1.0);
    let debt = 10.0 * (1.0 - (h.liabilities / h.assets.max(1.0)).min(1.0));
    let credit = if prior_default { 0.0 } else { 10.0 };
    let bonus = if h.honoured { 3.0 } else { 0.0 };
    let gambling = if chance(rng, sigmoid(-3.5 - 1.2 * q)) {
        -10.0
    } else {
        0.0
    };
    let listed = if dishonest { -15.0 } else { 0.0 };
    // The rating group knows the household: its view of character is part of the score.
    let reputation = 5.0 + 3.0 * q + 3.0 * normal(rng);
    let total = age_pts
        + health
        + labour
        + education
        + assets
        + per_capita
        + debt
        + credit
        + bonus
        + gambling
        + listed
        + reputation;
    total.round().clamp(0.0, 100.0) as u32
}

pub fn live(rng: &mut ChaCha8Rng, h: &mut Household, index: u64, w: &Window) -> FarmLife {
    let mut life = FarmLife {
        assessments: Vec::new(),
        records: Vec::new(),
        loans: Vec::new(),
    };
    let mut q = h.quality;
    // An earlier default (before the window) lowers the score and the odds but does not bar
    // borrowing; a default inside the window does.
    let mut prior_default = h.earlier_default;
    let mut defaulted_here = false;
    let mut loan_until: Option<NaiveDate> = None;
    for year in w.sim_start.year - 2..=w.end.year {
        if chance(rng, sigmoid(-6.0 - 1.2 * q)) {
            let d = add_days(
                NaiveDate::from_ymd_opt(year, 1, 1).expect("valid"),
                rng.gen_range(0..365),
            );
            life.records.push(public_records::dishonest_debtor(rng, d));
        }
        if chance(rng, sigmoid(-6.5 - 0.5 * q)) {
            let d = add_days(
                NaiveDate::from_ymd_opt(year, 1, 1).expect("valid"),
                rng.gen_range(0..365),
            );
            life.records.push(public_records::admin_penalty(rng, d));
        }
        if year < w.sim_start.year {
            continue;
        }
        // Last year's income is what the spring assessment sees.
        let income = h.base_income * income_shock(h.activity, year - 1) * lognormal(rng, 0.0, 0.2);
        h.assets *= uniform(rng, 0.98, 1.08);
        let assessed_on = households::assessment_day(rng, year);
        if chance(rng, 0.85)
            && assessed_on >= w.sim_start.first_day()
            && assessed_on <= w.end.last_day()
        {
            let age = years_between(h.head.birth_date(), assessed_on);
            let dishonest = active(&life.records, Kind::DishonestDebtor, assessed_on);
            let s = score(h, q, age, income, prior_default, dishonest, rng);
            life.assessments.push(Assessment {
                year,
                assessed_on,
                score: s,
                grade: FarmerGrade::from_score(s as f64),
                income: income as i64,
                assets: h.assets as i64,
                liabilities: h.liabilities as i64,
            });
        }
        for m in 1..=12 {
            let month = Month::new(year, m);
            if month < w.loan_start || month > w.end {
                continue;
            }
            let day = month.day(rng.gen_range(1..=28));
            if defaulted_here || loan_until.is_some_and(|u| u > day) {
                continue;
            }
            if let Some(outcome) =
                maybe_borrow(rng, h, &mut life, index, q, income, prior_default, day, w)
            {
                loan_until = Some(
                    day.checked_add_months(chrono::Months::new(outcome.1))
                        .expect("in range"),
                );
                if let Some(default_day) = outcome.0 {
                    prior_default = true;
                    defaulted_here = true;
                    q -= 0.8;
                    if chance(rng, 0.25) {
                        let listed = add_days(default_day, rng.gen_range(60..=270));
                        life.records
                            .push(public_records::dishonest_debtor(rng, listed));
                    }
                }
            }
        }
        q = 0.8 * q + 0.6 * normal(rng);
    }
    life
}

fn active(records: &[Record], kind: Kind, on: NaiveDate) -> bool {
    records.iter().any(|r| r.kind == kind && r.is_active(on))
}

/// Returns (default day if the loan defaults, term) when a loan is made.
#[allow(clippy::too_many_arguments)]
fn maybe_borrow(
    rng: &mut ChaCha8Rng,
    h: &mut Household,
    life: &mut FarmLife,
    index: u64,
    q: f64,
    income: f64,
    prior_default: bool,
    day: NaiveDate,
    w: &Window,
) -> Option<(Option<NaiveDate>, u32)> {
    let latest = life
        .assessments
        .iter()
        .rev()
        .find(|a| a.assessed_on <= day)
        .cloned();
    let grade = latest.as_ref().map(|a| a.grade);
    let (appetite, approval, base) = match grade {
        Some(FarmerGrade::Aaa) => (0.025, 0.97, 100_000.0),
        Some(FarmerGrade::Aa) => (0.025, 0.93, 80_000.0),
        Some(FarmerGrade::A) => (0.025, 0.85, 50_000.0),
        Some(FarmerGrade::BelowLine) => (0.008, 0.3, 20_000.0),
        None => (0.004, 0.2, 20_000.0),
    };
    if !chance(rng, appetite) || !chance(rng, approval) {
        return None;
    }
    let dishonest = active(&life.records, Kind::DishonestDebtor, day);
    if dishonest && !chance(rng, 0.1) {
        return None;
    }
    let amount = ((base * uniform(rng, 0.3, 1.0) / 1000.0).round() as i64).max(5) * 100_000;
    let term_months = *super::rng::weighted(rng, &[(12u32, 85.0), (24, 10.0), (36, 5.0)]);
    let facts = FarmerFacts {
        score: latest.as_ref().map(|a| a.score),
        income: latest.as_ref().map_or(income as i64, |a| a.income),
        liabilities: h.liabilities as i64,
        age: years_between(h.head.birth_date(), day),
        activity: h.activity,
        labourers: h.labourers,
        prior_default,
        dishonest,
        amount,
    };
    let mut loan = Loan {
        product: Product::Farmer,
        subject: h.head.as_str().to_owned(),
        entity: index,
        seq: life.loans.len() as u32,
        disbursed_on: day,
        amount,
        term_months,
        defaulted: None,
        defaulted_on: None,
        true_pd: 0.0,
        observable_pd: 0.0,
        grade: loans::grade_label(grade),
    };
    let primary = h.activity != "migrant_work" && h.activity != "other";
    let shock = loans::shock(Month::of(day), primary);
    let draw = Draw {
        observable_logit: loans::farmer_observable_logit(&facts),
        hidden_quality: q,
        shock,
    };
    let default_day = loans::draw_outcome(rng, &mut loan, draw, w.end);
    h.liabilities += amount as f64;
    if default_day.is_none() {
        // Repaid at maturity; the debt is gone by the next assessment.
        h.liabilities = (h.liabilities - amount as f64).max(0.0);
    }
    life.loans.push(loan);
    Some((default_day, term_months))
}
