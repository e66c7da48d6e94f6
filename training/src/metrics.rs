//! Model quality and stability measures. Every function takes a *risk* ordering where a higher
//! value means more likely bad (a PD, or a negated score), and `bad[i] = true` for bads.

use serde::{Deserialize, Serialize};

/// Sorted (risk, bad) pairs, riskiest first.
fn ordered(risk: &[f64], bad: &[bool]) -> Vec<(f64, bool)> {
    let mut v: Vec<(f64, bool)> = risk.iter().copied().zip(bad.iter().copied()).collect();
    v.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    v
}

/// Walks groups of equal risk (riskiest first), yielding cumulative (bads, goods) after each.
fn cumulative(v: &[(f64, bool)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut b, mut g) = (0u64, 0u64);
    let mut i = 0;
    while i < v.len() {
        let r = v[i].0;
        while i < v.len() && v[i].0 == r {
            if v[i].1 {
                b += 1
            } else {
                g += 1
            }
            i += 1;
        }
        out.push((b, g));
    }
    out
}

/// Area under the ROC curve: the chance a random bad is ranked riskier than a random good,
/// ties counting one half. `NaN` if either class is absent.
pub fn auc(risk: &[f64], bad: &[bool]) -> f64 {
    let v = ordered(risk, bad);
    let cum = cumulative(&v);
    let (tb, tg) = cum.last().copied().unwrap_or((0, 0));
    if tb == 0 || tg == 0 {
        return f64::NAN;
    }
    let (mut pb, mut pg) = (0u64, 0u64);
    let mut area = 0.0;
    for &(b, g) in &cum {
        // goods in this tie group, each beaten by all bads ranked above plus half the tied bads
        area += (g - pg) as f64 * (pb as f64 + (b - pb) as f64 / 2.0);
        pb = b;
        pg = g;
    }
    area / (tb as f64 * tg as f64)
}

/// Gini coefficient (accuracy ratio) = 2·AUC − 1.
pub fn gini(auc: f64) -> f64 {
    2.0 * auc - 1.0
}

/// ROC points (false-positive rate, true-positive rate) from (0,0) to (1,1).
pub fn roc_curve(risk: &[f64], bad: &[bool]) -> Vec<(f64, f64)> {
    let cum = cumulative(&ordered(risk, bad));
    let (tb, tg) = cum.last().copied().unwrap_or((0, 0));
    let mut out = vec![(0.0, 0.0)];
    out.extend(
        cum.iter()
            .map(|&(b, g)| (g as f64 / tg.max(1) as f64, b as f64 / tb.max(1) as f64)),
    );
    out
}

/// Kolmogorov–Smirnov statistic: the largest gap between the cumulative bad and good shares
/// over all cut-offs.
pub fn ks(risk: &[f64], bad: &[bool]) -> f64 {
    ks_curve(risk, bad)
        .iter()
        .map(|p| (p.1 - p.2).abs())
        .fold(0.0, f64::max)
}

/// KS curve points (share of population, cumulative bad share, cumulative good share).
pub fn ks_curve(risk: &[f64], bad: &[bool]) -> Vec<(f64, f64, f64)> {
    let cum = cumulative(&ordered(risk, bad));
    let (tb, tg) = cum.last().copied().unwrap_or((0, 0));
    let n = (tb + tg).max(1) as f64;
    let mut out = vec![(0.0, 0.0, 0.0)];
    out.extend(cum.iter().map(|&(b, g)| {
        (
            (b + g) as f64 / n,
            b as f64 / tb.max(1) as f64,
            g as f64 / tg.max(1) as f64,
        )
    }));
    out
}

/// Mean squared error of the PD.
pub fn brier(pd: &[f64], bad: &[bool]) -> f64 {
    pd.iter()
        .zip(bad)
        .map(|(&p, &b)| (p - b as u8 as f64).powi(2))
        .sum::<f64>()
        / pd.len().max(1) as f64
}

