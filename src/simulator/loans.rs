//! Loans and their hidden true default probability.
//!
//! The latent-risk model is the generator's secret: a logit built from some observable facts
//! (tax grade, late filings, arrears, zero filings, revenue trend, age, size, industry, leverage,
//! public records; for farmers the assessment score, debt, age, activity, earlier defaults)
//! mostly non-linearly, ignoring others entirely (region, name, village), plus unobserved terms:
//! the subject's current hidden quality, a seasonal/typhoon shock and loan-level noise. Outcomes
//! are Bernoulli draws from it.

use chrono::NaiveDate;
use rand::Rng;

use super::calendar::{add_days, Month};
use super::rng::{chance, normal, sigmoid};
use crate::domain::{FarmerGrade, Product, TaxGrade};

#[derive(Debug, Clone)]
pub struct Loan {
    pub product: Product,
    pub subject: String,
    /// Entity index and per-entity sequence: a stable order for ties on the same day.
    pub entity: u64,
    pub seq: u32,
    pub disbursed_on: NaiveDate,
    pub amount: i64,
    pub term_months: u32,
    /// None: 12 months not over by the end of the window.
    pub defaulted: Option<bool>,
    pub defaulted_on: Option<NaiveDate>,
    pub true_pd: f64,
    /// The PD from the observable terms alone (for measuring how much is learnable).
    pub observable_pd: f64,
    /// The grade at disbursement (tax grade or farmer grade), for the distribution tables.
    pub grade: &'static str,
}

/// What a bank could know about an enterprise at disbursement.
pub struct SmeFacts {
    pub grade: Option<TaxGrade>,
    pub late_filing_24m: u32,
    pub arrears_12m: u32,
    pub zero_12m: u32,
    /// Revenue of the last 12 months over the 12 before, minus 1.
    pub growth: f64,
    pub age_years: f64,
    pub size: &'static str,
    pub section: char,
    pub amount: i64,
    pub tax_paid_12m: i64,
    pub dishonest: bool,
    pub penalty: bool,
}

pub fn sme_observable_logit(f: &SmeFacts) -> f64 {
    let grade = match f.grade {
        Some(TaxGrade::A) => -0.5,
        Some(TaxGrade::B) => -0.1,
        Some(TaxGrade::M) | None => 0.2,
        Some(TaxGrade::C) => 0.45,
        Some(TaxGrade::D) => 0.8,
    };
    let late = 0.4 * (f.late_filing_24m as f64).sqrt();
    let arrears = if f.arrears_12m > 0 {
        0.6 + 0.08 * f.arrears_12m.min(6) as f64
    } else {
        0.0
    };
    let zero = match f.zero_12m {
        0..=1 => 0.0,
        2..=5 => 0.25,
        _ => 0.6,
    };
    let trend = 1.2 * (-f.growth - 0.15).clamp(0.0, 0.6) + if f.growth > 1.0 { 0.3 } else { 0.0 };
    let age = match f.age_years {
        a if a < 2.0 => 0.4,
        a if a < 4.0 => 0.15,
        a if a > 12.0 => -0.2,
        _ => 0.0,
    };
    let size = match f.size {
        "micro" => 0.15,
        "medium" => -0.25,
        "large" => -0.4,
        _ => 0.0,
    };
    let industry = match f.section {
        'E' => 0.25,
        'H' => 0.2,
        'F' | 'A' => 0.1,
        'I' => -0.1,
        _ => 0.0,
    };
    let leverage = (f.amount as f64 / (f.tax_paid_12m.max(100_000) as f64)).ln();
    let leverage = 0.25 * (leverage - 1.5).max(0.0);
    let records = if f.dishonest { 1.3 } else { 0.0 } + if f.penalty { 0.35 } else { 0.0 };
    -3.8 + grade + late + arrears + zero + trend + age + size + industry + leverage + records
}

/// What a bank could know about a household at disbursement.
pub struct FarmerFacts {
    pub score: Option<u32>,
    pub income: i64,
    pub liabilities: i64,
    pub age: f64,
    pub activity: &'static str,
    pub labourers: u32,
    pub prior_default: bool,
    pub dishonest: bool,
    pub amount: i64,
}

pub fn farmer_observable_logit(f: &FarmerFacts) -> f64 {
    let score = match f.score {
        Some(s) => 0.05 * (75.0 - s as f64).max(-10.0) + if s < 60 { 0.3 } else { 0.0 },
        None => 0.8,
    };
    let dti = f.liabilities as f64 / f.income.max(100_000) as f64;
    let debt = 0.7 * (dti - 0.6).clamp(0.0, 2.0);
    let age = 0.0006 * (f.age - 45.0).powi(2);
    let activity = match f.activity {
        "shrimp" | "fish" => 0.3,
        "pineapple" | "tropical_fruit" => 0.1,
        "migrant_work" => -0.1,
        _ => 0.0,
    };
    let labour = if f.labourers == 0 { 0.4 } else { 0.0 };
    let burden = 0.3
        * (f.amount as f64 / f.income.max(100_000) as f64)
            .ln()
            .max(0.0);
    let history = if f.prior_default { 1.0 } else { 0.0 } + if f.dishonest { 1.6 } else { 0.0 };
    -4.0 + score + debt + age + activity + labour + burden + history
}

/// Unobserved common shocks: Typhoon Yagi (September 2024) hit Zhanjiang's farms and ponds, so
/// loans out in its aftermath to primary producers carry extra risk nobody could score.
pub fn shock(disbursed: Month, primary_producer: bool) -> f64 {
    let i = disbursed.index();
    let hit = Month::new(2024, 9).index();
    if primary_producer && (hit - 11..=hit).contains(&i) {
        0.5
    } else {
        0.0
    }
}

/// The unobserved terms of a loan's logit besides the loan-level noise.
pub struct Draw {
    pub observable_logit: f64,
    pub hidden_quality: f64,
    pub shock: f64,
}

/// Adds the hidden terms to the observable logit, draws the outcome and fills the loan. Returns
/// the day the loan defaults inside the simulation, if it does, whether or not the 12 months are
/// over by the end of the window (the borrower's later life feels it either way).
pub fn draw_outcome(rng: &mut impl Rng, loan: &mut Loan, d: Draw, end: Month) -> Option<NaiveDate> {
    let hidden = -0.5 * d.hidden_quality + d.shock + 0.6 * normal(rng);
    loan.true_pd = sigmoid(d.observable_logit + hidden);
    loan.observable_pd = sigmoid(d.observable_logit);
    let defaults = chance(rng, loan.true_pd);
    let default_day = add_days(loan.disbursed_on, rng.gen_range(90..=365));
    let known = add_days(loan.disbursed_on, 365) <= end.last_day();
    loan.defaulted = known.then_some(defaults);
    loan.defaulted_on = (known && defaults).then_some(default_day);
    defaults.then_some(default_day)
}

pub fn grade_label(g: Option<FarmerGrade>) -> &'static str {
    g.map_or("unassessed", FarmerGrade::as_str)
}
