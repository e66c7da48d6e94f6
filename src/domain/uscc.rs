//! Unified social credit code (统一社会信用代码, GB 32100-2015), domain.md §5.
//!
//! Pilot codes: some codes issued in the early pilot regions fail the check character yet are
//! legal (`91350100M0001TGQXM`). `Uscc::parse` therefore accepts a well-formed code whose check
//! character (position 18) or organisation-code check (position 17) is wrong, and marks it with
//! `pilot_warning()`. Only the *shape* is a hard error: length, character set, digits in the
//! region code. Because a single changed character always breaks the mod-31 check (31 is prime
//! and every weight is non-zero), a typo in a valid code can never come back as a clean code:
//! it is rejected or flagged. Callers that must not take flagged codes (our own generator's
//! tests, for example) use `Uscc::parse_strict`.

use std::fmt;

use super::{DomainError, RegionCode};

const WHAT: &str = "unified social credit code";
/// Values 0–30 in order (no I, O, Z, S, V).
pub const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// 3^(i−1) mod 31 for positions 1–17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// GB 11714 organisation-code weights for positions 9–16 of the credit code.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc {
    code: String,
    pilot_warning: bool,
}

/// Value of each ASCII byte in `CHARSET` (`NOT_IN_SET` for the rest): a table look-up instead
/// of a search through the character set, as every imported row's code is checked.
const VALUES: [u8; 128] = {
    let mut table = [NOT_IN_SET; 128];
    let set = CHARSET.as_bytes();
    let mut i = 0;
    while i < set.len() {
        table[set[i] as usize] = i as u8;
        i += 1;
    }
    table
};
const NOT_IN_SET: u8 = u8::MAX;

fn value(c: char) -> Option<u32> {
    let v = *VALUES.get(c as usize)?;
    (v != NOT_IN_SET).then_some(u32::from(v))
}

/// GB 11714 value: digits 0–9, then A=10 … Z=35 by alphabet position.
fn org_value(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        _ => c as u32 - 'A' as u32 + 10,
    }
}

impl Uscc {
    /// The 31 characters a credit code may contain, in value order.
    pub const CHARSET: &'static str = CHARSET;

    /// Parses a code; well-formed codes failing a check are accepted with `pilot_warning()`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let code = s.trim().to_ascii_uppercase();
        check_shape(&code)?;
        let pilot_warning = mod31_mismatch(&code).is_some() || org_mismatch(&code).is_some();
        Ok(Uscc {
            code,
            pilot_warning,
        })
    }

    /// Parses a code and rejects any check failure, naming the character that is wrong.
    pub fn parse_strict(s: &str) -> Result<Self, DomainError> {
        let code = s.trim().to_ascii_uppercase();
        check_shape(&code)?;
        if let Some((found, expected)) = mod31_mismatch(&code) {
            return Err(DomainError::CheckCharacter {
                what: WHAT,
                found,
                expected,
            });
        }
        if let Some((found, expected)) = org_mismatch(&code) {
            return Err(DomainError::CheckCharacter {
                what: "organisation code",
                found,
                expected,
            });
        }
        Ok(Uscc {
            code,
            pilot_warning: false,
        })
    }

    /// The check character (position 18) for the first 17 characters, which must be in the
    /// code's character set.
    pub fn check_character(first17: &str) -> Result<char, DomainError> {
        if first17.chars().count() != 17 {
            return Err(DomainError::Length {
                what: "credit code body",
                expected: 17,
                found: first17.chars().count(),
            });
        }
        let mut sum = 0;
        for (i, (c, w)) in first17.chars().zip(WEIGHTS).enumerate() {
            let v = value(c).ok_or(DomainError::Character {
                what: WHAT,
                position: i + 1,
                found: c,
                allowed: CHARSET,
            })?;
            sum += v * w;
        }
        let check = (31 - sum % 31) % 31;
        Ok(CHARSET.as_bytes()[check as usize] as char)
    }

    /// The GB 11714 organisation-code check character (position 17) for positions 9–16.
    pub fn org_check_character(org8: &str) -> Result<char, DomainError> {
        if org8.chars().count() != 8 {
            return Err(DomainError::Length {
                what: "organisation code body",
                expected: 8,
                found: org8.chars().count(),
            });
        }
        let mut sum = 0;
        for (i, (c, w)) in org8.chars().zip(ORG_WEIGHTS).enumerate() {
            if !c.is_ascii_digit() && !c.is_ascii_uppercase() {
                return Err(DomainError::Character {
                    what: "organisation code",
                    position: i + 1,
                    found: c,
                    allowed: "0-9 A-Z",
                });
            }
            sum += org_value(c) * w;
        }
        Ok(match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10).expect("n < 10"),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The code as text, without copying it.
    pub fn into_string(self) -> String {
        self.code
    }

    /// True when the code failed a check and was accepted only as a possible early pilot code.
    pub fn pilot_warning(&self) -> bool {
        self.pilot_warning
    }

    /// Positions 3–8: the registering region.
    pub fn region_code(&self) -> RegionCode {
        RegionCode::parse(&self.code[2..8]).expect("shape check guarantees six digits")
    }

    /// `9144************7X`: the first 4 and last 2 characters.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.code[..4], "*".repeat(12), &self.code[16..])
    }
}

fn check_shape(code: &str) -> Result<(), DomainError> {
    let n = code.chars().count();
    if n != 18 {
        return Err(DomainError::Length {
            what: WHAT,
            expected: 18,
            found: n,
        });
    }
    for (i, c) in code.chars().enumerate() {
        if value(c).is_none() {
            return Err(DomainError::Character {
                what: WHAT,
                position: i + 1,
                found: c,
                allowed: CHARSET,
            });
        }
        if (2..8).contains(&i) && !c.is_ascii_digit() {
            return Err(DomainError::Character {
                what: "credit code region",
                position: i + 1,
                found: c,
                allowed: "digits",
            });
        }
    }
    Ok(())
}

/// `Some((found, expected))` when position 18 is wrong. Assumes `check_shape` passed.
fn mod31_mismatch(code: &str) -> Option<(char, char)> {
    let expected = Uscc::check_character(&code[..17]).expect("shape checked");
    let found = code.as_bytes()[17] as char;
    (found != expected).then_some((found, expected))
}

/// `Some((found, expected))` when position 17 is not the organisation-code check of 9–16.
fn org_mismatch(code: &str) -> Option<(char, char)> {
    let expected = Uscc::org_check_character(&code[8..16]).expect("shape checked");
    let found = code.as_bytes()[16] as char;
    (found != expected).then_some((found, expected))
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credit codes are public (printed on every business licence), so Debug shows them.
        f.debug_struct("Uscc")
            .field("code", &self.code)
            .field("pilot_warning", &self.pilot_warning)
            .finish()
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl std::str::FromStr for Uscc {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

impl TryFrom<&str> for Uscc {
    type Error = DomainError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Uscc::parse(s)
    }
}

impl serde::Serialize for Uscc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code)
    }
}

impl<'de> serde::Deserialize<'de> for Uscc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Uscc::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "uscc_tests.rs"]
mod tests;
