use proptest::prelude::*;

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

#[test]
fn the_three_reference_numbers_are_valid() {
    for n in [
        "11010519491231002X",
        "360426199101010071",
        "34052419800101001X",
    ] {
        assert!(ResidentId::parse_as_of(n, today()).is_ok(), "{n}");
    }
}

#[test]
fn the_birth_date_is_read_from_positions_seven_to_fourteen() {
    let id = ResidentId::parse_as_of("11010519491231002X", today()).unwrap();
    assert_eq!(
        id.birth_date(),
        NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
    );
    assert!(!id.is_male());
    assert_eq!(id.address_code(), "110105");
}

#[test]
fn a_lower_case_x_is_accepted_as_the_check_character() {
    assert_eq!(
        ResidentId::parse_as_of("11010519491231002x", today())
            .unwrap()
            .last4(),
        "002X"
    );
}

#[test]
fn a_wrong_check_character_names_the_expected_one() {
    let err = ResidentId::parse_as_of("360426199101010072", today()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "resident id check character is '2', expected '1'"
    );
}

#[test]
fn an_impossible_birth_date_is_rejected() {
    let body = "36042619910230007"; // 30 February
    let n = format!("{body}{}", ResidentId::check_character(body).unwrap());
    let err = ResidentId::parse_as_of(&n, today()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "resident id birth date (characters 7–14) is not a real date"
    );
}

#[test]
fn birth_date_errors_never_repeat_the_date() {
    // With the region code the date is most of an identity number, and these messages reach
    // API responses and the audit trail.
    for (body, date) in [
        ("36042619910230007", "19910230"),
        ("36042620990601007", "20990601"),
        ("36042618991231007", "18991231"),
    ] {
        let n = format!("{body}{}", ResidentId::check_character(body).unwrap());
        let message = ResidentId::parse_as_of(&n, today())
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("resident id birth date"), "{message}");
        assert!(!message.contains(date), "{message}");
        let subject = crate::domain::SubjectId::parse(&n, today())
            .unwrap_err()
            .to_string();
        assert!(!subject.contains(date), "{subject}");
    }
}

#[test]
fn a_birth_date_in_the_future_is_rejected() {
    let body = "36042620260601007";
    let n = format!("{body}{}", ResidentId::check_character(body).unwrap());
    assert!(ResidentId::parse_as_of(&n, today())
        .unwrap_err()
        .to_string()
        .contains("in the future"));
}

#[test]
fn a_birth_date_before_1900_is_rejected() {
    let body = "36042618991231007";
    let n = format!("{body}{}", ResidentId::check_character(body).unwrap());
    assert!(ResidentId::parse_as_of(&n, today())
        .unwrap_err()
        .to_string()
        .contains("before 1900"));
}

#[test]
fn an_x_anywhere_but_the_end_is_rejected() {
    assert!(ResidentId::parse_as_of("3604261991010100X1", today()).is_err());
}

#[test]
fn debug_never_prints_the_number_in_clear() {
    let id = ResidentId::parse_as_of("360426199101010071", today()).unwrap();
    let debug = format!("{id:?}");
    assert_eq!(debug, "ResidentId(**************0071)");
    assert!(!debug.contains("19910101"));
    assert_eq!(id.masked(), "**************0071");
}

fn valid_number() -> impl Strategy<Value = String> {
    (
        "[1-8][0-9]{5}",
        1900i32..2025,
        1u32..=12,
        1u32..=28,
        "[0-9]{3}",
    )
        .prop_map(|(addr, y, m, d, seq)| {
            let body = format!("{addr}{y:04}{m:02}{d:02}{seq}");
            format!("{body}{}", ResidentId::check_character(&body).unwrap())
        })
}

proptest! {
    #[test]
    fn every_generated_valid_number_parses(n in valid_number()) {
        prop_assert!(ResidentId::parse_as_of(&n, today()).is_ok());
    }

    /// mod 11 with weights that are all non-zero mod 11 catches every single-digit change.
    #[test]
    fn every_single_character_change_is_rejected(
        n in valid_number(),
        pos in 0usize..18,
        replacement in prop::sample::select("0123456789X".chars().collect::<Vec<_>>()),
    ) {
        let mut chars: Vec<char> = n.chars().collect();
        prop_assume!(chars[pos] != replacement);
        chars[pos] = replacement;
        let changed: String = chars.into_iter().collect();
        prop_assert!(ResidentId::parse_as_of(&changed, today()).is_err());
    }
}
