//! One enterprise-month of tax: VAT and corporate income tax filings with seasonality, growth,
//! zero filings, late filing, late payment and arrears, written as tax-payments rows.

use chrono::NaiveDate;
use rand::Rng;

use super::calendar::{add_days, push_date, push_month, Month};
use super::enterprises::{season, Enterprise, Size, INDUSTRIES};
use super::inject;
use super::rng::{chance, lognormal, normal, sigmoid, uniform};
use super::tables::{push_text, push_yuan, Out};
use crate::domain::FeedKind;

/// What happened in the month, for the year's tally and the rolling loan features.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonthResult {
    pub zero: bool,
    pub late_filing: bool,
    pub late_payment: bool,
    pub arrears: bool,
    pub revenue: i64,
    pub tax_paid: i64,
}

/// The hidden state the month depends on.
pub struct MonthState {
    pub quality: f64,
    pub zero_last_month: bool,
    pub age_years: f64,
}

struct Filing {
    filed_on: NaiveDate,
    late_filing: bool,
    /// Share of the tax due that is paid, and when.
    paid_share: f64,
    paid_on: Option<NaiveDate>,
    late_payment: bool,
}

fn filing(rng: &mut impl Rng, q: f64, period: Month) -> Filing {
    let deadline = period.deadline();
    let late_filing = chance(rng, sigmoid(-3.0 - 1.2 * q));
    let filed_on = if late_filing {
        add_days(deadline, rng.gen_range(1..=60))
    } else {
        period.plus(1).day(rng.gen_range(1..=15))
    };
    if chance(rng, sigmoid(-4.3 - 1.3 * q)) {
        // Arrears: part or none of the tax is paid.
        let share = uniform(rng, -0.2, 0.7).max(0.0);
        let paid_on = (share > 0.0).then_some(filed_on);
        return Filing {
            filed_on,
            late_filing,
            paid_share: share,
            paid_on,
            late_payment: false,
        };
    }
    let late_payment = !late_filing && chance(rng, sigmoid(-3.5 - 1.1 * q));
    let paid_on = if late_payment {
        add_days(deadline, rng.gen_range(1..=90))
    } else {
        filed_on
    };
    Filing {
        filed_on,
        late_filing,
        paid_share: 1.0,
        paid_on: Some(paid_on),
        late_payment,
    }
}

/// Simulates the month and, when `write` (the month is inside the written window), appends its
/// VAT and CIT rows.
pub fn month(
    rng: &mut impl Rng,
    e: &Enterprise,
    s: &MonthState,
    period: Month,
    write: bool,
    out: &mut Out,
) -> MonthResult {
    let q = s.quality;
    let micro = if e.size == Size::Micro { 0.8 } else { 0.0 };
    let p_zero = if s.zero_last_month {
        0.75
    } else {
        sigmoid(-4.6 - 0.9 * q + micro)
    };
    let zero = chance(rng, p_zero);
    let industry = &INDUSTRIES[e.industry];
    let revenue = if zero {
        0
    } else {
        let seasonal = 1.0 + (season(industry.section, period.month) - 1.0) * e.seasonality;
        let ramp = (0.3 + s.age_years).min(1.0);
        let growth = (1.0 + e.growth).max(0.3).powf(s.age_years.min(15.0));
        (e.base_revenue * growth * seasonal * ramp * lognormal(rng, 0.0, 0.25)) as i64
    };
    let vat_due = (revenue as f64 * industry.vat_rate * lognormal(rng, 0.0, 0.1)) as i64;
    let margin = industry.margin + 0.03 * normal(rng) + 0.02 * q;
    let cit_due = (revenue as f64 * margin.max(0.0) * 0.1) as i64;
    let f = filing(rng, q, period);
    let paid = |due: i64| (due as f64 * f.paid_share) as i64;
    let tax_paid = paid(vat_due) + paid(cit_due);
    if write {
        for (tax_type, due) in [("vat", vat_due), ("cit", cit_due)] {
            write_row(out, e, period, tax_type, revenue, due, paid(due), &f);
        }
    }
    MonthResult {
        zero,
        late_filing: f.late_filing,
        late_payment: f.late_payment,
        arrears: f.paid_share < 1.0 && vat_due + cit_due > 0,
        revenue,
        tax_paid,
    }
}

#[allow(clippy::too_many_arguments)]
fn write_row(
    out: &mut Out,
    e: &Enterprise,
    period: Month,
    tax_type: &str,
    revenue: i64,
    due: i64,
    paid: i64,
    f: &Filing,
) {
    let broken = out.begin(
        FeedKind::TaxPayments,
        &[inject::USCC, ("filed_on", inject::REASON_DATE)],
    );
    let buf = out.buf(FeedKind::TaxPayments);
    if broken == Some("uscc") {
        push_text(buf, &inject::broken_uscc(&e.uscc));
    } else {
        push_text(buf, &e.uscc);
    }
    buf.push(b',');
    push_month(buf, period);
    buf.push(b',');
    push_text(buf, tax_type);
    buf.push(b',');
    push_yuan(buf, revenue);
    buf.push(b',');
    push_yuan(buf, due);
    buf.push(b',');
    push_yuan(buf, paid);
    buf.push(b',');
    if broken == Some("filed_on") {
        push_text(buf, &inject::impossible_date(f.filed_on));
    } else {
        push_date(buf, f.filed_on);
    }
    buf.push(b',');
    if let (Some(d), true) = (f.paid_on, paid > 0) {
        push_date(buf, d);
    }
    buf.push(b'\n');
}
