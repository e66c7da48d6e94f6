//! Promotion gates: what a candidate must show before it may replace the champion. Thresholds are
//! settings; the checks read the metrics recorded when the candidate was trained.

use serde::{Deserialize, Serialize};
use training::scorecard::Scorecard;

use crate::settings::GateThresholds;

/// The promotion gates over their thresholds (plain settings, `[gates]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gates(GateThresholds);

impl From<GateThresholds> for Gates {
    fn from(thresholds: GateThresholds) -> Self {
        Gates(thresholds)
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
        let t = &self.0;
        let mut out = Vec::new();
        // A NaN metric fails rather than passes.
        if g.oot_ks.is_nan() || g.oot_ks < t.min_oot_ks {
            out.push(format!(
                "out-of-time KS {:.3} is below {:.2}",
                g.oot_ks, t.min_oot_ks
            ));
        }
        if let Some(champ) = g.champion_oot_auc {
            if g.oot_auc < champ - t.max_auc_drop {
                out.push(format!(
                    "out-of-time AUC {:.4} is worse than the champion's {:.4} by more than {:.2}",
                    g.oot_auc, champ, t.max_auc_drop
                ));
            }
        }
        if g.psi_train_oot.is_nan() || g.psi_train_oot >= t.max_psi {
            out.push(format!(
                "score PSI between training and out-of-time {:.3} is not below {:.2}",
                g.psi_train_oot, t.max_psi
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

/// Characteristics whose regular bins (numeric ranges, category groups; not the missing,
/// special or unseen bins) break their declared trend in bad rate or WoE. The definition is the
/// training crate's own ([`training::binning::bins_follow_trend`]), the one its binning
/// guarantees, so a card fitted with the default settings always passes.
pub fn non_monotonic(card: &Scorecard) -> Vec<String> {
    card.characteristics
        .iter()
        .filter(|c| !c.follows_trend())
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

    /// A card whose `years_in_business` bins fall in raw bad rate but not in smoothed WoE (the
    /// 100k-city sme candidate before the binning fix) is named; a card fitted by the training
    /// crate on the same counts passes.
    #[test]
    fn the_monotonic_gate_reads_bad_rate_and_woe_against_the_declared_trend() {
        use training::binning::{bin_numeric, Bin, BinRule, Kind};
        use training::settings::{Scaling, Settings, Trend};
        use training::woe::woe;
        let g = [1727u64, 2391, 4244, 12196, 1832, 3661, 2452, 1845];
        let b = [212u64, 199, 285, 761, 114, 224, 139, 99];
        let (tg, tb): (u64, u64) = (g.iter().sum(), b.iter().sum());
        let card = |trend: Trend, bins: Vec<Bin>| Scorecard {
            scaling: Scaling::default(),
            factor: 28.85,
            offset: 487.12,
            intercept: -2.7,
            intercept_std_error: None,
            base_points: 565,
            characteristics: vec![training::scorecard::ScoredCharacteristic {
                name: "years_in_business".into(),
                kind: Kind::Numeric,
                code: "SME-AGE-01".into(),
                text_en: String::new(),
                text_zh: String::new(),
                coefficient: -0.9,
                std_error: None,
                p_value: None,
                iv: 0.1,
                trend,
                bins,
            }],
            grades: Settings::default().grades,
        };
        let eight: Vec<Bin> = (0..8)
            .map(|i| Bin {
                rule: BinRule::Range {
                    lower: (i > 0).then_some(i as f64),
                    upper: (i < 7).then_some(i as f64 + 1.0),
                },
                goods: g[i],
                bads: b[i],
                woe: woe(g[i], b[i], tg, tb, 0.5),
                iv: 0.0,
                points: 0,
            })
            .collect();
        assert_eq!(
            non_monotonic(&card(Trend::Descending, eight.clone())),
            vec!["years_in_business"]
        );
        // Declared ascending, a falling card is refused even though it is monotonic one way.
        let mut falling = eight.clone();
        falling.remove(4);
        assert!(non_monotonic(&card(Trend::Descending, falling.clone())).is_empty());
        assert_eq!(non_monotonic(&card(Trend::Ascending, falling)).len(), 1);
        // The training crate's binning of the same counts (one value per pre-bin) passes.
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..8 {
            for k in 0..g[i] + b[i] {
                x.push(i as f64);
                y.push(k < b[i]);
            }
        }
        let bn = bin_numeric("years_in_business", &x, &y, &Settings::default());
        assert_eq!(bn.trend, Trend::Descending);
        assert!(non_monotonic(&card(bn.trend, bn.bins)).is_empty());
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
