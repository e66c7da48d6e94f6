//! Finding a value's bin: built once from a [`Binning`] (validating its layout) and shared by
//! training and scoring.

use std::collections::HashMap;

use rayon::prelude::*;

use super::{BinRule, Binning, Kind};
use crate::error::{Result, TrainingError};
use crate::frame::{ColumnData, MISSING_CODE};

/// Finds a value's bin. Built from a [`Binning`], validating its layout.
#[derive(Debug, Clone)]
pub enum Locator {
    Numeric {
        cuts: Vec<f64>,
        specials: Vec<(f64, u8)>,
        missing: u8,
    },
    Categorical {
        map: HashMap<String, u8>,
        missing: u8,
        unseen: u8,
    },
}

impl Locator {
    pub fn new(b: &Binning) -> Result<Self> {
        let invalid = |reason: String| TrainingError::InvalidArtifact {
            reason: format!("characteristic `{}`: {reason}", b.name),
        };
        if b.bins.is_empty() || b.bins.len() > 250 {
            return Err(invalid(format!("{} bins", b.bins.len())));
        }
        let (mut missing, mut unseen) = (None, None);
        let mut specials = Vec::new();
        let mut ranges = Vec::new();
        let mut map = HashMap::new();
        for (i, bin) in b.bins.iter().enumerate() {
            let i = i as u8;
            match (&bin.rule, b.kind) {
                (BinRule::Missing, _) if missing.is_none() => missing = Some(i),
                (BinRule::Range { lower, upper }, Kind::Numeric) => ranges.push((*lower, *upper)),
                (BinRule::Special { value }, Kind::Numeric) => specials.push((*value, i)),
                (BinRule::Unseen, Kind::Categorical) if unseen.is_none() => unseen = Some(i),
                (BinRule::Categories { values }, Kind::Categorical) => {
                    for v in values {
                        if map.insert(v.clone(), i).is_some() {
                            return Err(invalid(format!("category `{v}` in two bins")));
                        }
                    }
                }
                (rule, kind) => {
                    return Err(invalid(format!(
                        "unexpected bin {rule:?} in a {kind:?} characteristic"
                    )))
                }
            }
        }
        let missing = missing.ok_or_else(|| invalid("no missing bin".into()))?;
        match b.kind {
            Kind::Categorical => Ok(Locator::Categorical {
                map,
                missing,
                unseen: unseen.ok_or_else(|| invalid("no unseen bin".into()))?,
            }),
            Kind::Numeric => {
                let contiguous = !ranges.is_empty()
                    && ranges[0].0.is_none()
                    && ranges[ranges.len() - 1].1.is_none()
                    && ranges
                        .windows(2)
                        .all(|w| matches!((w[0].1, w[1].0), (Some(u), Some(l)) if u == l))
                    && ranges
                        .windows(2)
                        .all(|w| w[0].0.zip(w[0].1).is_none_or(|(l, u)| l < u));
                // Regular ranges must come first so that their index equals their position.
                let first = b
                    .bins
                    .iter()
                    .take(ranges.len())
                    .all(|x| matches!(x.rule, BinRule::Range { .. }));
                if !contiguous || !first {
                    return Err(invalid(
                        "numeric ranges must come first, ascending and contiguous".into(),
                    ));
                }
                let cuts = ranges[1..].iter().filter_map(|r| r.0).collect();
                Ok(Locator::Numeric {
                    cuts,
                    specials,
                    missing,
                })
            }
        }
    }

    /// Bin of a number (`NaN` = missing).
    #[inline]
    pub fn numeric(&self, x: f64) -> usize {
        match self {
            Locator::Numeric {
                cuts,
                specials,
                missing,
            } => {
                if x.is_nan() {
                    return *missing as usize;
                }
                for &(v, i) in specials {
                    if x == v {
                        return i as usize;
                    }
                }
                cuts.partition_point(|c| *c <= x)
            }
            Locator::Categorical { .. } => unreachable!("numeric lookup on a categorical locator"),
        }
    }

    /// Bin of a category (`None` = missing).
    #[inline]
    pub fn category(&self, v: Option<&str>) -> usize {
        match self {
            Locator::Categorical {
                map,
                missing,
                unseen,
            } => match v {
                None => *missing as usize,
                Some(v) => *map.get(v).unwrap_or(unseen) as usize,
            },
            Locator::Numeric { .. } => unreachable!("category lookup on a numeric locator"),
        }
    }

    /// Bin index of every row of a column.
    pub fn assign(&self, name: &str, data: &ColumnData) -> Result<Vec<u8>> {
        match (self, data) {
            (Locator::Numeric { .. }, ColumnData::Numeric(v)) => Ok(v
                .par_iter()
                .map(|&x| self.numeric(x) as u8)
                .with_min_len(4096)
                .collect()),
            (Locator::Categorical { .. }, ColumnData::Categorical(c)) => {
                let level_bins: Vec<u8> = c
                    .levels
                    .iter()
                    .map(|l| self.category(Some(l)) as u8)
                    .collect();
                let missing = self.category(None) as u8;
                Ok(c.codes
                    .iter()
                    .map(|&k| {
                        if k == MISSING_CODE {
                            missing
                        } else {
                            level_bins[k as usize]
                        }
                    })
                    .collect())
            }
            (Locator::Numeric { .. }, _) => Err(TrainingError::ValueKind {
                name: name.to_owned(),
                expected: "numeric",
            }),
            (Locator::Categorical { .. }, _) => Err(TrainingError::ValueKind {
                name: name.to_owned(),
                expected: "categorical",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::bin_numeric;
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn locator_follows_the_bins_and_special_values_get_their_own() {
        let x: Vec<f64> = (0..1000)
            .map(|i| {
                if i % 50 == 0 {
                    -1.0
                } else {
                    f64::from(i % 100)
                }
            })
            .collect();
        let y: Vec<bool> = (0..1000).map(|i| (i % 100) < 30 || i % 7 == 0).collect();
        let s = Settings::default().special_values(vec![-1.0]);
        let bn = bin_numeric("x", &x, &y, &s);
        assert!(bn
            .bins
            .iter()
            .any(|b| b.rule == BinRule::Special { value: -1.0 }));
        let loc = Locator::new(&bn).unwrap();
        let idx = loc.assign("x", &ColumnData::Numeric(x.clone())).unwrap();
        for (i, &v) in x.iter().enumerate() {
            let rule = &bn.bins[idx[i] as usize].rule;
            let inside = match rule {
                BinRule::Range { lower, upper } => {
                    lower.is_none_or(|l| v >= l) && upper.is_none_or(|u| v < u)
                }
                BinRule::Special { value } => *value == v,
                _ => false,
            };
            assert!(inside, "{v} in {rule:?}");
        }
        assert_eq!(loc.numeric(f64::NAN), bn.bins.len() - 1);
    }
}
