//! Fitting settings as a builder. Every setter documents its default; [`Settings::validate`]
//! runs before any fitting so a bad value fails fast with the setting's name.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainingError};

/// The shape the bad rate must follow across a numeric characteristic's ordered bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Ascending or descending, whichever gives the higher information value.
    Auto,
    /// Ascending, descending, peak or valley: the best partition under each, chosen by a
    /// penalised likelihood criterion (BIC; see [`crate::binning::shape_criterion`]), so a peak
    /// or valley is kept only where it is materially better than the best monotonic binning.
    /// Never resolved to itself. The default.
    AutoShaped,
    Ascending,
    Descending,
    /// Rises then falls.
    Peak,
    /// Falls then rises.
    Valley,
    /// No shape constraint.
    Free,
}

/// Scorecard scaling: `score = offset + factor · ln(good:bad odds)`, `factor = pdo / ln 2`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Points at `base_odds`.
    pub base_score: f64,
    /// Good:bad odds that score `base_score`.
    pub base_odds: f64,
    /// Points to double the odds.
    pub pdo: f64,
}

impl Scaling {
    pub fn factor(&self) -> f64 {
        self.pdo / std::f64::consts::LN_2
    }

    pub fn offset(&self) -> f64 {
        self.base_score - self.factor() * self.base_odds.ln()
    }
}

impl Default for Scaling {
    /// 600 points at 50:1, PDO 20 (factor 28.854, offset 487.123), domain notes §7.
    fn default() -> Self {
        Scaling {
            base_score: 600.0,
            base_odds: 50.0,
            pdo: 20.0,
        }
    }
}

/// A grade and the lowest score that earns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeBand {
    pub grade: String,
    pub min_score: i32,
}

/// All fitting settings. Build with [`Settings::default`] and the setters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub min_bin_share: f64,
    pub max_bins: usize,
    pub prebins: usize,
    pub trend: Trend,
    pub special_values: Vec<f64>,
    pub rare_category_share: f64,
    pub woe_smoothing: f64,
    pub min_iv: f64,
    pub max_correlation: f64,
    pub l2_alpha: f64,
    pub max_iterations: u64,
    pub scaling: Scaling,
    pub grades: Vec<GradeBand>,
    pub tree_max_depth: usize,
    pub tree_min_leaf_share: f64,
    pub tree_max_rows: usize,
    pub holdout_share: f64,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        let band = |g: &str, s: i32| GradeBand {
            grade: g.to_owned(),
            min_score: s,
        };
        Settings {
            min_bin_share: 0.05,
            max_bins: 8,
            prebins: 50,
            trend: Trend::AutoShaped,
            special_values: Vec::new(),
            rare_category_share: 0.01,
            woe_smoothing: 0.5,
            min_iv: 0.02,
            max_correlation: 0.8,
            l2_alpha: 1.0,
            max_iterations: 50,
            scaling: Scaling::default(),
            grades: vec![
                band("A", 640),
                band("B", 600),
                band("C", 560),
                band("D", 520),
                band("E", i32::MIN),
            ],
            tree_max_depth: 4,
            tree_min_leaf_share: 0.01,
            tree_max_rows: 200_000,
            holdout_share: 0.3,
            seed: 42,
        }
    }
}

impl Settings {
    /// Smallest share of all rows in any regular bin. Default 0.05.
    pub fn min_bin_share(mut self, v: f64) -> Self {
        self.min_bin_share = v;
        self
    }
    /// Most regular bins per characteristic (missing and special bins come on top). Default 8.
    pub fn max_bins(mut self, v: usize) -> Self {
        self.max_bins = v;
        self
    }
    /// Quantile pre-bins before merging. Default 50.
    pub fn prebins(mut self, v: usize) -> Self {
        self.prebins = v;
        self
    }
    /// Bad-rate shape across numeric bins. Default [`Trend::AutoShaped`].
    pub fn trend(mut self, v: Trend) -> Self {
        self.trend = v;
        self
    }
    /// Numeric codes (such as -1 or 9999) that get bins of their own. Default none.
    pub fn special_values(mut self, v: Vec<f64>) -> Self {
        self.special_values = v;
        self
    }
    /// Categories rarer than this share are grouped before merging. Default 0.01.
    pub fn rare_category_share(mut self, v: f64) -> Self {
        self.rare_category_share = v;
        self
    }
    /// Pseudo-count added to each class in a bin so WoE is always finite. Default 0.5.
    pub fn woe_smoothing(mut self, v: f64) -> Self {
        self.woe_smoothing = v;
        self
    }
    /// Characteristics below this information value are dropped. Default 0.02.
    pub fn min_iv(mut self, v: f64) -> Self {
        self.min_iv = v;
        self
    }
    /// Of two characteristics whose WoE correlate above this, the lower IV is dropped. Default 0.8.
    pub fn max_correlation(mut self, v: f64) -> Self {
        self.max_correlation = v;
        self
    }
    /// L2 penalty of the logistic regression (raised automatically if the solver fails). Default 1.0.
    pub fn l2_alpha(mut self, v: f64) -> Self {
        self.l2_alpha = v;
        self
    }
    /// Solver iteration cap. Default 50 (warm-started L-BFGS on WoE converges well within it).
    pub fn max_iterations(mut self, v: u64) -> Self {
        self.max_iterations = v;
        self
    }
    /// Score scaling. Default 600 at 50:1, PDO 20.
    pub fn scaling(mut self, v: Scaling) -> Self {
        self.scaling = v;
        self
    }
    /// Grade bands, best first. Default A ≥ 640, B ≥ 600, C ≥ 560, D ≥ 520, E below.
    pub fn grades(mut self, v: Vec<GradeBand>) -> Self {
        self.grades = v;
        self
    }
    /// Depth of the decision-tree challenger. Default 4.
    pub fn tree_max_depth(mut self, v: usize) -> Self {
        self.tree_max_depth = v;
        self
    }
    /// Smallest leaf of the challenger as a share of its rows. Default 0.01.
    pub fn tree_min_leaf_share(mut self, v: f64) -> Self {
        self.tree_min_leaf_share = v;
        self
    }
    /// Rows the challenger is grown on (an even subsample above this). Default 200,000.
    pub fn tree_max_rows(mut self, v: usize) -> Self {
        self.tree_max_rows = v;
        self
    }
    /// Share held out by [`crate::fit`] when no test frame is given. Default 0.3.
    pub fn holdout_share(mut self, v: f64) -> Self {
        self.holdout_share = v;
        self
    }
    /// Seed of the hold-out split. Default 42.
    pub fn seed(mut self, v: u64) -> Self {
        self.seed = v;
        self
    }

