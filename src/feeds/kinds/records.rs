//! Public credit records and banks' loan outcomes: both name a subject that is either an
//! enterprise (credit code) or a person (resident id, stored as its keyed hash).

use chrono::Months;

use super::{resident, uscc, Ctx, Kind, NOT_ELIGIBLE};
use crate::domain::Uscc;
use crate::feeds::cells::Cells;
use crate::feeds::columns::{opt, req, Column};
use crate::feeds::values;
use crate::storage::loans::Loan;
use crate::storage::public_records::PublicRecord;

/// The subject key for `subject_id` (column `i`): the credit code, or the keyed hash of a person.
fn subject(c: &mut Cells<'_>, i: usize, person: bool, ctx: &Ctx) -> Option<String> {
    if person {
        resident(c, i, ctx).map(|id| ctx.pii.subject_key(id.as_str()))
    } else {
        uscc(c, i).map(Uscc::into_string)
    }
}

pub struct PublicRecords;

impl Kind for PublicRecords {
    type Row = PublicRecord;
    const KEY: &'static str = "record_id";
    const COLUMNS: &'static [Column] = &[
        req("record_id", "记录编号"),
        req("subject_type", "主体类型"),
        req("subject_id", "主体标识"),
        req("kind", "记录类型"),
        opt("severity", "严重程度"),
        req("listed_at", "列入日期"),
        req("display_until", "公示截止日期"),
        opt("repaired_at", "信用修复日期"),
    ];

    fn validate(c: &mut Cells<'_>, ctx: &Ctx) -> Option<PublicRecord> {
        let record_id = c.req(0, |s| values::text(s, 1, 64));
        let subject_type = c.req(1, |s| values::one_of(s, &["enterprise", "person"]));
        let subject_key = subject_type.and_then(|t| subject(c, 2, t == "person", ctx));
        let kind = c.req(3, |s| {
            values::one_of(s, &["dishonest_debtor", "admin_penalty", "red_list"])
        });
        let severity = c.opt(4, |s| values::one_of(s, &["normal", "serious"]));
        let listed_at = c.req(5, values::date);
        let display_until = c.req(6, values::date);
        let repaired_at = c.opt(7, values::date);
        if let (Some(l), Some(d)) = (listed_at, display_until) {
            if d <= l {
                c.fail(6, format!("display_until {d} is not after listed_at {l}"));
            }
        }
        if let (Some(l), Some(Some(r))) = (listed_at, repaired_at) {
            if r < l {
                c.fail(7, format!("repaired_at {r} is before listed_at {l}"));
            }
        }
        c.ok().then_some(())?;
        Some(PublicRecord {
            source: ctx.source.clone(),
            record_id: record_id?,
            subject_type: subject_type?.to_owned(),
            subject_key: subject_key?,
            kind: kind?.to_owned(),
            severity: severity?.unwrap_or("normal").to_owned(),
            listed_at: listed_at?,
            display_until: display_until?,
            repaired_at: repaired_at?,
        })
    }

    fn key(row: &PublicRecord, out: &mut String) {
        out.push_str(&row.record_id);
    }
}

pub struct LoanOutcomes;

impl Kind for LoanOutcomes {
    type Row = Loan;
    const KEY: &'static str = "loan_id";
    const COLUMNS: &'static [Column] = &[
        req("loan_id", "贷款编号"),
        req("product", "产品"),
        req("subject_id", "借款主体标识"),
        req("disbursed_on", "放款日期"),
        req("amount", "贷款金额"),
        req("term_months", "期限(月)"),
        opt("defaulted", "是否违约"),
        opt("defaulted_on", "违约日期"),
    ];

    fn validate(c: &mut Cells<'_>, ctx: &Ctx) -> Option<Loan> {
        let loan_id = c.req(0, |s| values::text(s, 1, 64));
        let product = c.req(1, |s| values::one_of(s, &["sme", "farmer"]));
        let subject_key = product.and_then(|p| subject(c, 2, p == "farmer", ctx));
        if let (Some(p), Some(k)) = (product, &subject_key) {
            if !ctx.known_subjects.contains(k) && ctx.partner_scoped {
                ctx.not_eligible.lock().expect("tally lock").note(k);
                c.fail(2, NOT_ELIGIBLE);
            } else if !ctx.known_subjects.contains(k) {
                let reason = if p == "farmer" {
                    "no household with this head is known; feed households first".to_owned()
                } else {
                    format!("enterprise {k} is not known; feed enterprises first")
                };
                c.fail(2, reason);
            }
        }
        let disbursed_on = c.req(3, values::date);
        let amount = c.req(4, values::fen);
        if amount == Some(0) {
            c.fail(4, "amount must be above 0");
        }
        let term_months = c.req(5, |s| values::int_in(s, 1, 120));
        let defaulted = c.opt(6, values::boolean);
        let defaulted_on = c.opt(7, values::date);
        if let (Some(d), Some(Some(on))) = (defaulted, defaulted_on) {
            if d != Some(true) {
                c.fail(7, "defaulted_on is only allowed when defaulted is true");
            } else if let Some(from) = disbursed_on {
                let until = from.checked_add_months(Months::new(12)).unwrap_or(from);
                if on < from || on > until {
                    c.fail(
                        7,
                        format!(
                            "defaulted_on {on} is not within 12 months after disbursed_on {from}"
                        ),
                    );
                }
            }
        }
        c.ok().then_some(())?;
        Some(Loan {
            reported_by: ctx.source.clone(),
            loan_id: loan_id?,
            product: product?.to_owned(),
            subject_key: subject_key?,
            disbursed_on: disbursed_on?,
            amount: amount?,
            term_months: term_months?,
            defaulted: defaulted?,
            defaulted_on: defaulted_on?,
        })
    }

    fn key(row: &Loan, out: &mut String) {
        out.push_str(&row.loan_id);
    }
}
