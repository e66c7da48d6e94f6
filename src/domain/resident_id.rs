//! Resident identity number (居民身份证号码, GB 11643-1999), domain.md §5.
//!
//! It is sensitive personal information: there is no `Display`, `Debug` is masked, and the
//! clear number is reachable only through the explicitly named `as_str()` (for keyed hashing).

use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::DomainError;

const WHAT: &str = "resident id";
/// 2^(18−i) mod 11 for positions 1–17.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECKS: &[u8; 11] = b"10X98765432";

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId {
    number: String,
    birth_date: NaiveDate,
}

impl ResidentId {
    /// Parses and checks a number. `today` is the caller's day, from its clock (a feed's
    /// receipt, a request's): a birth date after it is refused. No wall clock is read here, so
    /// tests and replays decide what "the future" is.
    pub fn parse_as_of(s: &str, today: NaiveDate) -> Result<Self, DomainError> {
        let number = s.trim().to_ascii_uppercase();
        let n = number.chars().count();
        if n != 18 {
            return Err(DomainError::Length {
                what: WHAT,
                expected: 18,
                found: n,
            });
        }
        for (i, c) in number.chars().enumerate() {
            let ok = c.is_ascii_digit() || (i == 17 && c == 'X');
            if !ok {
                let allowed = if i == 17 { "digits or X" } else { "digits" };
                // The character itself is not sensitive on its own; the position helps fix typos.
                return Err(DomainError::Character {
                    what: WHAT,
                    position: i + 1,
                    found: c,
                    allowed,
                });
            }
        }
        let birth_date = birth_date(&number, today)?;
        let expected = Self::check_character(&number[..17])?;
        let found = number.as_bytes()[17] as char;
        if found != expected {
            return Err(DomainError::CheckCharacter {
                what: WHAT,
                found,
                expected,
            });
        }
        Ok(ResidentId { number, birth_date })
    }

    /// The check character for the first 17 digits.
    pub fn check_character(first17: &str) -> Result<char, DomainError> {
        let n = first17.chars().count();
        if n != 17 {
            return Err(DomainError::Length {
                what: "resident id body",
                expected: 17,
                found: n,
            });
        }
        let mut sum = 0;
        for (i, (c, w)) in first17.chars().zip(WEIGHTS).enumerate() {
            let d = c.to_digit(10).ok_or(DomainError::Character {
                what: WHAT,
                position: i + 1,
                found: c,
                allowed: "digits",
            })?;
            sum += d * w;
        }
        Ok(CHECKS[(sum % 11) as usize] as char)
    }

    /// The number in clear. Named explicitly so every use (keyed hashing) is easy to audit.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// The last 4 characters: the most that may be stored or shown (domain.md §5).
    pub fn last4(&self) -> &str {
        &self.number[14..]
    }

    /// `**************0071`: only the last 4 characters, as domain.md §5 allows for display.
    pub fn masked(&self) -> String {
        format!("{}{}", "*".repeat(14), self.last4())
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Positions 1–6: the address code where the number was issued.
    pub fn address_code(&self) -> &str {
        &self.number[..6]
    }

    /// Odd sequence numbers are issued to men, even ones to women.
    pub fn is_male(&self) -> bool {
        (self.number.as_bytes()[16] - b'0') % 2 == 1
    }
}

fn birth_date(number: &str, today: NaiveDate) -> Result<NaiveDate, DomainError> {
    let (y, m, d) = (&number[6..10], &number[10..12], &number[12..14]);
    let date = NaiveDate::from_ymd_opt(
        y.parse().unwrap_or(0),
        m.parse().unwrap_or(0),
        d.parse().unwrap_or(0),
    )
    .ok_or(DomainError::BirthDate {
        reason: "is not a real date",
    })?;
    if date.year() < 1900 {
        return Err(DomainError::BirthDate {
            reason: "is before 1900",
        });
    }
    if date > today {
        return Err(DomainError::BirthDate {
            reason: "is in the future",
        });
    }
    Ok(date)
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

#[cfg(test)]
#[path = "resident_id_tests.rs"]
mod tests;
