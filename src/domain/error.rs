//! The one error type of the domain layer. Every message names the field or character that is
//! wrong, so feed and API errors can pass it on verbatim.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum DomainError {
    #[error("{what} must be {expected} characters long, found {found}")]
    Length {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("{what}: character '{found}' at position {position} is not allowed ({allowed})")]
    Character {
        what: &'static str,
        position: usize,
        found: char,
        allowed: &'static str,
    },
    #[error("{what} check character is '{found}', expected '{expected}'")]
    CheckCharacter {
        what: &'static str,
        found: char,
        expected: char,
    },
    /// The date itself is left out: with the region code it is most of an identity number.
    #[error("resident id birth date (characters 7–14) {reason}")]
    BirthDate { reason: &'static str },
    #[error("unknown {what} '{value}', expected one of: {expected}")]
    Unknown {
        what: &'static str,
        value: String,
        expected: String,
    },
    #[error("{what} score {score} is outside 0–100")]
    ScoreOutOfRange { what: &'static str, score: f64 },
    #[error("{what} {grade} does not agree with score {score} (that score gives {expected})")]
    GradeScoreMismatch {
        what: &'static str,
        grade: &'static str,
        score: f64,
        expected: &'static str,
    },
    #[error("tax grade {grade}: direct_d is only allowed with grade D")]
    DirectDWithoutD { grade: &'static str },
    #[error(
        "subject '{masked}' is neither a resident id ({person}) nor a credit code ({enterprise})"
    )]
    Subject {
        masked: String,
        person: Box<DomainError>,
        enterprise: Box<DomainError>,
    },
}
