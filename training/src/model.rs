//! A loaded, validated model: the artifact plus what scoring needs precomputed (bin locators,
//! each characteristic's best points). Single-applicant scoring for the service and a columnar
//! scorer for batches both live here, so they share one code path for bins and points.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

use crate::artifact::{ModelArtifact, FORMAT, SCHEMA_VERSION};
use crate::binning::{Kind, Locator};
use crate::error::{Result, TrainingError};
use crate::frame::{ColumnData, Frame, MISSING_CODE};
use crate::reasons::{top_losses, Reason};
use crate::scorecard::{base_points, bin_points, Scorecard};

/// One characteristic value of an applicant.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Category(String),
    Missing,
}

/// Anything that can give an applicant's value by characteristic name.
pub trait Applicant {
    /// `None` when the applicant has no entry at all (an error: use [`Value::Missing`] for an
    /// explicitly unknown value).
    fn value(&self, characteristic: &str) -> Option<Value>;
}

impl Applicant for HashMap<String, Value> {
    fn value(&self, c: &str) -> Option<Value> {
        self.get(c).cloned()
    }
}

impl Applicant for BTreeMap<String, Value> {
    fn value(&self, c: &str) -> Option<Value> {
        self.get(c).cloned()
    }
}

impl<F: Fn(&str) -> Option<Value>> Applicant for F {
    fn value(&self, c: &str) -> Option<Value> {
        self(c)
    }
}

/// A score with its PD, grade and reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreOutcome {
    pub score: i32,
    pub pd: f64,
    pub grade: String,
    pub reasons: Vec<Reason>,
}

/// A validated model ready to score.
#[derive(Debug, Clone)]
pub struct Model {
    artifact: ModelArtifact,
    locators: Vec<Locator>,
    points: Vec<Vec<i32>>,
    best: Vec<i32>,
    /// Per characteristic, per bin: the reason texts for an applicant in that bin. A peak or
    /// valley characteristic's regular bins say which side of the lowest-risk range the
    /// applicant is on ("too young or too old"); every other bin keeps the card's texts.
    texts: Vec<Vec<(String, String)>>,
}

/// Which side of a peak's or valley's lowest-risk bin each bin lies on, with the card's texts
/// extended to say so; the card's own texts for every bin of any other characteristic.
fn reason_texts(c: &crate::scorecard::ScoredCharacteristic) -> Vec<(String, String)> {
    use crate::binning::BinRule;
    let plain = (c.text_en.clone(), c.text_zh.clone());
    let turning = matches!(
        c.trend,
        crate::settings::Trend::Peak | crate::settings::Trend::Valley
    );
    let regular: Vec<usize> = (0..c.bins.len())
        .filter(|&i| matches!(c.bins[i].rule, BinRule::Range { .. }))
        .collect();
    let safest = regular
        .iter()
        .copied()
        .filter(|&i| c.bins[i].goods + c.bins[i].bads > 0)
        .max_by_key(|&i| (c.bins[i].points, std::cmp::Reverse(i)));
    (0..c.bins.len())
        .map(|i| match safest {
            Some(best) if turning && regular.contains(&i) && i != best => {
                if i < best {
                    (
                        format!("{}: below its lowest-risk range", c.text_en),
                        format!("{}（低于风险最低区间）", c.text_zh),
                    )
                } else {
                    (
                        format!("{}: above its lowest-risk range", c.text_en),
                        format!("{}（高于风险最低区间）", c.text_zh),
                    )
                }
            }
            _ => plain.clone(),
        })
        .collect()
}