    /// Checks every setting; called by the fitting functions before they touch the data.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, reason: &str| {
            Err(TrainingError::InvalidSetting {
                name,
                reason: reason.into(),
            })
        };
        let share = |v: f64| v.is_finite() && (0.0..1.0).contains(&v);
        if !share(self.min_bin_share) {
            return bad("min_bin_share", "must be in [0, 1)");
        }
        if !(1..=64).contains(&self.max_bins) {
            return bad("max_bins", "must be between 1 and 64");
        }
        if !(2..=200).contains(&self.prebins) {
            return bad("prebins", "must be between 2 and 200");
        }
        if self.special_values.iter().any(|v| !v.is_finite()) {
            return bad("special_values", "must be finite numbers");
        }
        if !share(self.rare_category_share) {
            return bad("rare_category_share", "must be in [0, 1)");
        }
        if !(self.woe_smoothing.is_finite() && self.woe_smoothing > 0.0) {
            return bad("woe_smoothing", "must be positive");
        }
        if !(self.min_iv.is_finite() && self.min_iv >= 0.0) {
            return bad("min_iv", "must be non-negative");
        }
        if !(self.max_correlation > 0.0 && self.max_correlation <= 1.0) {
            return bad("max_correlation", "must be in (0, 1]");
        }
        if !(self.l2_alpha.is_finite() && self.l2_alpha >= 0.0) {
            return bad("l2_alpha", "must be non-negative");
        }
        if self.max_iterations == 0 {
            return bad("max_iterations", "must be positive");
        }
        let s = self.scaling;
        if !(s.base_score.is_finite()
            && s.base_odds > 0.0
            && s.base_odds.is_finite()
            && s.pdo > 0.0
            && s.pdo.is_finite())
        {
            return bad("scaling", "base_odds and pdo must be positive and finite");
        }
        if self.grades.is_empty()
            || self
                .grades
                .windows(2)
                .any(|w| w[0].min_score <= w[1].min_score)
        {
            return bad(
                "grades",
                "need at least one band, best first, with strictly falling min_score",
            );
        }
        if self.grades.last().map(|g| g.min_score) != Some(i32::MIN) {
            return bad(
                "grades",
                "the last band must catch every score (min_score = i32::MIN)",
            );
        }
        if !(1..=12).contains(&self.tree_max_depth) {
            return bad("tree_max_depth", "must be between 1 and 12");
        }
        if !share(self.tree_min_leaf_share) {
            return bad("tree_min_leaf_share", "must be in [0, 1)");
        }
        if self.tree_max_rows < 100 {
            return bad("tree_max_rows", "must be at least 100");
        }
        if !(self.holdout_share > 0.0 && self.holdout_share < 1.0) {
            return bad("holdout_share", "must be in (0, 1)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scaling_matches_the_domain_notes() {
        let s = Scaling::default();
        assert!((s.factor() - 28.8539).abs() < 1e-3);
        assert!((s.offset() - 487.1229).abs() < 1e-3);
    }

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        Settings::default().validate().unwrap();
        let err = Settings::default()
            .min_bin_share(1.5)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("min_bin_share"));
        let err = Settings::default().max_bins(0).validate().unwrap_err();
        assert!(err.to_string().contains("max_bins"));
    }
}
