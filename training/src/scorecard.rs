//! The points table. With WoE = ln(%good/%bad) and `logit P(bad) = β₀ + Σ βⱼ·WoEⱼ`:
//!
//! `score = offset + factor · ln(good:bad odds) = (offset − factor·β₀) + Σ (−factor · βⱼ · WoEⱼ)`
//!
//! so the card has integer *base points* `round(offset − factor·β₀)` and integer points per bin
//! `round(−factor · βⱼ · WoEᵢⱼ)`; an applicant's score is the base plus one bin's points per
//! characteristic, and the PD is read back from that integer score, so the PD a partner sees
//! always agrees with the score it sees.

use serde::{Deserialize, Serialize};

use crate::binning::{Bin, Binning, Kind};
use crate::frame::CharacteristicMeta;
use crate::settings::{GradeBand, Scaling, Trend};

/// One characteristic on the card with its coefficient, inference and points per bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredCharacteristic {
    pub name: String,
    pub kind: Kind,
    /// Stable reason code and texts served with every score.
    pub code: String,
    pub text_en: String,
    pub text_zh: String,
    /// Coefficient on WoE in the log-odds of bad (negative when the sign is right).
    pub coefficient: f64,
    pub std_error: Option<f64>,
    pub p_value: Option<f64>,
    pub iv: f64,
    pub trend: Trend,
    pub bins: Vec<Bin>,
}

impl ScoredCharacteristic {
    /// Whether the regular bins follow the declared trend in bad rate and WoE
    /// ([`crate::binning::bins_follow_trend`], the definition the monotonic-bins gate uses).
    pub fn follows_trend(&self) -> bool {
        crate::binning::bins_follow_trend(self.trend, &self.bins)
    }
}

/// The scorecard: scaling, base points, characteristics and grade bands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub scaling: Scaling,
    pub factor: f64,
    pub offset: f64,
    /// β₀ of the log-odds of bad.
    pub intercept: f64,
    pub intercept_std_error: Option<f64>,
    pub base_points: i32,
    pub characteristics: Vec<ScoredCharacteristic>,
    /// Best grade first; the last band catches everything.
    pub grades: Vec<GradeBand>,
}

/// Points of a bin with WoE `woe` under coefficient `beta`.
pub fn bin_points(factor: f64, beta: f64, woe: f64) -> i32 {
    (-factor * beta * woe).round() as i32
}

/// Base points for intercept `beta0`.
pub fn base_points(offset: f64, factor: f64, beta0: f64) -> i32 {
    (offset - factor * beta0).round() as i32
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Inputs for one characteristic of a card.
pub struct CardEntry {
    pub binning: Binning,
    pub meta: CharacteristicMeta,
    pub coefficient: f64,
    pub std_error: f64,
    pub p_value: f64,
}

impl Scorecard {
    /// Scales a fitted regression into points.
    pub fn build(
        scaling: Scaling,
        grades: Vec<GradeBand>,
        intercept: f64,
        intercept_std_error: f64,
        entries: Vec<CardEntry>,
    ) -> Self {
        let (factor, offset) = (scaling.factor(), scaling.offset());
        let characteristics = entries
            .into_iter()
            .map(|e| {
                let mut bins = e.binning.bins;
                for b in &mut bins {
                    b.points = bin_points(factor, e.coefficient, b.woe);
                }
                ScoredCharacteristic {
                    name: e.binning.name,
                    kind: e.binning.kind,
                    code: e.meta.code,
                    text_en: e.meta.text_en,
                    text_zh: e.meta.text_zh,
                    coefficient: e.coefficient,
                    std_error: finite(e.std_error),
                    p_value: finite(e.p_value),
                    iv: e.binning.iv,
                    trend: e.binning.trend,
                    bins,
                }
            })
            .collect();
        Scorecard {
            scaling,
            factor,
            offset,
            intercept,
            intercept_std_error: finite(intercept_std_error),
            base_points: base_points(offset, factor, intercept),
            characteristics,
            grades,
        }
    }

    /// PD implied by a score: `1 / (1 + exp((score − offset) / factor))`.
    pub fn pd_of_score(&self, score: i32) -> f64 {
        1.0 / (1.0 + ((score as f64 - self.offset) / self.factor).exp())
    }

    /// The first band whose minimum the score reaches.
    pub fn grade_of(&self, score: i32) -> &str {
        self.grades
            .iter()
            .find(|g| score >= g.min_score)
            .map_or("", |g| g.grade.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn points_and_pd_follow_the_scaling_worked_by_hand() {
        let s = Scaling::default();
        let (factor, offset) = (s.factor(), s.offset());
        // β₀ = −3.5: base = 487.123 + 28.854·3.5 = 588.11 → 588
        assert_eq!(base_points(offset, factor, -3.5), 588);
        // β = −0.9, WoE = −1.824549: −28.854·(−0.9)·(−1.824549) = −47.38 → −47
        assert_eq!(bin_points(factor, -0.9, -1.824_549), -47);
        let card = Scorecard::build(s, Settings::default().grades, -3.5, 0.1, vec![]);
        // 600 points is 50:1 good:bad, PD = 1/51
        assert!((card.pd_of_score(600) - 1.0 / 51.0).abs() < 1e-12);
        // 620 doubles the odds: PD = 1/101
        assert!((card.pd_of_score(620) - 1.0 / 101.0).abs() < 1e-12);
        assert_eq!(card.grade_of(650), "A");
        assert_eq!(card.grade_of(600), "B");
        assert_eq!(card.grade_of(-5000), "E");
    }
}
