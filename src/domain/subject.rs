//! Whom a score is about: an enterprise (credit code) or a person (resident id).

use std::fmt;

use chrono::NaiveDate;

use super::{DomainError, ResidentId, Uscc};

#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SubjectId {
    Enterprise(Uscc),
    Person(ResidentId),
}

impl SubjectId {
    /// Tells the two identifiers apart by shape: 17 digits followed by a digit or X is read as a
    /// resident id first (a credit code that is all digits and also passes the resident-id check
    /// and birth-date rules is vanishingly rare; use `enterprise`/`person` when the subject type
    /// is known).
    /// `today` is the caller's (its clock's) day: a birth date after it is refused.
    pub fn parse(s: &str, today: NaiveDate) -> Result<Self, DomainError> {
        let t = s.trim();
        let looks_personal = t.len() == 18
            && t.bytes().take(17).all(|b| b.is_ascii_digit())
            && matches!(t.as_bytes()[17], b'0'..=b'9' | b'X' | b'x');
        if !looks_personal {
            return Uscc::parse(t).map(SubjectId::Enterprise);
        }
        // A resident-id-shaped string that fails the resident-id rules is far more likely a
        // mistyped identity number than an all-digit pilot credit code, so only a credit code
        // that passes its own checks cleanly is taken as an enterprise here.
        match ResidentId::parse_as_of(t, today) {
            Ok(id) => Ok(SubjectId::Person(id)),
            Err(person) => match Uscc::parse_strict(t) {
                Ok(code) => Ok(SubjectId::Enterprise(code)),
                Err(enterprise) => Err(DomainError::Subject {
                    masked: mask_raw(t),
                    person: Box::new(person),
                    enterprise: Box::new(enterprise),
                }),
            },
        }
    }

    pub fn enterprise(s: &str) -> Result<Self, DomainError> {
        Uscc::parse(s).map(SubjectId::Enterprise)
    }

    pub fn person(s: &str, today: NaiveDate) -> Result<Self, DomainError> {
        ResidentId::parse_as_of(s, today).map(SubjectId::Person)
    }

    /// What a partner should know about the identifier itself, as stable codes: today only
    /// [`PILOT_CREDIT_CODE`], a credit code that fails a check yet is accepted as a possible
    /// early pilot code (domain.md §5: "accept with a warning flag rather than reject").
    pub fn warnings(&self) -> Vec<String> {
        match self {
            SubjectId::Enterprise(code) if code.pilot_warning() => {
                vec![PILOT_CREDIT_CODE.to_owned()]
            }
            _ => Vec::new(),
        }
    }

    /// `enterprise` or `person`, as in the public-records feed.
    /// The identifier as parsed (normalised): what the keyed hash is taken of.
    pub fn as_str(&self) -> &str {
        match self {
            SubjectId::Enterprise(code) => code.as_str(),
            SubjectId::Person(id) => id.as_str(),
        }
    }

    /// The last 4 characters: all an audit entry keeps in clear.
    pub fn last4(&self) -> &str {
        let s = self.as_str();
        &s[s.len().saturating_sub(4)..]
    }

    pub fn subject_type(&self) -> &'static str {
        match self {
            SubjectId::Enterprise(_) => "enterprise",
            SubjectId::Person(_) => "person",
        }
    }

    /// The form shown to people and stored: `9144************7X` for a credit code,
    /// `**************0071` for a resident id.
    pub fn masked(&self) -> String {
        match self {
            SubjectId::Enterprise(code) => code.masked(),
            SubjectId::Person(id) => id.masked(),
        }
    }
}

/// The warning for a credit code accepted although it fails its check character.
pub const PILOT_CREDIT_CODE: &str = "pilot_credit_code";

/// Masks unparsed input for error messages: it may be a mistyped identity number.
fn mask_raw(s: &str) -> String {
    let n = s.chars().count();
    let tail: String = s.chars().skip(n.saturating_sub(2)).collect();
    format!("{}{tail}", "*".repeat(n.saturating_sub(2)))
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectId({})", self.masked())
    }
}

impl fmt::Display for SubjectId {
    /// Always the masked form, so a subject can be logged without leaking an identity number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    #[test]
    fn a_credit_code_is_an_enterprise_subject() {
        let s = SubjectId::parse("91110000600037341L", today()).unwrap();
        assert_eq!(s.subject_type(), "enterprise");
        assert_eq!(s.masked(), "9111************1L");
    }

    #[test]
    fn a_resident_id_is_a_person_subject_and_displays_masked() {
        let s = SubjectId::parse("360426199101010071", today()).unwrap();
        assert_eq!(s.subject_type(), "person");
        assert_eq!(s.to_string(), "**************0071");
        assert!(!format!("{s:?}").contains("3604261991"));
    }

    #[test]
    fn an_invalid_subject_names_both_readings_without_echoing_the_number() {
        let err = SubjectId::parse("360426199101010072", today())
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected '1'"), "{err}");
        assert!(!err.contains("3604261991"), "{err}");
    }

    #[test]
    fn the_pilot_credit_code_is_still_an_enterprise_subject() {
        let s = SubjectId::parse("91350100M0001TGQXM", today()).unwrap();
        assert!(matches!(s, SubjectId::Enterprise(ref c) if c.pilot_warning()));
    }
}
