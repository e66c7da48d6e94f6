//! One enterprise's life, month by month: tax filings, yearly grades (published the next April
//! or May, with mid-year direct Ds), public records, loans and what defaults do afterwards.

use std::collections::VecDeque;

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::{add_days, years_between, Month};
use super::enterprises::{Enterprise, Size, INDUSTRIES};
use super::grading::{self, Context, Grade, YearTally};
use super::loans::{self, Draw, Loan, SmeFacts};
use super::public_records::{self, Kind, Record};
use super::rng::{chance, normal, sigmoid, uniform};
use super::tables::Out;
use super::tax::{self, MonthResult, MonthState};
use super::Window;
use crate::domain::{Product, TaxGrade};

/// A published grade row.
pub struct GradeRow {
    pub year: i32,
    pub grade: Grade,
    pub effective_from: NaiveDate,
}

pub struct Life {
    pub closed_on: Option<NaiveDate>,
    pub grades: Vec<GradeRow>,
    pub records: Vec<Record>,
    pub loans: Vec<Loan>,
}

struct State {
    quality: f64,
    tally: YearTally,
    previous_grade: Option<TaxGrade>,
    recent: VecDeque<MonthResult>,
    loan_until: Option<NaiveDate>,
    defaulted: bool,
    closing_on: Option<NaiveDate>,
}

pub fn live(rng: &mut ChaCha8Rng, e: &Enterprise, index: u64, w: &Window, out: &mut Out) -> Life {
    let mut life = Life {
        closed_on: None,
        grades: Vec::new(),
        records: Vec::new(),
        loans: Vec::new(),
    };
    let mut s = State {
        quality: e.quality,
        tally: YearTally::default(),
        previous_grade: None,
        recent: VecDeque::with_capacity(25),
        loan_until: None,
        defaulted: false,
        closing_on: None,
    };
    let first = Month::of(e.founded_on).max(w.sim_start.plus(-24));
    let mut month = first;
    while month <= w.end {
        records_hazard(rng, &mut life, s.quality, month);
        if month < w.sim_start {
            month = month.plus(1);
            continue;
        }
        if month.month == 1 && month > w.sim_start {
            close_year(rng, e, &mut s, &mut life, month.year - 1, w);
        }
        if month >= w.loan_start {
            maybe_borrow(rng, e, index, &mut s, &mut life, month, w);
        }
        let age_years = years_between(e.founded_on, month.last_day()).max(0.0);
        let state = MonthState {
            quality: s.quality,
            zero_last_month: s.recent.back().is_some_and(|r| r.zero),
            age_years,
        };
        let r = tax::month(rng, e, &state, month, month >= w.start, out);
        tally(&mut s.tally, &r);
        s.recent.push_back(r);
        if s.recent.len() > 24 {
            s.recent.pop_front();
        }
        if chance(rng, sigmoid(-8.0 - 1.5 * s.quality)) {
            direct_d(rng, &mut s, &mut life, month);
        }
        s.quality = 0.98 * s.quality + 0.199 * normal(rng);
        if s.closing_on.is_none() && chance(rng, sigmoid(-5.6 - 0.7 * s.quality)) {
            // Never on or before the founding day (feeds.md: closed_on after founded_on).
            let day = month
                .day(rng.gen_range(1..=28))
                .max(e.founded_on + chrono::Days::new(1));
            s.closing_on = Some(day);
        }
        if let Some(d) = s.closing_on.filter(|d| Month::of(*d) == month) {
            // A business cannot close before (or on) the day it was founded.
            life.closed_on = Some(d.max(e.founded_on + chrono::Days::new(1)));
            break;
        }
        month = month.plus(1);
    }
    life
}

fn tally(t: &mut YearTally, r: &MonthResult) {
    t.months_operating += 1;
    t.late_filing_months += r.late_filing as u32;
    t.late_payment_months += r.late_payment as u32;
    t.arrears_months += r.arrears as u32;
    t.record_zero(r.zero);
}

/// Grades year `year` at its end; the grade is published between 20 April and 30 May.
fn close_year(
    rng: &mut ChaCha8Rng,
    e: &Enterprise,
    s: &mut State,
    life: &mut Life,
    year: i32,
    w: &Window,
) {
    let mut t = std::mem::take(&mut s.tally);
    for _ in 0..2 {
        t.concealments += chance(rng, sigmoid(-3.5 - 1.0 * s.quality)) as u32;
    }
    let year_end = Month::new(year, 12).last_day();
    let ctx = Context {
        has_nonrecurring: e.has_nonrecurring,
        new_entity: Month::of(e.founded_on).year == year,
        years_in_operation: years_between(e.founded_on, year_end),
        previous_grade: s.previous_grade,
    };
    let Some(grade) = grading::grade(&t, &ctx) else {
        return;
    };
    s.previous_grade = Some(grade.grade);
    let effective_from = add_days(Month::new(year + 1, 4).day(20), rng.gen_range(0..=40));
    if effective_from > w.end.last_day() {
        return;
    }
    if grade.grade == TaxGrade::A && chance(rng, 0.3) {
        life.records.push(public_records::red_list(effective_from));
    }
    life.grades.push(GradeRow {
        year,
        grade,
        effective_from,
    });
}