impl Model {
    /// Validates an artifact: format and schema version, bin layouts, points consistent with
    /// coefficients and WoE, scaling consistent with its settings, grade bands, challenger.
    pub fn from_artifact(artifact: ModelArtifact) -> Result<Self> {
        let invalid = |reason: String| Err(TrainingError::InvalidArtifact { reason });
        if artifact.format != FORMAT {
            return invalid(format!(
                "format is `{}`, expected `{FORMAT}`",
                artifact.format
            ));
        }
        if artifact.schema_version != SCHEMA_VERSION {
            return invalid(format!(
                "schema version {} (this build reads {SCHEMA_VERSION})",
                artifact.schema_version
            ));
        }
        let card = &artifact.scorecard;
        if card.characteristics.is_empty() {
            return invalid("the scorecard has no characteristics".into());
        }
        let (factor, offset) = (card.scaling.factor(), card.scaling.offset());
        if (factor - card.factor).abs() > 1e-9 || (offset - card.offset).abs() > 1e-9 {
            return invalid("factor/offset disagree with the scaling".into());
        }
        if base_points(offset, factor, card.intercept) != card.base_points {
            return invalid("base points disagree with the intercept".into());
        }
        let bands_ok = !card.grades.is_empty()
            && card
                .grades
                .windows(2)
                .all(|w| w[0].min_score > w[1].min_score)
            && card.grades.last().is_some_and(|g| g.min_score == i32::MIN);
        if !bands_ok {
            return invalid("grade bands must fall strictly and end with a catch-all".into());
        }
        let mut names = std::collections::HashSet::new();
        let mut locators = Vec::new();
        for c in &card.characteristics {
            if !names.insert(c.name.as_str()) {
                return invalid(format!("characteristic `{}` appears twice", c.name));
            }
            if c.bins
                .iter()
                .any(|b| b.points != bin_points(factor, c.coefficient, b.woe))
            {
                return invalid(format!(
                    "points of `{}` disagree with its coefficient and WoE",
                    c.name
                ));
            }
            let binning = crate::binning::Binning {
                name: c.name.clone(),
                kind: c.kind,
                trend: c.trend,
                bins: c.bins.clone(),
                iv: c.iv,
            };
            locators.push(Locator::new(&binning)?);
        }
        if let Some(t) = &artifact.challenger {
            t.validate()
                .map_err(|reason| TrainingError::InvalidArtifact { reason })?;
            if t.features.iter().any(|f| !names.contains(f.as_str())) {
                return invalid("challenger uses a characteristic the card lacks".into());
            }
        }
        let points: Vec<Vec<i32>> = card
            .characteristics
            .iter()
            .map(|c| c.bins.iter().map(|b| b.points).collect())
            .collect();
        // Best bin among bins that held training rows: an empty neutral bin is no standard to lose against.
        let best = card
            .characteristics
            .iter()
            .map(|c| {
                c.bins
                    .iter()
                    .filter(|b| b.goods + b.bads > 0)
                    .map(|b| b.points)
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let texts = card.characteristics.iter().map(reason_texts).collect();
        Ok(Model {
            artifact,
            locators,
            points,
            best,
            texts,
        })
    }

    /// Parses and validates `model.json` text.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_artifact(serde_json::from_str(text)?)
    }

    /// Reads and validates a `model.json` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TrainingError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Pretty JSON of the artifact.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(&self.artifact)?)
    }

