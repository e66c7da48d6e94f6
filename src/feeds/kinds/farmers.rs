//! The farmer assessors' feeds: households and their annual assessments. The head's resident id
//! becomes the keyed hash, the last 4 characters and the birth year here; it goes no further.

use std::fmt::Write as _;

use chrono::Datelike;

use super::{resident, Ctx, Kind};
use crate::domain::FarmerGrade;
use crate::feeds::cells::Cells;
use crate::feeds::columns::{req, Column};
use crate::feeds::values;
use crate::storage::households::{FarmerAssessment, Household};

pub struct Households;

impl Kind for Households {
    type Row = Household;
    const KEY: &'static str = "head_id";
    const COLUMNS: &'static [Column] = &[
        req("head_id", "户主身份证号"),
        req("region_code", "行政区划代码"),
        req("village_code", "行政村代码"),
        req("village_name", "行政村名称"),
        req("members", "家庭人口"),
        req("labourers", "劳动力人数"),
        req("education", "户主文化程度"),
        req("land_mu", "承包土地(亩)"),
        req("main_activity", "主要产业"),
    ];

    fn validate(c: &mut Cells<'_>, ctx: &Ctx) -> Option<Household> {
        let head = resident(c, 0, ctx);
        let region_code = c.req(1, super::tax::region);
        let village_code = c.req(2, |s| values::digits(s, 12));
        let village_name = c.req(3, |s| values::text(s, 1, 100));
        let members = c.req(4, |s| values::int_in(s, 1, 20));
        let labourers = c.req(5, |s| values::int_in(s, 0, 20));
        let education = c.req(6, |s| {
            values::one_of(s, &["primary", "junior", "senior", "college"])
        });
        let land_mu = c.req(7, |s| values::real_in(s, 0.0, 10_000.0));
        let main_activity = c.req(8, |s| {
            values::one_of(
                s,
                &[
                    "sugarcane",
                    "pineapple",
                    "tropical_fruit",
                    "rice",
                    "vegetables",
                    "shrimp",
                    "fish",
                    "livestock",
                    "migrant_work",
                    "other",
                ],
            )
        });
        if let (Some(m), Some(l)) = (members, labourers) {
            if l > m {
                c.fail(5, format!("{l} labourers in a household of {m}"));
            }
        }
        if let (Some(r), Some(v)) = (&region_code, &village_code) {
            if !v.starts_with(r.as_str()) {
                c.warn(2, format!("village code {v} is not inside region {r}"));
            }
        }
        c.ok().then_some(())?;
        let head = head?;
        Some(Household {
            subject_key: ctx.pii.subject_key(head.as_str()),
            id_last4: head.last4().to_owned(),
            birth_year: i64::from(head.birth_date().year()),
            region_code: region_code?,
            village_code: village_code?,
            village_name: village_name?,
            members: members?,
            labourers: labourers?,
            education: education?.to_owned(),
            land_mu: land_mu?,
            main_activity: main_activity?.to_owned(),
        })
    }

    fn key(row: &Household, out: &mut String) {
        out.push_str(&row.subject_key);
    }
}

pub struct Assessments;

impl Kind for Assessments {
    type Row = FarmerAssessment;
    const KEY: &'static str = "head_id and year";
    const COLUMNS: &'static [Column] = &[
        req("head_id", "户主身份证号"),
        req("year", "评定年度"),
        req("assessed_on", "评定日期"),
        req("score", "评定得分"),
        req("grade", "信用等级"),
        req("annual_income", "家庭年收入"),
        req("assets", "家庭资产"),
        req("liabilities", "家庭负债"),
    ];

    fn validate(c: &mut Cells<'_>, ctx: &Ctx) -> Option<FarmerAssessment> {
        let head = resident(c, 0, ctx);
        let year = c.req(1, |s| values::int_in(s, 2014, 2100));
        let assessed_on = c.req(2, values::date);
        if let (Some(y), Some(on)) = (year, assessed_on) {
            if y > i64::from(on.year()) + 1 {
                c.fail(
                    1,
                    format!("year {y} is after the assessment's year {} + 1", on.year()),
                );
            }
        }
        let score = c.req(3, |s| values::real_in(s, 0.0, 100.0));
        let grade = c.req(4, |s| {
            s.trim().parse::<FarmerGrade>().map_err(|e| e.to_string())
        });
        let annual_income = c.req(5, values::fen);
        let assets = c.req(6, values::fen);
        let liabilities = c.req(7, values::fen);
        if let (Some(g), Some(s)) = (grade, score) {
            if let Err(e) = g.check_agrees(s) {
                c.fail(4, e.to_string());
            }
        }
        c.ok().then_some(())?;
        Some(FarmerAssessment {
            id: 0,
            subject_key: ctx.pii.subject_key(head?.as_str()),
            year: year?,
            assessed_on: assessed_on?,
            score: score?,
            grade: grade?.as_str().to_owned(),
            annual_income: annual_income?,
            assets: assets?,
            liabilities: liabilities?,
            batch_id: String::new(),
            superseded_by: None,
        })
    }

    fn key(row: &FarmerAssessment, out: &mut String) {
        let _ = write!(out, "{} {}", row.subject_key, row.year);
    }
}
