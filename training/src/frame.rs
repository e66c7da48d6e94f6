//! The columnar training frame: one vector per characteristic plus the target. Categorical
//! columns are dictionary-encoded (a level table plus `u32` codes) because a million rows of
//! `Option<String>` would cost several times the memory of the numbers they sit beside.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainingError};

/// Code of a missing categorical cell.
pub const MISSING_CODE: u32 = u32::MAX;

/// Stable reason code and bilingual sentence for one characteristic, carried into the artifact
/// so that served reasons never change wording between retrains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharacteristicMeta {
    pub code: String,
    pub text_en: String,
    pub text_zh: String,
}

impl CharacteristicMeta {
    /// Generated metadata for data that comes without any (the generic CSV `train` command):
    /// the code is `CB-` plus the upper-cased column name, the texts name the column.
    pub fn generated(name: &str) -> Self {
        let code: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        CharacteristicMeta {
            code: format!("CB-{code}"),
            text_en: format!("The value of {name} is in a riskier range than its best range"),
            text_zh: format!("{name} 的取值处于风险较高的区间"),
        }
    }
}

/// A dictionary-encoded categorical column: `codes[i]` indexes `levels`, or is [`MISSING_CODE`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CategoricalData {
    pub levels: Vec<String>,
    pub codes: Vec<u32>,
    index: HashMap<String, u32>,
}

impl CategoricalData {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one cell; `None` is missing.
    pub fn push(&mut self, value: Option<&str>) {
        let code = match value {
            None => MISSING_CODE,
            // A few levels: comparing the strings beats hashing them (most credit categoricals
            // have a handful of levels, and this runs once per cell).
            Some(v) if self.levels.len() <= 16 => match self.levels.iter().position(|l| l == v) {
                Some(c) => c as u32,
                None => {
                    let c = self.levels.len() as u32;
                    self.levels.push(v.to_owned());
                    self.index.insert(v.to_owned(), c);
                    c
                }
            },
            Some(v) => match self.index.get(v) {
                Some(&c) => c,
                None => {
                    let c = self.levels.len() as u32;
                    self.levels.push(v.to_owned());
                    self.index.insert(v.to_owned(), c);
                    c
                }
            },
        };
        self.codes.push(code);
    }

    pub fn from_options<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = Option<S>>,
        S: AsRef<str>,
    {
        let mut data = Self::new();
        for v in values {
            data.push(v.as_ref().map(|s| s.as_ref()));
        }
        data
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The level of row `i`, `None` when missing.
    pub fn get(&self, i: usize) -> Option<&str> {
        match self.codes[i] {
            MISSING_CODE => None,
            c => Some(self.levels[c as usize].as_str()),
        }
    }

    fn take(&self, rows: &[usize]) -> Self {
        CategoricalData {
            levels: self.levels.clone(),
            codes: rows.iter().map(|&r| self.codes[r]).collect(),
            index: self.index.clone(),
        }
    }
}

/// The values of one characteristic.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Numbers; `NaN` is missing.
    Numeric(Vec<f64>),
    Categorical(CategoricalData),
}

impl ColumnData {
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Categorical(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One named characteristic with optional reason metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data: ColumnData,
    pub meta: Option<CharacteristicMeta>,
}

impl Column {
    pub fn numeric(name: impl Into<String>, values: Vec<f64>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Numeric(values),
            meta: None,
        }
    }

    pub fn categorical<I, S>(name: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = Option<S>>,
        S: AsRef<str>,
    {
        let data = ColumnData::Categorical(CategoricalData::from_options(values));
        Column {
            name: name.into(),
            data,
            meta: None,
        }
    }

    pub fn with_meta(mut self, meta: CharacteristicMeta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// The metadata given, or generated from the name.
    pub fn meta_or_generated(&self) -> CharacteristicMeta {
        self.meta
            .clone()
            .unwrap_or_else(|| CharacteristicMeta::generated(&self.name))
    }
}

/// Training data: characteristics column by column and the target, `true` = bad.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub columns: Vec<Column>,
    /// `true` marks a bad (the event the model predicts).
    pub target: Vec<bool>,
    /// SHA-256 of the source file, recorded in the artifact so the model can be traced to it.
    pub source_sha256: Option<String>,
}

impl Frame {
    pub fn new(columns: Vec<Column>, target: Vec<bool>) -> Self {
        Frame {
            columns,
            target,
            source_sha256: None,
        }
    }

