//! Characteristic selection before and after the regression: an information-value floor, then
//! a correlation screen on the WoE-transformed values (of each highly correlated pair the higher
//! IV survives), and a record of why each characteristic was kept or dropped.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Why a characteristic is in or out of the scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Decision {
    Selected,
    LowIv {
        min_iv: f64,
    },
    Correlated {
        with: String,
        correlation: f64,
    },
    WrongSign {
        coefficient: f64,
    },
    /// A column with nothing to bin: every value missing, or one value for every row.
    Unusable {
        reason: String,
    },
}

/// One line of the selection log kept in the artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionRecord {
    pub name: String,
    pub iv: f64,
    #[serde(flatten)]
    pub decision: Decision,
    /// What happened on the way, e.g. a re-binning after a wrong-sign coefficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Pearson correlation of two WoE-coded columns, computed from their joint bin counts (the WoE
/// value is a function of the bin, so the 2-D histogram is all that is needed).
pub fn woe_correlation(a: &[u8], wa: &[f64], b: &[u8], wb: &[f64]) -> f64 {
    let (na, nb) = (wa.len(), wb.len());
    let mut joint = vec![0u64; na * nb];
    for (&x, &y) in a.iter().zip(b) {
        joint[x as usize * nb + y as usize] += 1;
    }
    let n = a.len() as f64;
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in 0..na {
        for j in 0..nb {
            let c = joint[i * nb + j] as f64;
            if c == 0.0 {
                continue;
            }
            let (x, y) = (wa[i], wb[j]);
            sa += c * x;
            sb += c * y;
            saa += c * x * x;
            sbb += c * y * y;
            sab += c * x * y;
        }
    }
    let cov = sab / n - (sa / n) * (sb / n);
    let va = saa / n - (sa / n).powi(2);
    let vb = sbb / n - (sb / n).powi(2);
    if va <= 1e-15 || vb <= 1e-15 {
        return 0.0;
    }
    cov / (va.sqrt() * vb.sqrt())
}

/// A characteristic offered to selection: (index, name, IV, bin per row, WoE per bin).
pub type Candidate<'a> = (usize, &'a str, f64, &'a [u8], &'a [f64]);

/// Screens candidates (index, name, IV, bin index per row, WoE per bin). Returns the kept indices
/// in descending IV order and a record for every candidate.
pub fn screen(
    candidates: &[Candidate<'_>],
    min_iv: f64,
    max_correlation: f64,
) -> (Vec<usize>, Vec<SelectionRecord>) {
    let mut records = Vec::new();
    for c in candidates.iter().filter(|c| c.2 < min_iv) {
        records.push(SelectionRecord {
            name: c.1.to_owned(),
            iv: c.2,
            decision: Decision::LowIv { min_iv },
            note: None,
        });
    }
    let passing = by_falling_iv(candidates.iter().map(|c| c.2), min_iv);
    // All pairwise correlations up front, in parallel: the data pass dominates.
    let m = passing.len();
    let pairs: Vec<(usize, usize)> = (0..m)
        .flat_map(|i| (i + 1..m).map(move |j| (i, j)))
        .collect();
    let corr: Vec<f64> = pairs
        .par_iter()
        .map(|&(i, j)| {
            let (a, b) = (&candidates[passing[i]], &candidates[passing[j]]);
            woe_correlation(a.3, a.4, b.3, b.4)
        })
        .collect();
    let corr_of = |i: usize, j: usize| {
        let (i, j) = if i < j { (i, j) } else { (j, i) };
        // index of (i, j) in the upper-triangle enumeration
        corr[i * m - i * (i + 1) / 2 + (j - i - 1)]
    };
    let mut kept_idx = Vec::new();
    for (i, clash) in greedy(m, max_correlation, corr_of).into_iter().enumerate() {
        let c = &candidates[passing[i]];
        match clash {
            Some((k, r)) => records.push(SelectionRecord {
                name: c.1.to_owned(),
                iv: c.2,
                decision: Decision::Correlated {
                    with: candidates[passing[k]].1.to_owned(),
                    correlation: r,
                },
                note: None,
            }),
            None => kept_idx.push(c.0),
        }
    }
    (kept_idx, records)
}

/// Positions of the values at or above `min_iv`, by falling IV (stable for ties).
pub(crate) fn by_falling_iv(ivs: impl Iterator<Item = f64>, min_iv: f64) -> Vec<usize> {
    let ivs: Vec<f64> = ivs.collect();
    let mut passing: Vec<usize> = (0..ivs.len()).filter(|&i| ivs[i] >= min_iv).collect();
    passing.sort_by(|&x, &y| ivs[y].total_cmp(&ivs[x]));
    passing
}

/// The correlation screen over `m` candidates already in falling IV order: each is kept unless
/// its WoE correlates above `max_correlation` (in absolute value) with one kept before it, which
/// is returned with the correlation. The one definition the fit and the tuning both use.
pub(crate) fn greedy(
    m: usize,
    max_correlation: f64,
    corr_of: impl Fn(usize, usize) -> f64,
) -> Vec<Option<(usize, f64)>> {
    let mut kept: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(m);
    for i in 0..m {
        let clash = kept
            .iter()
            .map(|&k| (k, corr_of(k, i)))
            .find(|&(_, r)| r.abs() > max_correlation);
        if clash.is_none() {
            kept.push(i);
        }
        out.push(clash);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_matches_a_direct_computation() {
        let a: Vec<u8> = (0..100).map(|i| (i % 3) as u8).collect();
        let b: Vec<u8> = (0..100).map(|i| ((i / 2) % 2) as u8).collect();
        let (wa, wb) = ([0.5, -0.2, 1.0], [0.3, -0.7]);
        let xa: Vec<f64> = a.iter().map(|&i| wa[i as usize]).collect();
        let xb: Vec<f64> = b.iter().map(|&i| wb[i as usize]).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (ma, mb) = (mean(&xa), mean(&xb));
        let cov: f64 = xa.iter().zip(&xb).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = xa.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = xb.iter().map(|y| (y - mb).powi(2)).sum();
        let direct = cov / (va * vb).sqrt();
        assert!((woe_correlation(&a, &wa, &b, &wb) - direct).abs() < 1e-12);
    }

    #[test]
    fn of_a_correlated_pair_the_higher_iv_stays() {
        let a: Vec<u8> = (0..100).map(|i| (i % 2) as u8).collect();
        let w = [0.4, -0.4];
        let other: Vec<u8> = (0..100).map(|i| ((i / 7) % 2) as u8).collect();
        let cands = vec![
            (0, "weak_copy", 0.10, a.as_slice(), &w[..]),
            (1, "strong", 0.30, a.as_slice(), &w[..]),
            (2, "independent", 0.05, other.as_slice(), &w[..]),
            (3, "noise", 0.001, other.as_slice(), &w[..]),
        ];
        let (kept, log) = screen(&cands, 0.02, 0.8);
        assert_eq!(kept, vec![1, 2]);
        assert!(log
            .iter()
            .any(|r| r.name == "weak_copy" && matches!(r.decision, Decision::Correlated { .. })));
        assert!(log
            .iter()
            .any(|r| r.name == "noise" && matches!(r.decision, Decision::LowIv { .. })));
    }
}
