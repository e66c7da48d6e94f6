//! Promotion gates: what a candidate must show before it may replace the champion. Thresholds are
//! settings; the checks read the metrics recorded when the candidate was trained. They are built
//! so a model that ranks risk backwards, or one judged on a handful of bads, cannot pass: the AUC
//! is judged by its DeLong interval, KS keeps its sign, thin evidence is its own verdict, and a
//! product's first champion is compared with a transparent baseline instead of nothing.

use serde::{Deserialize, Serialize};
use training::scorecard::Scorecard;

use super::delong::{AucEstimate, PairedAuc};
use crate::domain::{FarmerGrade, Product, TaxGrade};
use crate::settings::GateThresholds;

/// The promotion gates over their thresholds (plain settings, `[gates]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gates(GateThresholds);

impl From<GateThresholds> for Gates {
    fn from(thresholds: GateThresholds) -> Self {
        Gates(thresholds)
    }
}

impl std::ops::Deref for Gates {
    type Target = GateThresholds;

    fn deref(&self) -> &GateThresholds {
        &self.0
    }
}

/// What a candidate is compared with on the same out-of-time loans.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    /// `champion` or `baseline`.
    pub against: String,
    /// The champion's id, or the baseline's characteristic (`tax_grade`, `farmer_grade`).
    pub id: String,
    /// Candidate minus reference, DeLong's paired test.
    pub test: PairedAuc,
}

/// What the gates read, recorded with the candidate at training time.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GateInputs {
    /// Out-of-time AUC with its DeLong interval and the counts of bads and goods.
    pub oot_auc: AucEstimate,
    /// Signed out-of-time KS.
    pub oot_ks: f64,
    /// Against the champion when there is one.
    pub champion: Option<Comparison>,
    /// Against the transparent baseline (recorded always; gated on for a first champion).
    pub baseline: Option<Comparison>,
    pub psi_train_oot: f64,
    /// Characteristics whose regular bins break their declared bad-rate trend.
    pub non_monotonic: Vec<String>,
    /// Characteristics whose coefficient has the wrong sign.
    pub wrong_sign: Vec<String>,
}

/// The gates' answer.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Too few out-of-time bads to tell a good model from a bad one.
    InsufficientEvidence,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GateResult {
    pub verdict: Verdict,
    /// Every failed gate in words, with its figures; empty only on a pass.
    pub failures: Vec<String>,
}

impl GateResult {
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

impl Gates {
    /// Judges a candidate. Any failure besides thin evidence is a `Fail`; thin evidence alone is
    /// `InsufficientEvidence`; a `Pass` needs every gate met.
    pub fn judge(&self, g: &GateInputs) -> GateResult {
        let mut out = Vec::new();
        let a = &g.oot_auc;
        let thin = a.bads < self.min_oot_bads;
        if thin {
            out.push(format!(
                "insufficient evidence: the out-of-time sample holds {} bads, at least {} are needed",
                a.bads, self.min_oot_bads
            ));
        }
        let floor = 0.5 + self.auc_margin;
        // A NaN metric fails rather than passes.
        if a.lower.is_nan() || a.lower <= floor {
            out.push(format!(
                "out-of-time AUC {:.3} (95% CI {:.3}-{:.3}, {} bads) does not show risk ranked the right way: the interval's lower end must exceed {floor:.2}",
                a.auc, a.lower, a.upper, a.bads
            ));
        }
        if g.oot_ks.is_nan() || g.oot_ks < self.min_oot_ks {
            out.push(format!(
                "signed out-of-time KS {:.3} is below {:.2}",
                g.oot_ks, self.min_oot_ks
            ));
        }
        // The champion when there is one; a product's first champion answers to the baseline.
        let reference = g.champion.as_ref().or(g.baseline.as_ref());
        match reference {
            Some(c) => {
                let t = &c.test;
                if t.difference.is_nan() || t.difference < -self.max_auc_drop || t.upper < 0.0 {
                    out.push(format!(
                        "out-of-time AUC {:.4} against the {} {} {:.4} on the same loans: difference {:+.4} (95% CI {:+.4} to {:+.4}, DeLong p = {:.3}); allowed drop {:.2} and not significantly worse",
                        t.auc_a, c.against, c.id, t.auc_b, t.difference, t.lower, t.upper, t.p_value, self.max_auc_drop
                    ));
                }
            }
            None => out.push("no champion and no baseline to compare the candidate with".into()),
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
        // Below the minimum of bads every out-of-time figure is noise, good or bad: the answer is
        // that the evidence is insufficient (the failures are still listed), never a pass.
        let verdict = if thin {
            Verdict::InsufficientEvidence
        } else if out.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        GateResult {
            verdict,
            failures: out,
        }
    }

    /// Every failed gate, in words; empty when the candidate may be promoted.
    pub fn failures(&self, g: &GateInputs) -> Vec<String> {
        self.judge(g).failures
    }
}

/// The transparent baseline's risk ordering for one loan: the tax grade alone for `sme`, the
/// farmer grade alone for `farmer`, as a rank where higher is riskier. A subject without a grade
/// sits in the middle for sme (like M, a new entity) and with the ungraded households for farmer.
pub fn baseline_risk(product: Product, value: Option<&training::Value>) -> f64 {
    let code = match value {
        Some(training::Value::Category(c)) => c.as_str(),
        _ => "",
    };
    match product {
        Product::Sme => match code.parse::<TaxGrade>() {
            Ok(TaxGrade::A) => 0.0,
            Ok(TaxGrade::B) => 1.0,
            Ok(TaxGrade::C) => 3.0,
            Ok(TaxGrade::D) => 4.0,
            Ok(TaxGrade::M) | Err(_) => 2.0,
        },
        Product::Farmer => match code.parse::<FarmerGrade>() {
            Ok(FarmerGrade::Aaa) => 0.0,
            Ok(FarmerGrade::Aa) => 1.0,
            Ok(FarmerGrade::A) => 2.0,
            Ok(FarmerGrade::BelowLine) | Err(_) => 3.0,
        },
    }
}

/// The characteristic the baseline ranks by.
pub fn baseline_characteristic(product: Product) -> &'static str {
    match product {
        Product::Sme => "tax_grade",
        Product::Farmer => "farmer_grade",
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

    fn est(auc: f64, se: f64, bads: usize) -> AucEstimate {
        AucEstimate {
            auc,
            std_error: se,
            lower: auc - 1.96 * se,
            upper: auc + 1.96 * se,
            bads,
            goods: 10 * bads,
        }
    }

    fn against(against: &str, cand: f64, reference: f64, se: f64) -> Comparison {
        let d = cand - reference;
        Comparison {
            against: against.into(),
            id: "ref".into(),
            test: PairedAuc {
                auc_a: cand,
                auc_b: reference,
                difference: d,
                std_error: se,
                lower: d - 1.96 * se,
                upper: d + 1.96 * se,
                p_value: crate::lifecycle::delong::two_sided_p(d / se),
            },
        }
    }

    fn good() -> GateInputs {
        GateInputs {
            oot_auc: est(0.78, 0.02, 120),
            oot_ks: 0.42,
            champion: Some(against("champion", 0.78, 0.785, 0.01)),
            baseline: Some(against("baseline", 0.78, 0.70, 0.02)),
            psi_train_oot: 0.03,
            non_monotonic: vec![],
            wrong_sign: vec![],
        }
    }

    #[test]
    fn a_sound_candidate_passes_every_gate() {
        let r = Gates::default().judge(&good());
        assert_eq!(r.verdict, Verdict::Pass, "{r:?}");
        assert!(r.failures.is_empty());
    }

    #[test]
    fn a_candidate_worse_than_the_champion_by_more_than_the_margin_is_refused() {
        let g = GateInputs {
            champion: Some(against("champion", 0.77, 0.785, 0.01)),
            ..good()
        };
        let r = Gates::default().judge(&g);
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.failures.len(), 1);
        assert!(r.failures[0].contains("against the champion"), "{r:?}");
    }

