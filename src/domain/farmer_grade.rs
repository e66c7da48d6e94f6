//! Farmer household credit grade (农户信用等级), domain.md §3: AAA ≥ 80, AA 70–<80, A 60–<70,
//! below 60 not a credit household ("none").

use super::enums::string_enum;
use super::DomainError;

string_enum! {
    /// A household's annual credit grade.
    FarmerGrade, "farmer grade" {
        Aaa => "AAA",
        Aa => "AA",
        A => "A",
        /// Below the credit-household line (score < 60).
        BelowLine => "none",
    }
}

impl FarmerGrade {
    pub fn from_score(score: f64) -> FarmerGrade {
        if score >= 80.0 {
            FarmerGrade::Aaa
        } else if score >= 70.0 {
            FarmerGrade::Aa
        } else if score >= 60.0 {
            FarmerGrade::A
        } else {
            FarmerGrade::BelowLine
        }
    }

    /// A credit household (信用户) is graded A or better.
    pub fn is_credit_household(self) -> bool {
        self != FarmerGrade::BelowLine
    }

    /// Checks that an assessment's grade agrees with its 100-point score.
    pub fn check_agrees(self, score: f64) -> Result<(), DomainError> {
        if !(0.0..=100.0).contains(&score) {
            return Err(DomainError::ScoreOutOfRange {
                what: "farmer assessment",
                score,
            });
        }
        let expected = FarmerGrade::from_score(score);
        if expected == self {
            Ok(())
        } else {
            Err(DomainError::GradeScoreMismatch {
                what: "farmer grade",
                grade: self.as_str(),
                score,
                expected: expected.as_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_map_to_the_common_band_set() {
        assert_eq!(FarmerGrade::from_score(80.0), FarmerGrade::Aaa);
        assert_eq!(FarmerGrade::from_score(79.9), FarmerGrade::Aa);
        assert_eq!(FarmerGrade::from_score(60.0), FarmerGrade::A);
        assert_eq!(FarmerGrade::from_score(59.9), FarmerGrade::BelowLine);
    }

    #[test]
    fn below_the_line_displays_as_none_and_is_not_a_credit_household() {
        assert_eq!(FarmerGrade::BelowLine.to_string(), "none");
        assert_eq!(
            "none".parse::<FarmerGrade>().unwrap(),
            FarmerGrade::BelowLine
        );
        assert!(!FarmerGrade::BelowLine.is_credit_household());
        assert!(FarmerGrade::A.is_credit_household());
    }

    #[test]
    fn a_grade_that_disagrees_with_its_score_is_rejected() {
        let err = FarmerGrade::Aaa.check_agrees(72.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "farmer grade AAA does not agree with score 72 (that score gives AA)"
        );
    }
}