/// Fake invoices, absconding, major tax dishonesty: D for this year, a second D row for last
/// year's published grade, and often the end of the enterprise.
fn direct_d(rng: &mut ChaCha8Rng, s: &mut State, life: &mut Life, month: Month) {
    let d = month.day(rng.gen_range(1..=28));
    s.tally.direct_d = true;
    let direct = Grade {
        grade: TaxGrade::D,
        score: None,
        direct_d: true,
    };
    if let Some(last) = life.grades.last_mut().filter(|g| g.year == month.year - 1) {
        if last.effective_from < d {
            let year = last.year;
            life.grades.push(GradeRow {
                year,
                grade: direct,
                effective_from: d,
            });
        } else {
            last.grade = direct;
        }
    }
    s.quality -= 1.5;
    if s.closing_on.is_none() && chance(rng, 0.4) {
        s.closing_on = Some(add_days(d, rng.gen_range(20..=180)));
    }
}

fn records_hazard(rng: &mut ChaCha8Rng, life: &mut Life, q: f64, month: Month) {
    if chance(rng, sigmoid(-8.3 - 1.2 * q)) {
        let d = month.day(rng.gen_range(1..=28));
        let r = public_records::dishonest_debtor(rng, d);
        life.records.push(r);
    }
    if chance(rng, sigmoid(-6.3 - 0.6 * q)) {
        let d = month.day(rng.gen_range(1..=28));
        let r = public_records::admin_penalty(rng, d);
        life.records.push(r);
    }
}

/// The grade in force on `d`: the row with the latest effective date not after it.
fn grade_on(grades: &[GradeRow], d: NaiveDate) -> Option<TaxGrade> {
    grades
        .iter()
        .filter(|g| g.effective_from <= d)
        .max_by_key(|g| g.effective_from)
        .map(|g| g.grade.grade)
}

fn maybe_borrow(
    rng: &mut ChaCha8Rng,
    e: &Enterprise,
    index: u64,
    s: &mut State,
    life: &mut Life,
    month: Month,
    w: &Window,
) {
    let day = month.day(rng.gen_range(1..=28));
    let busy = s.loan_until.is_some_and(|u| u > day) || s.defaulted || s.recent.len() < 12;
    let appetite = match e.size {
        Size::Micro => 0.03,
        Size::Small => 0.036,
        Size::Medium => 0.03,
        Size::Large => 0.015,
    };
    if busy || !chance(rng, appetite) {
        return;
    }
    let grade = grade_on(&life.grades, day);
    let dishonest = life
        .records
        .iter()
        .any(|r| r.kind == Kind::DishonestDebtor && r.is_active(day));
    let penalty = life
        .records
        .iter()
        .any(|r| r.kind == Kind::AdminPenalty && r.is_active(day));
    let approval = match grade {
        Some(TaxGrade::A) => 0.95,
        Some(TaxGrade::B) => 0.85,
        Some(TaxGrade::M) | None => 0.6,
        Some(TaxGrade::C) => 0.35,
        Some(TaxGrade::D) => 0.08,
    } * if dishonest { 0.1 } else { 1.0 };
    if !chance(rng, approval) {
        return;
    }
    let last12 = s.recent.iter().rev().take(12);
    let (rev12, paid12) = last12.fold((0i64, 0i64), |(r, p), m| (r + m.revenue, p + m.tax_paid));
    let rev_prev: i64 = s.recent.iter().rev().skip(12).map(|m| m.revenue).sum();
    let growth = if rev_prev > 0 && s.recent.len() >= 24 {
        rev12 as f64 / rev_prev as f64 - 1.0
    } else {
        0.0
    };
    let multiple = match grade {
        Some(TaxGrade::A) => uniform(rng, 3.0, 8.0),
        Some(TaxGrade::B) => uniform(rng, 1.5, 3.0),
        _ => uniform(rng, 0.5, 1.5),
    };
    // Whole thousands of yuan between 30 thousand and 3 million.
    let amount = ((paid12 as f64 * multiple / 100_000.0).round() as i64).clamp(30, 3000) * 100_000;
    let term_months = *super::rng::weighted(rng, &[(12u32, 80.0), (24, 12.0), (36, 8.0)]);
    let facts = SmeFacts {
        grade,
        late_filing_24m: s.recent.iter().filter(|m| m.late_filing).count() as u32,
        arrears_12m: s.recent.iter().rev().take(12).filter(|m| m.arrears).count() as u32,
        zero_12m: s.recent.iter().rev().take(12).filter(|m| m.zero).count() as u32,
        growth,
        age_years: years_between(e.founded_on, day),
        size: e.size.as_str(),
        section: INDUSTRIES[e.industry].section,
        amount,
        tax_paid_12m: paid12,
        dishonest,
        penalty,
    };
    let mut loan = Loan {
        product: Product::Sme,
        subject: e.uscc.clone(),
        entity: index,
        seq: life.loans.len() as u32,
        disbursed_on: day,
        amount,
        term_months,
        defaulted: None,
        defaulted_on: None,
        true_pd: 0.0,
        observable_pd: 0.0,
        grade: grade.map_or("none", TaxGrade::as_str),
    };
    let primary = INDUSTRIES[e.industry].section == 'A';
    let draw = Draw {
        observable_logit: loans::sme_observable_logit(&facts),
        hidden_quality: s.quality,
        shock: loans::shock(month, primary),
    };
    s.loan_until = Some(
        day.checked_add_months(chrono::Months::new(term_months))
            .expect("in range"),
    );
    if let Some(default_day) = loans::draw_outcome(rng, &mut loan, draw, w.end) {
        s.defaulted = true;
        s.quality -= 0.8;
        if chance(rng, 0.35) {
            let listed = add_days(default_day, rng.gen_range(60..=270));
            life.records
                .push(public_records::dishonest_debtor(rng, listed));
        }
    }
    life.loans.push(loan);
}