    /// Within the allowed drop but significantly worse on the paired test: refused.
    #[test]
    fn a_candidate_significantly_worse_than_the_champion_is_refused_within_the_drop() {
        let g = GateInputs {
            champion: Some(against("champion", 0.78, 0.7895, 0.002)),
            ..good()
        };
        let f = Gates::default().failures(&g);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].contains("DeLong p = 0.000"), "{f:?}");
    }

    /// The issue's farmer champion: AUC 0.303, Gini −0.39, one bad out of time, nothing to
    /// compare with. Under the old gates it passed (unsigned KS 0.39, no champion).
    #[test]
    fn the_issues_backwards_model_cannot_pass() {
        let backwards = GateInputs {
            oot_auc: est(0.303, 0.15, 1),
            oot_ks: -0.39,
            champion: None,
            baseline: None,
            ..good()
        };
        let r = Gates::default().judge(&backwards);
        assert_eq!(r.verdict, Verdict::InsufficientEvidence, "{r:?}");
        assert!(r.failures.iter().any(|f| f.contains("1 bads")));
        assert!(r
            .failures
            .iter()
            .any(|f| f.contains("signed out-of-time KS -0.390")));
        // With plenty of bads the same ranking is a plain failure, on the interval and the sign.
        let r = Gates::default().judge(&GateInputs {
            oot_auc: est(0.303, 0.02, 200),
            ..backwards
        });
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r
            .failures
            .iter()
            .any(|f| f.contains("risk ranked the right way")));
    }

    #[test]
    fn an_interval_touching_the_margin_is_not_a_pass() {
        // AUC 0.60 is above 0.55, but its interval reaches down to 0.53.
        let r = Gates::default().judge(&GateInputs {
            oot_auc: est(0.60, 0.035, 40),
            ..good()
        });
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.failures[0].contains("must exceed 0.55"), "{r:?}");
    }

    #[test]
    fn thin_evidence_is_its_own_verdict_even_when_the_figures_look_fine() {
        let r = Gates::default().judge(&GateInputs {
            oot_auc: est(0.80, 0.02, 29),
            ..good()
        });
        assert_eq!(r.verdict, Verdict::InsufficientEvidence);
        assert_eq!(r.failures.len(), 1, "{r:?}");
        let r = Gates::from(GateThresholds {
            min_oot_bads: 29,
            ..GateThresholds::default()
        })
        .judge(&GateInputs {
            oot_auc: est(0.80, 0.02, 29),
            ..good()
        });
        assert_eq!(r.verdict, Verdict::Pass);
    }

    #[test]
    fn a_first_champion_answers_to_the_baseline() {
        let first = GateInputs {
            champion: None,
            baseline: Some(against("baseline", 0.70, 0.74, 0.01)),
            ..good()
        };
        let f = Gates::default().failures(&first);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].contains("against the baseline"), "{f:?}");
        // With a champion, the champion is the reference.
        assert!(Gates::default()
            .failures(&GateInputs {
                champion: Some(against("champion", 0.70, 0.70, 0.01)),
                ..first
            })
            .is_empty());
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
            oot_auc: est(f64::NAN, f64::NAN, 100),
            ..good()
        };
        assert_eq!(Gates::default().failures(&g).len(), 3);
    }
}