/// Mean negative log-likelihood, PDs clipped to [1e-15, 1 − 1e-15].
pub fn log_loss(pd: &[f64], bad: &[bool]) -> f64 {
    let s: f64 = pd
        .iter()
        .zip(bad)
        .map(|(&p, &b)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if b {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    s / pd.len().max(1) as f64
}

/// One row of a gains or calibration table (groups of equal size, riskiest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub group: usize,
    pub rows: u64,
    pub bads: u64,
    pub bad_rate: f64,
    pub mean_pd: f64,
    pub min_pd: f64,
    pub max_pd: f64,
    /// Share of all bads captured by this group and the riskier ones.
    pub cum_bad_share: f64,
    pub cum_good_share: f64,
    /// Bad rate over the overall bad rate.
    pub lift: f64,
}

/// Equal-count groups by PD, riskiest first: the gains table (deciles with `groups = 10`) and,
/// comparing `mean_pd` with `bad_rate`, the calibration table.
pub fn gains(pd: &[f64], bad: &[bool], groups: usize) -> Vec<GroupRow> {
    let v = ordered(pd, bad);
    let n = v.len();
    let (tb, tg) = (
        bad.iter().filter(|&&b| b).count() as f64,
        bad.iter().filter(|&&b| !b).count() as f64,
    );
    let overall = tb / n.max(1) as f64;
    let (mut cb, mut cg) = (0.0, 0.0);
    (0..groups)
        .filter_map(|k| {
            let chunk = &v[k * n / groups..(k + 1) * n / groups];
            if chunk.is_empty() {
                return None;
            }
            let bads = chunk.iter().filter(|x| x.1).count() as u64;
            cb += bads as f64;
            cg += (chunk.len() as u64 - bads) as f64;
            let bad_rate = bads as f64 / chunk.len() as f64;
            Some(GroupRow {
                group: k + 1,
                rows: chunk.len() as u64,
                bads,
                bad_rate,
                mean_pd: chunk.iter().map(|x| x.0).sum::<f64>() / chunk.len() as f64,
                min_pd: chunk[chunk.len() - 1].0,
                max_pd: chunk[0].0,
                cum_bad_share: cb / tb.max(1.0),
                cum_good_share: cg / tg.max(1.0),
                lift: if overall > 0.0 {
                    bad_rate / overall
                } else {
                    f64::NAN
                },
            })
        })
        .collect()
}

/// Population stability index from counts per bin:
/// `Σ (a% − e%) · ln(a% / e%)`, each share floored at 1e-4 so an empty bin stays finite.
pub fn psi_from_counts(expected: &[u64], actual: &[u64]) -> f64 {
    let (te, ta) = (
        expected.iter().sum::<u64>().max(1) as f64,
        actual.iter().sum::<u64>().max(1) as f64,
    );
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = ((e as f64 / te).max(1e-4), (a as f64 / ta).max(1e-4));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// PSI of two score samples over `bins` bins cut at the expected sample's quantiles
/// (< 0.10 stable, 0.10–0.25 watch, ≥ 0.25 significant shift).
pub fn psi(expected: &[f64], actual: &[f64], bins: usize) -> f64 {
    let mut sorted = expected.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut cuts: Vec<f64> = (1..bins).map(|q| sorted[q * sorted.len() / bins]).collect();
    cuts.dedup();
    let count = |xs: &[f64]| {
        let mut c = vec![0u64; cuts.len() + 1];
        for &x in xs {
            c[cuts.partition_point(|&k| k <= x)] += 1;
        }
        c
    };
    psi_from_counts(&count(expected), &count(actual))
}

/// Characteristic stability index: the PSI formula over one characteristic's scorecard bins
/// (training counts per bin against recent counts per bin, same bin order).
pub fn csi(expected_bin_counts: &[u64], actual_bin_counts: &[u64]) -> f64 {
    psi_from_counts(expected_bin_counts, actual_bin_counts)
}

/// The headline measures of one model on one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub rows: u64,
    pub bads: u64,
    pub auc: f64,
    pub ks: f64,
    pub gini: f64,
    pub brier: f64,
    pub log_loss: f64,
    pub gains: Vec<GroupRow>,
}

impl Metrics {
    /// All measures for PDs `pd` against outcomes `bad`.
    pub fn of(pd: &[f64], bad: &[bool]) -> Self {
        let a = auc(pd, bad);
        Metrics {
            rows: pd.len() as u64,
            bads: bad.iter().filter(|&&b| b).count() as u64,
            auc: a,
            ks: ks(pd, bad),
            gini: gini(a),
            brier: brier(pd, bad),
            log_loss: log_loss(pd, bad),
            gains: gains(pd, bad, 10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_auc(risk: &[f64], bad: &[bool]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..risk.len() {
            for j in 0..risk.len() {
                if bad[i] && !bad[j] {
                    den += 1.0;
                    num += if risk[i] > risk[j] {
                        1.0
                    } else if risk[i] == risk[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        num / den
    }

    fn direct_ks(risk: &[f64], bad: &[bool]) -> f64 {
        let (tb, tg) = (
            bad.iter().filter(|&&b| b).count() as f64,
            bad.iter().filter(|&&b| !b).count() as f64,
        );
        risk.iter()
            .map(|&t| {
                let b = risk.iter().zip(bad).filter(|(&r, &y)| y && r >= t).count() as f64 / tb;
                let g = risk.iter().zip(bad).filter(|(&r, &y)| !y && r >= t).count() as f64 / tg;
                (b - g).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn small_known_case() {
        let risk = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let bad = [true, false, true, false, false, false];
        // bads beat 4 and 3 goods of 4: AUC = 7/8
        assert!((auc(&risk, &bad) - 0.875).abs() < 1e-12);
        assert!((ks(&risk, &bad) - 0.75).abs() < 1e-12);
        assert!((gini(0.875) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn psi_of_identical_samples_is_zero_and_of_shifted_is_large() {
        let a: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert!(psi(&a, &a, 10).abs() < 1e-12);
        let b: Vec<f64> = a.iter().map(|x| x + 500.0).collect();
        assert!(psi(&a, &b, 10) > 0.25);
        // hand: e = [.5,.5], a = [.6,.4]: .1 ln 1.2 + (−.1) ln .8 = 0.040547
        assert!((csi(&[50, 50], &[60, 40]) - 0.040_546_5).abs() < 1e-6);
    }

    proptest! {
        #[test]
        fn auc_and_ks_match_brute_force(cells in proptest::collection::vec((0u8..20, any::<bool>()), 2..80)) {
            let risk: Vec<f64> = cells.iter().map(|c| c.0 as f64).collect();
            let bad: Vec<bool> = cells.iter().map(|c| c.1).collect();
            let has_both = bad.iter().any(|&b| b) && bad.iter().any(|&b| !b);
            prop_assume!(has_both);
            let a = auc(&risk, &bad);
            prop_assert!((0.0..=1.0).contains(&a));
            prop_assert!((a - brute_auc(&risk, &bad)).abs() < 1e-12);
            prop_assert!((ks(&risk, &bad) - direct_ks(&risk, &bad)).abs() < 1e-12);
        }
    }
}
