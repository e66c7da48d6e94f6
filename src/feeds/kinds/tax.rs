//! The tax bureau's feeds: enterprises, taxpayer credit grades, monthly tax payments.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};

use super::{uscc, Ctx, Kind};
use crate::domain::{RegionCode, TaxGrade};
use crate::feeds::cells::Cells;
use crate::feeds::columns::{opt, req, Column};
use crate::feeds::values::{self, shown};
use crate::storage::enterprises::Enterprise;
use crate::storage::tax::{TaxGradeFact, TaxPayment};

pub struct Enterprises;

impl Kind for Enterprises {
    type Row = Enterprise;
    const KEY: &'static str = "uscc";
    const COLUMNS: &'static [Column] = &[
        req("uscc", "统一社会信用代码"),
        req("name", "企业名称"),
        req("region_code", "行政区划代码"),
        req("industry", "行业门类"),
        req("size", "企业规模"),
        req("founded_on", "成立日期"),
        opt("closed_on", "注销日期"),
    ];

    fn validate(c: &mut Cells<'_>, ctx: &Ctx) -> Option<Enterprise> {
        let uscc = uscc(c, 0);
        let name = c.req(1, |s| values::text(s, 1, 200));
        let region_code = c.req(2, region);
        let industry = c.req(3, |s| {
            let t = s.trim();
            match t.as_bytes() {
                [b @ b'A'..=b'T'] => Ok((*b as char).to_string()),
                _ => Err(format!(
                    "{} is not a GB/T 4754 section letter A–T",
                    shown(s)
                )),
            }
        });
        let size = c.req(4, |s| {
            values::one_of(s, &["micro", "small", "medium", "large"])
        });
        let founded_on = c.req(5, values::date);
        if let Some(f) = founded_on {
            if f.year() < ctx.earliest_founding_year {
                let earliest = ctx.earliest_founding_year;
                c.fail(5, format!("founded_on {f} is before {earliest}"));
            } else if f > ctx.today {
                c.fail(5, format!("founded_on {f} is after today ({})", ctx.today));
            }
        }
        let closed_on = c.opt(6, values::date);
        if let (Some(f), Some(Some(closed))) = (founded_on, closed_on) {
            if closed <= f {
                c.fail(6, format!("closed_on {closed} is not after founded_on {f}"));
            }
        }
        let uscc = uscc?;
        c.ok().then_some(())?;
        Some(Enterprise {
            pilot_code: uscc.pilot_warning(),
            uscc: uscc.as_str().to_owned(),
            name: name?,
            region_code: region_code?,
            industry: industry?,
            size: size?.to_owned(),
            founded_on: founded_on?,
            closed_on: closed_on?,
        })
    }

    fn key(row: &Enterprise, out: &mut String) {
        out.push_str(&row.uscc);
    }
}

pub(super) fn region(s: &str) -> Result<String, String> {
    RegionCode::parse(s)
        .map(|r| r.as_str().to_owned())
        .map_err(|e| e.to_string())
}

pub struct TaxGrades;

