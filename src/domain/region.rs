//! Administrative region codes (行政区划代码, GB/T 2260): six digits. The Zhanjiang codes of
//! domain.md §3 are known by name for display; any other six-digit code is accepted.

use std::fmt;

use super::DomainError;

/// Zhanjiang city and its counties and districts (domain.md §3).
pub const ZHANJIANG: &[(&str, &str)] = &[
    ("440800", "Zhanjiang"),
    ("440802", "Chikan"),
    ("440803", "Xiashan"),
    ("440804", "Potou"),
    ("440811", "Mazhang"),
    ("440823", "Suixi"),
    ("440825", "Xuwen"),
    ("440881", "Lianjiang"),
    ("440882", "Leizhou"),
    ("440883", "Wuchuan"),
];

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode([u8; 6]);

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim();
        let n = s.chars().count();
        if n != 6 {
            return Err(DomainError::Length {
                what: "region code",
                expected: 6,
                found: n,
            });
        }
        let mut bytes = [0u8; 6];
        for (i, c) in s.chars().enumerate() {
            if !c.is_ascii_digit() {
                return Err(DomainError::Character {
                    what: "region code",
                    position: i + 1,
                    found: c,
                    allowed: "digits",
                });
            }
            bytes[i] = c as u8;
        }
        Ok(RegionCode(bytes))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits")
    }

    /// The English name when the code is one of Zhanjiang's (domain.md §3).
    pub fn name(&self) -> Option<&'static str> {
        ZHANJIANG
            .iter()
            .find(|(code, _)| *code == self.as_str())
            .map(|(_, name)| *name)
    }

    pub fn is_zhanjiang(&self) -> bool {
        self.name().is_some()
    }

    /// The counties and districts of Zhanjiang (without the city code itself).
    pub fn zhanjiang_counties() -> impl Iterator<Item = RegionCode> {
        ZHANJIANG
            .iter()
            .skip(1)
            .map(|(code, _)| RegionCode::parse(code).expect("constant"))
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.as_str())
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) if f.alternate() => write!(f, "{} {name}", self.as_str()),
            _ => f.write_str(self.as_str()),
        }
    }
}

impl std::str::FromStr for RegionCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionCode::parse(s)
    }
}

impl serde::Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RegionCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xuwen_is_known_by_name() {
        let xuwen = RegionCode::parse("440825").unwrap();
        assert_eq!(xuwen.name(), Some("Xuwen"));
        assert_eq!(format!("{xuwen:#}"), "440825 Xuwen");
        assert_eq!(xuwen.to_string(), "440825");
    }

    #[test]
    fn a_code_outside_zhanjiang_is_valid_but_unnamed() {
        let beijing = RegionCode::parse("110105").unwrap();
        assert!(!beijing.is_zhanjiang());
    }

    #[test]
    fn zhanjiang_has_nine_counties_and_districts() {
        assert_eq!(RegionCode::zhanjiang_counties().count(), 9);
    }

    #[test]
    fn a_region_code_must_be_six_digits() {
        assert_eq!(
            RegionCode::parse("44082").unwrap_err().to_string(),
            "region code must be 6 characters long, found 5"
        );
        assert!(RegionCode::parse("44082A")
            .unwrap_err()
            .to_string()
            .contains("'A' at position 6"));
    }
}
