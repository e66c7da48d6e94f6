//! Promotion gates: what a candidate must show before it may replace the champion. Thresholds are
//! settings; the checks read the metrics recorded when the candidate was trained.

use serde::{Deserialize, Serialize};
use training::binning::BinRule;
use training::scorecard::Scorecard;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Gates {
    /// Out-of-time KS at least this (domain.md §7: < 0.2 do not use).
    pub min_oot_ks: f64,
    /// Out-of-time AUC no worse than the champion's on the same sample by more than this.
    pub max_auc_drop: f64,
    /// Score PSI between the training and out-of-time samples below this.
    pub max_psi: f64,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            min_oot_ks: 0.2,
            max_auc_drop: 0.01,
            max_psi: 0.25,
        }
    }
}

/// What the gates read, recorded with the candidate at training time.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GateInputs {
    pub oot_auc: f64,
    pub oot_ks: f64,
    /// The champion's AUC on the same out-of-time loans, when there was a champion.
    pub champion_oot_auc: Option<f64>,
    pub psi_train_oot: f64,
    /// Characteristics whose regular bins break their declared bad-rate trend.
    pub non_monotonic: Vec<String>,
    /// Characteristics whose coefficient has the wrong sign.
    pub wrong_sign: Vec<String>,
}

impl Gates {
    /// Every failed gate, in words; empty when the candidate may be promoted.
    pub fn failures(&self, g: &GateInputs) -> Vec<String> {
        let mut out = Vec::new();
        // A NaN metric fails rather than passes.
        if g.oot_ks.is_nan() || g.oot_ks < self.min_oot_ks {
            out.push(format!(
                "out-of-time KS {:.3} is below {:.2}",
                g.oot_ks, self.min_oot_ks
            ));
        }
        if let Some(champ) = g.champion_oot_auc {
            if g.oot_auc < champ - self.max_auc_drop {
                out.push(format!(
                    "out-of-time AUC {:.4} is worse than the champion's {:.4} by more than {:.2}",
                    g.oot_auc, champ, self.max_auc_drop
                ));
            }
        }
        if g.psi_train_oot.is_nan() || g.psi_train_oot >= self.max_psi {
            out.push(format!(
                "score PSI between training and out-of-time {:.3} is not below {:.2}",
                g.psi_train_oot, self.max_psi
            ));
        }
        if !g.non_monotonic.is_empty() {
            out.push(format!(
                "bins not monotonic: {}",
                g.non_monotonic.join(", ")
            ));
        }
        if !g.wrong_sign.is_empty() {
            out.push(format!(
                "wrong-sign coefficients: {}",
                g.wrong_sign.join(", ")
            ));
        }
        out
    }
}

/// Characteristics whose coefficient on WoE is positive: with WoE = ln(%good/%bad), a safer bin
/// must lower the log-odds of bad, so the coefficient must be negative.
pub fn wrong_signs(card: &Scorecard) -> Vec<String> {
    card.characteristics
        .iter()
        .filter(|c| c.coefficient > 0.0)
        .map(|c| c.name.clone())
        .collect()
}

/// Numeric characteristics whose range bins' WoE is not monotonic (when an ascending or
/// descending trend was chosen).
pub fn non_monotonic(card: &Scorecard) -> Vec<String> {
    use training::settings::Trend;
    card.characteristics
        .iter()
        .filter(|c| matches!(c.trend, Trend::Ascending | Trend::Descending))
        .filter(|c| {
            let woe: Vec<f64> = c
                .bins
                .iter()
                .filter(|b| matches!(b.rule, BinRule::Range { .. }))
                .map(|b| b.woe)
                .collect();
            let up = woe.windows(2).all(|w| w[1] >= w[0] - 1e-12);
            let down = woe.windows(2).all(|w| w[1] <= w[0] + 1e-12);
            !(up || down)
        })
        .map(|c| c.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> GateInputs {
        GateInputs {
            oot_auc: 0.78,
            oot_ks: 0.42,
            champion_oot_auc: Some(0.785),
            psi_train_oot: 0.03,
            non_monotonic: vec![],
            wrong_sign: vec![],
        }
    }

    #[test]
    fn a_sound_candidate_passes_every_gate() {
        assert!(Gates::default().failures(&good()).is_empty());
    }

    #[test]
    fn a_candidate_worse_than_the_champion_by_more_than_the_margin_is_refused() {
        let g = GateInputs {
            oot_auc: 0.77,
            ..good()
        };
        let f = Gates::default().failures(&g);
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("worse than the champion"), "{f:?}");
    }

    #[test]
    fn weak_ks_unstable_scores_and_shape_problems_are_each_named() {
        let g = GateInputs {
            oot_ks: 0.15,
            psi_train_oot: 0.3,
            non_monotonic: vec!["land_mu".into()],
            wrong_sign: vec!["region".into()],
            ..good()
        };
        let f = Gates::default().failures(&g);
        assert_eq!(f.len(), 4, "{f:?}");
        assert!(f.iter().any(|x| x.contains("KS")));
        assert!(f.iter().any(|x| x.contains("PSI")));
        assert!(f.iter().any(|x| x.contains("land_mu")));
        assert!(f.iter().any(|x| x.contains("region")));
    }

    #[test]
    fn a_nan_metric_fails_rather_than_passes() {
        let g = GateInputs {
            oot_ks: f64::NAN,
            psi_train_oot: f64::NAN,
            ..good()
        };
        assert_eq!(Gates::default().failures(&g).len(), 2);
    }
}