impl Kind for TaxGrades {
    type Row = TaxGradeFact;
    // A mid-year direct D is a second row for the same year with a later effective date, so the
    // effective date is part of what must be unique within a batch.
    const KEY: &'static str = "uscc, year and effective_from";
    const COLUMNS: &'static [Column] = &[
        req("uscc", "统一社会信用代码"),
        req("year", "评价年度"),
        req("grade", "纳税信用等级"),
        opt("score", "信用评价得分"),
        opt("direct_d", "直接判D"),
        req("effective_from", "生效日期"),
    ];

    fn validate(c: &mut Cells<'_>, _ctx: &Ctx) -> Option<TaxGradeFact> {
        let uscc = uscc(c, 0);
        let year = c.req(1, |s| values::int_in(s, 2014, 2100));
        let grade = c.req(2, |s| {
            s.trim().parse::<TaxGrade>().map_err(|e| e.to_string())
        });
        let score = c.opt(3, |s| values::real_in(s, 0.0, 100.0));
        let direct_d = c.opt(4, values::boolean).map(|d| d.unwrap_or(false));
        let effective_from = c.req(5, values::date);
        // A grade is published the year after the one it rates: a year further ahead than that
        // is impossible (issue 18: a 2100 grade effective today hid a same-day direct D).
        if let (Some(y), Some(e)) = (year, effective_from) {
            if y > i64::from(e.year()) + 1 {
                c.fail(
                    1,
                    format!("year {y} is after the effective year {} + 1", e.year()),
                );
            }
        }
        if let (Some(g), Some(s), Some(d)) = (grade, score, direct_d) {
            if let Err(e) = g.check_agrees(s, d) {
                c.fail(2, e.to_string());
            }
        }
        c.ok().then_some(())?;
        Some(TaxGradeFact {
            id: 0,
            uscc: uscc?.into_string(),
            year: year?,
            grade: grade?.as_str().to_owned(),
            score: score?,
            direct_d: direct_d?,
            effective_from: effective_from?,
            batch_id: String::new(),
            superseded_by: None,
        })
    }

    fn key(row: &TaxGradeFact, out: &mut String) {
        let _ = write!(out, "{} {} {}", row.uscc, row.year, row.effective_from);
    }
}

pub struct TaxPayments;

impl Kind for TaxPayments {
    type Row = TaxPayment;
    const KEY: &'static str = "uscc, period and tax_type";
    const COLUMNS: &'static [Column] = &[
        req("uscc", "统一社会信用代码"),
        req("period", "所属期"),
        req("tax_type", "税种"),
        req("revenue", "申报收入"),
        req("tax_due", "应纳税额"),
        req("tax_paid", "已缴税额"),
        req("filed_on", "申报日期"),
        opt("paid_on", "缴款日期"),
    ];

    fn validate(c: &mut Cells<'_>, ctx: &Ctx) -> Option<TaxPayment> {
        let uscc = uscc(c, 0);
        let period = c.req(1, values::month);
        let tax_type = c.req(2, |s| values::one_of(s, &["vat", "cit", "other"]));
        let revenue = c.req(3, values::fen);
        let tax_due = c.req(4, values::fen);
        let tax_paid = c.req(5, values::fen);
        let filed_on = c.req(6, values::date);
        let paid_on = c.opt(7, values::date);
        let start = period.and_then(|(y, m)| NaiveDate::from_ymd_opt(y, m, 1));
        if let (Some(start), Some((y, m))) = (start, period) {
            if start > ctx.today {
                c.fail(
                    1,
                    format!(
                        "period {y:04}-{m:02} is in the future (today is {})",
                        ctx.today
                    ),
                );
            }
        }
        if let (Some(start), Some(filed)) = (start, filed_on) {
            if filed < start {
                c.fail(6, format!("filed_on {filed} is before the period's month"));
            }
        }
        if let (Some(start), Some(Some(paid))) = (start, paid_on) {
            if paid < start {
                c.fail(7, format!("paid_on {paid} is before the period's month"));
            }
        }
        if let (Some(paid), Some(None)) = (tax_paid, paid_on) {
            if paid > 0 {
                c.fail(7, "paid_on is required when tax_paid is above 0");
            }
        }
        c.ok().then_some(())?;
        let (y, m) = period?;
        Some(TaxPayment {
            uscc: uscc?.into_string(),
            period: format!("{y:04}-{m:02}"),
            tax_type: tax_type?.to_owned(),
            revenue: revenue?,
            tax_due: tax_due?,
            tax_paid: tax_paid?,
            filed_on: filed_on?,
            paid_on: paid_on?,
        })
    }

    fn key(row: &TaxPayment, out: &mut String) {
        for part in [&row.uscc, &row.period, &row.tax_type] {
            out.push_str(part);
            out.push(' ');
        }
    }
}
