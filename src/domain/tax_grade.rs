//! Taxpayer credit grade (纳税信用等级), domain.md §2.

use super::enums::string_enum;
use super::DomainError;

string_enum! {
    /// The annual grade the tax bureau publishes.
    TaxGrade, "tax grade" {
        /// Score ≥ 90.
        A => "A",
        /// 70 ≤ score < 90.
        B => "B",
        /// New entity, or no operating revenue with score ≥ 70.
        M => "M",
        /// 40 ≤ score < 70.
        C => "C",
        /// Score < 40, or a direct D.
        D => "D",
    }
}

impl TaxGrade {
    /// The band a deduction-method score falls in. M is never returned: it depends on facts
    /// (new entity, no revenue) that the score alone does not carry.
    pub fn from_score(score: f64) -> TaxGrade {
        if score >= 90.0 {
            TaxGrade::A
        } else if score >= 70.0 {
            TaxGrade::B
        } else if score >= 40.0 {
            TaxGrade::C
        } else {
            TaxGrade::D
        }
    }

    /// Checks that a published (grade, score, direct_d) triple is consistent: direct D only with
    /// D (and then any score), M with a score of at least 70, B also with an A-band score (an
    /// entity barred from A that year), every other grade in its band.
    pub fn check_agrees(self, score: Option<f64>, direct_d: bool) -> Result<(), DomainError> {
        if direct_d {
            return if self == TaxGrade::D {
                Ok(())
            } else {
                Err(DomainError::DirectDWithoutD {
                    grade: self.as_str(),
                })
            };
        }
        let Some(score) = score else { return Ok(()) };
        if !(0.0..=100.0).contains(&score) {
            return Err(DomainError::ScoreOutOfRange {
                what: "tax grade",
                score,
            });
        }
        let band = TaxGrade::from_score(score);
        let agrees = match self {
            TaxGrade::M => score >= 70.0,
            // "Cannot be A this year" (under 3 years in operation, D the year before, long runs
            // of zero filings): a score in the A band is then published as B.
            TaxGrade::B => band == TaxGrade::A || band == TaxGrade::B,
            grade => grade == band,
        };
        if agrees {
            Ok(())
        } else {
            let expected = if self == TaxGrade::M {
                "below 70, not M"
            } else {
                band.as_str()
            };
            Err(DomainError::GradeScoreMismatch {
                what: "tax grade",
                grade: self.as_str(),
                score,
                expected,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_edges_fall_in_the_higher_grade() {
        assert_eq!(TaxGrade::from_score(90.0), TaxGrade::A);
        assert_eq!(TaxGrade::from_score(89.99), TaxGrade::B);
        assert_eq!(TaxGrade::from_score(70.0), TaxGrade::B);
        assert_eq!(TaxGrade::from_score(69.5), TaxGrade::C);
        assert_eq!(TaxGrade::from_score(40.0), TaxGrade::C);
        assert_eq!(TaxGrade::from_score(39.0), TaxGrade::D);
    }

    #[test]
    fn a_direct_d_may_carry_any_score() {
        assert!(TaxGrade::D.check_agrees(Some(95.0), true).is_ok());
    }

    #[test]
    fn direct_d_with_another_grade_is_rejected() {
        let err = TaxGrade::B.check_agrees(Some(80.0), true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tax grade B: direct_d is only allowed with grade D"
        );
    }

    #[test]
    fn a_grade_outside_its_band_names_the_band_of_the_score() {
        let err = TaxGrade::A.check_agrees(Some(85.0), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tax grade A does not agree with score 85 (that score gives B)"
        );
    }

    #[test]
    fn an_entity_barred_from_a_may_be_published_as_b_with_an_a_band_score() {
        assert!(TaxGrade::B.check_agrees(Some(96.0), false).is_ok());
        assert!(
            TaxGrade::C.check_agrees(Some(96.0), false).is_err(),
            "only B stands in for A"
        );
        assert!(TaxGrade::B.check_agrees(Some(60.0), false).is_err());
    }

    #[test]
    fn m_needs_a_score_of_at_least_seventy() {
        assert!(TaxGrade::M.check_agrees(Some(92.0), false).is_ok());
        assert!(TaxGrade::M.check_agrees(Some(65.0), false).is_err());
        assert!(TaxGrade::M.check_agrees(None, false).is_ok());
    }

    #[test]
    fn scores_outside_zero_to_a_hundred_are_rejected() {
        assert!(TaxGrade::A.check_agrees(Some(101.0), false).is_err());
    }

    #[test]
    fn grades_parse_from_their_letters_only() {
        assert_eq!("M".parse::<TaxGrade>().unwrap(), TaxGrade::M);
        assert!("E"
            .parse::<TaxGrade>()
            .unwrap_err()
            .to_string()
            .contains("A, B, M, C, D"));
        assert_eq!(serde_json::to_string(&TaxGrade::D).unwrap(), "\"D\"");
    }
}
