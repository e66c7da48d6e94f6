use proptest::prelude::*;

use super::*;

#[test]
fn the_reference_code_from_the_standard_is_valid_and_clean() {
    let code = Uscc::parse("91110000600037341L").unwrap();
    assert!(!code.pilot_warning());
    assert_eq!(code.as_str(), "91110000600037341L");
    assert_eq!(code.region_code().as_str(), "110000");
    assert!(Uscc::parse_strict("91110000600037341L").is_ok());
}

#[test]
fn the_early_pilot_code_is_accepted_with_a_warning() {
    let code = Uscc::parse("91350100M0001TGQXM").unwrap();
    assert!(code.pilot_warning());
}

#[test]
fn strict_parsing_rejects_the_pilot_code_naming_both_characters() {
    let err = Uscc::parse_strict("91350100M0001TGQXM").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unified social credit code check character is 'M', expected '1'"
    );
}

#[test]
fn a_wrong_check_character_is_named_with_the_expected_one() {
    let err = Uscc::parse_strict("91110000600037341K").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unified social credit code check character is 'K', expected 'L'"
    );
}

#[test]
fn the_check_character_is_computed_from_the_first_seventeen() {
    assert_eq!(Uscc::check_character("91110000600037341").unwrap(), 'L');
    assert_eq!(Uscc::org_check_character("60003734").unwrap(), '1');
}

#[test]
fn a_code_of_the_wrong_length_is_rejected() {
    let err = Uscc::parse("91110000600037341").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unified social credit code must be 18 characters long, found 17"
    );
}

#[test]
fn letters_outside_the_charset_are_rejected_with_their_position() {
    // 'I' is excluded from the character set to avoid confusion with '1'.
    let err = Uscc::parse("91110000600037341I").unwrap_err();
    assert!(
        err.to_string().contains("character 'I' at position 18"),
        "{err}"
    );
}

#[test]
fn a_region_code_with_a_letter_is_malformed_not_a_pilot_code() {
    assert!(Uscc::parse("9111A000600037341L").is_err());
}

#[test]
fn lower_case_input_is_normalised() {
    assert_eq!(
        Uscc::parse("91110000600037341l").unwrap().as_str(),
        "91110000600037341L"
    );
}

#[test]
fn the_masked_form_keeps_four_leading_and_two_trailing_characters() {
    assert_eq!(
        Uscc::parse("91110000600037341L").unwrap().masked(),
        "9111************1L"
    );
}

/// Builds a valid code from a body: authority, type, region digits, 8 organisation characters.
fn valid_code() -> impl Strategy<Value = String> {
    let org_chars: Vec<char> = "0123456789ABCDEFGHJKLMNPQRTUWXY".chars().collect();
    (
        prop::sample::select(vec!['1', '5', '9', 'Y']),
        prop::sample::select(vec!['1', '2', '3']),
        "[0-9]{6}",
        prop::collection::vec(prop::sample::select(org_chars), 8),
    )
        .prop_map(|(a, t, region, org)| {
            let org: String = org.into_iter().collect();
            let org_check = Uscc::org_check_character(&org).unwrap();
            let first17 = format!("{a}{t}{region}{org}{org_check}");
            let check = Uscc::check_character(&first17).unwrap();
            format!("{first17}{check}")
        })
}

proptest! {
    #[test]
    fn every_generated_valid_code_parses_clean(code in valid_code()) {
        let parsed = Uscc::parse(&code).unwrap();
        prop_assert!(!parsed.pilot_warning());
        prop_assert!(Uscc::parse_strict(&code).is_ok());
    }

    /// The design choice (module docs): a single changed character is rejected outright by
    /// `parse_strict`, and `parse` never returns it as a clean code.
    #[test]
    fn every_single_character_change_is_never_a_clean_code(
        code in valid_code(),
        pos in 0usize..18,
        replacement in prop::sample::select(CHARSET.chars().chain("IOZSV-a".chars()).collect::<Vec<_>>()),
    ) {
        let mut chars: Vec<char> = code.chars().collect();
        prop_assume!(chars[pos] != replacement && chars[pos] != replacement.to_ascii_uppercase());
        chars[pos] = replacement;
        let changed: String = chars.into_iter().collect();
        prop_assert!(Uscc::parse_strict(&changed).is_err());
        if let Ok(parsed) = Uscc::parse(&changed) {
            prop_assert!(parsed.pilot_warning());
        }
    }
}