    /// Writes `model.json`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|source| TrainingError::Io {
            path: path.to_owned(),
            source,
        })
    }

    pub fn artifact(&self) -> &ModelArtifact {
        &self.artifact
    }

    pub fn scorecard(&self) -> &Scorecard {
        &self.artifact.scorecard
    }

    /// Names of the characteristics the model needs, in card order.
    pub fn characteristics(&self) -> impl Iterator<Item = &str> {
        self.artifact
            .scorecard
            .characteristics
            .iter()
            .map(|c| c.name.as_str())
    }

    pub(crate) fn locator(&self, i: usize) -> &Locator {
        &self.locators[i]
    }

    /// Scores one applicant (the serving call).
    pub fn score(&self, applicant: &impl Applicant) -> Result<ScoreOutcome> {
        Ok(self.outcome(&self.locate(applicant)?))
    }

    /// The bin each characteristic of `applicant` falls in, in scorecard order (monitoring
    /// counts these against the training bins for CSI).
    pub fn locate(&self, applicant: &impl Applicant) -> Result<Vec<usize>> {
        let card = self.scorecard();
        let mut bins = Vec::with_capacity(card.characteristics.len());
        for (c, loc) in card.characteristics.iter().zip(&self.locators) {
            let v =
                applicant
                    .value(&c.name)
                    .ok_or_else(|| TrainingError::MissingCharacteristic {
                        name: c.name.clone(),
                    })?;
            let bin = match (c.kind, v) {
                (Kind::Numeric, Value::Number(x)) => loc.numeric(x),
                (Kind::Numeric, Value::Missing) => loc.numeric(f64::NAN),
                (Kind::Categorical, Value::Category(s)) => loc.category(Some(&s)),
                (Kind::Categorical, Value::Missing) => loc.category(None),
                // A number for a categorical characteristic is matched by its text (codes like 3).
                (Kind::Categorical, Value::Number(x)) => loc.category(Some(&format!("{x}"))),
                (Kind::Numeric, Value::Category(_)) => {
                    return Err(TrainingError::ValueKind {
                        name: c.name.clone(),
                        expected: "numeric",
                    })
                }
            };
            bins.push(bin);
        }
        Ok(bins)
    }

    /// Score, PD, grade and reasons from one bin index per characteristic.
    pub fn outcome(&self, bins: &[usize]) -> ScoreOutcome {
        let card = self.scorecard();
        let score = self.score_of_bins(bins);
        let (top, len) = self.reasons_of_bins(bins);
        let reasons = top[..len]
            .iter()
            .map(|&(i, lost)| {
                let c = &card.characteristics[i];
                let (en, zh) = &self.texts[i][bins[i]];
                Reason {
                    code: c.code.clone(),
                    characteristic: c.name.clone(),
                    points_lost: lost,
                    text_en: en.clone(),
                    text_zh: zh.clone(),
                }
            })
            .collect();
        ScoreOutcome {
            score,
            pd: card.pd_of_score(score),
            grade: card.grade_of(score).to_owned(),
            reasons,
        }
    }

    #[inline]
    pub(crate) fn score_of_bins(&self, bins: &[usize]) -> i32 {
        self.scorecard().base_points
            + bins
                .iter()
                .enumerate()
                .map(|(c, &b)| self.points[c][b])
                .sum::<i32>()
    }

    #[inline]
    pub(crate) fn reasons_of_bins(
        &self,
        bins: &[usize],
    ) -> ([(usize, i32); crate::reasons::MAX_REASONS], usize) {
        top_losses(
            bins.iter()
                .enumerate()
                .map(|(c, &b)| (c, self.best[c] - self.points[c][b])),
        )
    }

    /// Scores every row of a frame (columns found by name), in parallel over row blocks. This is
    /// the in-process batch scorer; it returns scores only.
    pub fn score_frame(&self, frame: &Frame) -> Result<Vec<i32>> {
        let cols = self.columns_of(frame)?;
        let n = frame.n_rows();
        let mut scores = vec![self.scorecard().base_points; n];
        scores
            .par_chunks_mut(1 << 14)
            .enumerate()
            .for_each(|(k, out)| {
                let start = k << 14;
                for (c, col) in cols.iter().enumerate() {
                    let pts = &self.points[c];
                    match col {
                        Prepared::Numeric(v) => {
                            let loc = &self.locators[c];
                            for (s, &x) in out.iter_mut().zip(&v[start..]) {
                                *s += pts[loc.numeric(x)];
                            }
                        }
                        Prepared::Categorical(codes, level_points, missing) => {
                            for (s, &code) in out.iter_mut().zip(&codes[start..]) {
                                *s += if code == MISSING_CODE {
                                    *missing
                                } else {
                                    level_points[code as usize]
                                };
                            }
                        }
                    }
                }
            });
        Ok(scores)
    }

    /// Bin index of each row for characteristic `c` of the card, from a frame column.
    pub(crate) fn columns_of<'a>(&self, frame: &'a Frame) -> Result<Vec<Prepared<'a>>> {
        self.scorecard()
            .characteristics
            .iter()
            .enumerate()
            .map(|(c, ch)| {
                let col = frame
                    .columns
                    .iter()
                    .find(|col| col.name == ch.name)
                    .ok_or_else(|| TrainingError::MissingCharacteristic {
                        name: ch.name.clone(),
                    })?;
                match (&col.data, ch.kind) {
                    (ColumnData::Numeric(v), Kind::Numeric) => Ok(Prepared::Numeric(v)),
                    (ColumnData::Categorical(cat), Kind::Categorical) => {
                        let loc = &self.locators[c];
                        let level_points = cat
                            .levels
                            .iter()
                            .map(|l| self.points[c][loc.category(Some(l))])
                            .collect();
                        Ok(Prepared::Categorical(
                            &cat.codes,
                            level_points,
                            self.points[c][loc.category(None)],
                        ))
                    }
                    (_, Kind::Numeric) => Err(TrainingError::ValueKind {
                        name: ch.name.clone(),
                        expected: "numeric",
                    }),
                    (_, Kind::Categorical) => Err(TrainingError::ValueKind {
                        name: ch.name.clone(),
                        expected: "categorical",
                    }),
                }
            })
            .collect()
    }
}

/// A frame column ready for scoring: numbers, or codes with points per level precomputed.
pub(crate) enum Prepared<'a> {
    Numeric(&'a [f64]),
    Categorical(&'a [u32], Vec<i32>, i32),
}
