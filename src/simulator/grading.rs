//! Annual taxpayer credit grades by the deduction method (domain.md §2), computed from what the
//! simulation actually did in the year, so the grades and the payment records agree.
//!
//! Deductions used (a simplified reading of the 2025 table): late filing 5 points per month,
//! late payment 5 per month, arrears 5 per month with tax left unpaid, concealment or a false
//! undertaking found in an inspection 11 per occurrence, and 10 for a run of six or more zero
//! filings. Start from 100, or 90 when the non-recurring indicators are missing.

use crate::domain::TaxGrade;

/// What one enterprise did in one tax year.
#[derive(Debug, Clone, Default)]
pub struct YearTally {
    pub months_operating: u32,
    pub late_filing_months: u32,
    pub late_payment_months: u32,
    pub arrears_months: u32,
    pub zero_months: u32,
    pub longest_zero_run: u32,
    pub current_zero_run: u32,
    pub concealments: u32,
    /// A direct-D event happened in the year.
    pub direct_d: bool,
}

impl YearTally {
    pub fn record_zero(&mut self, zero: bool) {
        if zero {
            self.zero_months += 1;
            self.current_zero_run += 1;
            self.longest_zero_run = self.longest_zero_run.max(self.current_zero_run);
        } else {
            self.current_zero_run = 0;
        }
    }
}

/// Facts about the enterprise the rules need besides the year's behaviour.
pub struct Context {
    pub has_nonrecurring: bool,
    /// Founded in the evaluated year.
    pub new_entity: bool,
    pub years_in_operation: f64,
    pub previous_grade: Option<TaxGrade>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grade {
    pub grade: TaxGrade,
    /// None for a direct D (the score is not what decides it).
    pub score: Option<u32>,
    pub direct_d: bool,
}

pub fn score(t: &YearTally, has_nonrecurring: bool) -> u32 {
    let start: i64 = if has_nonrecurring { 100 } else { 90 };
    let zero_run = if t.longest_zero_run >= 6 { 10 } else { 0 };
    let deductions = 5 * t.late_filing_months as i64
        + 5 * t.late_payment_months as i64
        + 5 * t.arrears_months as i64
        + 11 * t.concealments as i64
        + zero_run;
    (start - deductions).max(0) as u32
}

/// The year's grade, or None when the enterprise did not operate in the year.
pub fn grade(t: &YearTally, c: &Context) -> Option<Grade> {
    if t.months_operating == 0 {
        return None;
    }
    if t.direct_d {
        return Some(Grade {
            grade: TaxGrade::D,
            score: None,
            direct_d: true,
        });
    }
    let s = score(t, c.has_nonrecurring);
    let band = TaxGrade::from_score(s as f64);
    let no_revenue = t.zero_months == t.months_operating;
    let grade = if (c.new_entity || no_revenue) && s >= 70 {
        TaxGrade::M
    } else if band == TaxGrade::A && !may_be_a(t, c) {
        TaxGrade::B
    } else {
        band
    };
    Some(Grade {
        grade,
        score: Some(s),
        direct_d: false,
    })
}

/// domain.md §2: no A with fewer than 3 years in operation, after a D, or with long runs of
/// zero VAT filings.
fn may_be_a(t: &YearTally, c: &Context) -> bool {
    c.years_in_operation >= 3.0 && c.previous_grade != Some(TaxGrade::D) && t.longest_zero_run < 6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            has_nonrecurring: true,
            new_entity: false,
            years_in_operation: 10.0,
            previous_grade: None,
        }
    }

    fn clean() -> YearTally {
        YearTally {
            months_operating: 12,
            ..Default::default()
        }
    }

    #[test]
    fn a_clean_year_with_all_indicators_is_an_a() {
        assert_eq!(
            grade(&clean(), &ctx()).unwrap(),
            Grade {
                grade: TaxGrade::A,
                score: Some(100),
                direct_d: false
            }
        );
    }

    #[test]
    fn two_late_filings_and_a_late_payment_give_a_b() {
        let t = YearTally {
            late_filing_months: 2,
            late_payment_months: 1,
            ..clean()
        };
        assert_eq!(grade(&t, &ctx()).unwrap().score, Some(85));
        assert_eq!(grade(&t, &ctx()).unwrap().grade, TaxGrade::B);
    }

    #[test]
    fn without_non_recurring_indicators_the_start_is_ninety() {
        let c = Context {
            has_nonrecurring: false,
            ..ctx()
        };
        let t = YearTally {
            late_filing_months: 1,
            ..clean()
        };
        assert_eq!(grade(&t, &c).unwrap().grade, TaxGrade::B);
    }

    #[test]
    fn a_young_enterprise_cannot_be_an_a() {
        let c = Context {
            years_in_operation: 2.5,
            ..ctx()
        };
        assert_eq!(grade(&clean(), &c).unwrap().grade, TaxGrade::B);
    }

    #[test]
    fn a_d_last_year_blocks_an_a_this_year() {
        let c = Context {
            previous_grade: Some(TaxGrade::D),
            ..ctx()
        };
        assert_eq!(grade(&clean(), &c).unwrap().grade, TaxGrade::B);
    }

    #[test]
    fn a_new_entity_in_good_standing_is_m() {
        let c = Context {
            new_entity: true,
            years_in_operation: 0.3,
            ..ctx()
        };
        let t = YearTally {
            months_operating: 4,
            ..clean()
        };
        assert_eq!(grade(&t, &c).unwrap().grade, TaxGrade::M);
    }

    #[test]
    fn heavy_arrears_and_concealment_give_a_d_by_score() {
        let t = YearTally {
            arrears_months: 6,
            concealments: 3,
            ..clean()
        };
        let g = grade(&t, &ctx()).unwrap();
        assert_eq!(
            (g.grade, g.score, g.direct_d),
            (TaxGrade::D, Some(37), false)
        );
    }

    #[test]
    fn a_direct_d_event_overrides_the_score() {
        let t = YearTally {
            direct_d: true,
            ..clean()
        };
        assert_eq!(
            grade(&t, &ctx()).unwrap(),
            Grade {
                grade: TaxGrade::D,
                score: None,
                direct_d: true
            }
        );
    }

    #[test]
    fn every_computed_grade_agrees_with_its_score_under_the_feed_rules() {
        for late in 0..15 {
            for new_entity in [false, true] {
                let t = YearTally {
                    late_filing_months: late,
                    ..clean()
                };
                let c = Context {
                    new_entity,
                    ..ctx()
                };
                let g = grade(&t, &c).unwrap();
                g.grade
                    .check_agrees(g.score.map(f64::from), g.direct_d)
                    .unwrap();
            }
        }
    }
}
