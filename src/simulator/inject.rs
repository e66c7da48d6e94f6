//! The broken values `--inject-errors` writes: each one must be rejected by a correct importer,
//! and its reason says why, for the sidecar `injected-errors.csv`.

use chrono::{Datelike, NaiveDate};

use crate::domain::ResidentId;

pub const USCC: (&str, &str) = (
    "uscc",
    "credit code contains the letter I which GB 32100 excludes",
);
pub const HEAD_ID_CHECK: (&str, &str) = ("head_id", "resident id check character is wrong");
pub const GRADE_TAX: (&str, &str) = ("grade", "tax grade E does not exist");
pub const GRADE_FARMER: (&str, &str) = ("grade", "farmer grade AAAA does not exist");
pub const REASON_DATE: &str = "impossible date (30 February)";

/// A credit code with its check character replaced by `I` (the classic 1/I confusion, and a
/// character GB 32100 excludes). A wrong but in-charset check character would not do: importers
/// accept those as early pilot codes with a warning.
pub fn broken_uscc(code: &str) -> String {
    format!("{}I", &code[..17])
}

/// A resident id with a wrong check character (the next one in "10X98765432").
pub fn broken_resident_id(id: &ResidentId) -> String {
    const CHECKS: &str = "10X98765432";
    let s = id.as_str();
    let last = s.as_bytes()[17] as char;
    let i = CHECKS.find(last).expect("valid check character");
    let wrong = CHECKS.as_bytes()[(i + 1) % CHECKS.len()] as char;
    format!("{}{wrong}", &s[..17])
}

/// 30 February of the date's year: looks like a date, is none.
pub fn impossible_date(d: NaiveDate) -> String {
    format!("{:04}-02-30", d.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Uscc;

    #[test]
    fn every_broken_value_is_rejected_by_the_domain_parsers() {
        assert!(Uscc::parse(&broken_uscc("91110000600037341L")).is_err());
        let id = ResidentId::parse_as_of("360426199101010071", chrono::NaiveDate::MAX).unwrap();
        assert!(ResidentId::parse_as_of(&broken_resident_id(&id), chrono::NaiveDate::MAX).is_err());
        let x = ResidentId::parse_as_of("11010519491231002X", chrono::NaiveDate::MAX).unwrap();
        assert!(ResidentId::parse_as_of(&broken_resident_id(&x), chrono::NaiveDate::MAX).is_err());
        assert!(NaiveDate::parse_from_str(
            &impossible_date(NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()),
            "%Y-%m-%d"
        )
        .is_err());
    }
}
