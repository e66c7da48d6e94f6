//! Row writers for the entity files (enterprises, tax grades, households, assessments, loans);
//! tax payments and public records write their own rows next to their simulation.

use super::calendar::push_date;
use super::enterprise_life::GradeRow;
use super::enterprises::{Enterprise, COUNTIES, INDUSTRIES};
use super::farm_life::Assessment;
use super::households::{Household, Village};
use super::inject;
use super::loans::Loan;
use super::tables::{push_int, push_text, push_yuan, Out};
use crate::domain::FeedKind;
use chrono::NaiveDate;

const DATE_BROKEN: &str = inject::REASON_DATE;

pub fn enterprise(out: &mut Out, e: &Enterprise, closed_on: Option<NaiveDate>) {
    let broken = out.begin(
        FeedKind::Enterprises,
        &[inject::USCC, ("founded_on", DATE_BROKEN)],
    );
    let buf = out.buf(FeedKind::Enterprises);
    let uscc = if broken == Some("uscc") {
        inject::broken_uscc(&e.uscc)
    } else {
        e.uscc.clone()
    };
    push_text(buf, &uscc);
    buf.push(b',');
    push_text(buf, &e.name);
    buf.push(b',');
    push_text(buf, COUNTIES[e.county].0);
    buf.push(b',');
    buf.push(INDUSTRIES[e.industry].section as u8);
    buf.push(b',');
    push_text(buf, e.size.as_str());
    buf.push(b',');
    if broken == Some("founded_on") {
        push_text(buf, &inject::impossible_date(e.founded_on));
    } else {
        push_date(buf, e.founded_on);
    }
    buf.push(b',');
    if let Some(d) = closed_on {
        push_date(buf, d);
    }
    buf.push(b'\n');
}

pub fn tax_grade(out: &mut Out, uscc: &str, g: &GradeRow) {
    let broken = out.begin(
        FeedKind::TaxGrades,
        &[
            inject::USCC,
            inject::GRADE_TAX,
            ("effective_from", DATE_BROKEN),
        ],
    );
    let buf = out.buf(FeedKind::TaxGrades);
    let code = if broken == Some("uscc") {
        inject::broken_uscc(uscc)
    } else {
        uscc.to_owned()
    };
    push_text(buf, &code);
    buf.push(b',');
    push_int(buf, g.year as i64);
    buf.push(b',');
    push_text(
        buf,
        if broken == Some("grade") {
            "E"
        } else {
            g.grade.grade.as_str()
        },
    );
    buf.push(b',');
    if let Some(s) = g.grade.score {
        push_int(buf, s as i64);
    }
    buf.push(b',');
    push_text(buf, if g.grade.direct_d { "true" } else { "false" });
    buf.push(b',');
    if broken == Some("effective_from") {
        push_text(buf, &inject::impossible_date(g.effective_from));
    } else {
        push_date(buf, g.effective_from);
    }
    buf.push(b'\n');
}

pub fn household(out: &mut Out, h: &Household, v: &Village) {
    let broken = out.begin(FeedKind::Households, &[inject::HEAD_ID_CHECK]);
    let buf = out.buf(FeedKind::Households);
    let id = if broken.is_some() {
        inject::broken_resident_id(&h.head)
    } else {
        h.head.as_str().to_owned()
    };
    push_text(buf, &id);
    buf.push(b',');
    push_text(buf, v.county_code);
    buf.push(b',');
    push_text(buf, &v.code);
    buf.push(b',');
    push_text(buf, &v.name);
    buf.push(b',');
    push_int(buf, h.members as i64);
    buf.push(b',');
    push_int(buf, h.labourers as i64);
    buf.push(b',');
    push_text(buf, h.education.as_str());
    buf.push(b',');
    push_int(buf, h.land_mu as i64);
    buf.push(b',');
    push_text(buf, h.activity);
    buf.push(b'\n');
}

pub fn assessment(out: &mut Out, h: &Household, a: &Assessment) {
    let broken = out.begin(
        FeedKind::FarmerAssessments,
        &[
            inject::HEAD_ID_CHECK,
            inject::GRADE_FARMER,
            ("assessed_on", DATE_BROKEN),
        ],
    );
    let buf = out.buf(FeedKind::FarmerAssessments);
    let id = if broken == Some("head_id") {
        inject::broken_resident_id(&h.head)
    } else {
        h.head.as_str().to_owned()
    };
    push_text(buf, &id);
    buf.push(b',');
    push_int(buf, a.year as i64);
    buf.push(b',');
    if broken == Some("assessed_on") {
        push_text(buf, &inject::impossible_date(a.assessed_on));
    } else {
        push_date(buf, a.assessed_on);
    }
    buf.push(b',');
    push_int(buf, a.score as i64);
    buf.push(b',');
    push_text(
        buf,
        if broken == Some("grade") {
            "AAAA"
        } else {
            a.grade.as_str()
        },
    );
    buf.push(b',');
    push_yuan(buf, a.income);
    buf.push(b',');
    push_yuan(buf, a.assets);
    buf.push(b',');
    push_yuan(buf, a.liabilities);
    buf.push(b'\n');
}

/// A loan-outcomes row; `broken_subject` is what an injected bad identifier looks like.
pub fn loan(out: &mut Out, loan_id: &str, l: &Loan, broken_subject: impl FnOnce() -> String) {
    let subject_reason = if l.product.as_str() == "sme" {
        inject::USCC.1
    } else {
        inject::HEAD_ID_CHECK.1
    };
    let broken = out.begin(
        FeedKind::LoanOutcomes,
        &[
            ("subject_id", subject_reason),
            ("disbursed_on", DATE_BROKEN),
        ],
    );
    let buf = out.buf(FeedKind::LoanOutcomes);
    push_text(buf, loan_id);
    buf.push(b',');
    push_text(buf, l.product.as_str());
    buf.push(b',');
    if broken == Some("subject_id") {
        push_text(buf, &broken_subject());
    } else {
        push_text(buf, &l.subject);
    }
    buf.push(b',');
    if broken == Some("disbursed_on") {
        push_text(buf, &inject::impossible_date(l.disbursed_on));
    } else {
        push_date(buf, l.disbursed_on);
    }
    buf.push(b',');
    push_yuan(buf, l.amount);
    buf.push(b',');
    push_int(buf, l.term_months as i64);
    buf.push(b',');
    if let Some(d) = l.defaulted {
        push_text(buf, if d { "true" } else { "false" });
    }
    buf.push(b',');
    if let Some(d) = l.defaulted_on {
        push_date(buf, d);
    }
    buf.push(b'\n');
}