    pub fn n_rows(&self) -> usize {
        self.target.len()
    }

    pub fn n_bads(&self) -> usize {
        self.target.iter().filter(|&&b| b).count()
    }

    /// Checks shapes, names and that both classes are present.
    pub fn validate(&self) -> Result<()> {
        let n = self.n_rows();
        if n == 0 {
            return Err(TrainingError::EmptyData);
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.columns {
            if c.data.len() != n {
                return Err(TrainingError::LengthMismatch {
                    column: c.name.clone(),
                    len: c.data.len(),
                    expected: n,
                });
            }
            if !seen.insert(c.name.as_str()) {
                return Err(TrainingError::DuplicateColumn {
                    column: c.name.clone(),
                });
            }
        }
        let bads = self.n_bads();
        if bads == 0 {
            return Err(TrainingError::OneClass {
                missing: "bads",
                rows: n,
            });
        }
        if bads == n {
            return Err(TrainingError::OneClass {
                missing: "goods",
                rows: n,
            });
        }
        Ok(())
    }

    /// The rows listed, in that order.
    pub fn take(&self, rows: &[usize]) -> Frame {
        let columns = self
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                meta: c.meta.clone(),
                data: match &c.data {
                    ColumnData::Numeric(v) => {
                        ColumnData::Numeric(rows.iter().map(|&r| v[r]).collect())
                    }
                    ColumnData::Categorical(cat) => ColumnData::Categorical(cat.take(rows)),
                },
            })
            .collect();
        Frame {
            columns,
            target: rows.iter().map(|&r| self.target[r]).collect(),
            source_sha256: self.source_sha256.clone(),
        }
    }

    /// Splits into (train, hold-out) keeping the bad rate equal in both: within each class a
    /// seeded shuffle puts `holdout_share` of the rows aside. Deterministic for a given seed.
    pub fn stratified_split(&self, holdout_share: f64, seed: u64) -> (Frame, Frame) {
        let mut rng = SplitMix64(seed);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for class in [false, true] {
            let mut rows: Vec<usize> = (0..self.n_rows())
                .filter(|&r| self.target[r] == class)
                .collect();
            for i in (1..rows.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                rows.swap(i, j);
            }
            let n_test = (rows.len() as f64 * holdout_share).round() as usize;
            test.extend_from_slice(&rows[..n_test]);
            train.extend_from_slice(&rows[n_test..]);
        }
        train.sort_unstable();
        test.sort_unstable();
        (self.take(&train), self.take(&test))
    }
}

impl Frame {
    /// A fold number in `0..k` for every row, each class dealt round-robin over the folds in a
    /// seeded random order, so every fold holds its share of bads and goods.
    pub(crate) fn stratified_folds(&self, k: usize, seed: u64) -> Vec<usize> {
        let mut rng = SplitMix64(seed);
        let mut fold = vec![0; self.n_rows()];
        for class in [false, true] {
            let mut rows: Vec<usize> = (0..self.n_rows())
                .filter(|&r| self.target[r] == class)
                .collect();
            for i in (1..rows.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                rows.swap(i, j);
            }
            for (pos, &r) in rows.iter().enumerate() {
                fold[r] = pos % k;
            }
        }
        fold
    }
}

/// A tiny, well-known generator so the split needs no extra dependency and is reproducible.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_split_keeps_the_bad_rate_and_loses_no_row() {
        let target: Vec<bool> = (0..1000).map(|i| i % 10 == 0).collect();
        let frame = Frame::new(
            vec![Column::numeric("x", (0..1000).map(f64::from).collect())],
            target,
        );
        let (train, test) = frame.stratified_split(0.3, 7);
        assert_eq!(train.n_rows() + test.n_rows(), 1000);
        assert_eq!(test.n_bads(), 30);
        assert_eq!(train.n_bads(), 70);
    }

    #[test]
    fn categorical_codes_round_trip() {
        let c = CategoricalData::from_options([Some("a"), None, Some("b"), Some("a")]);
        assert_eq!(c.levels, vec!["a", "b"]);
        assert_eq!(c.get(1), None);
        assert_eq!(c.get(3), Some("a"));
    }
}
