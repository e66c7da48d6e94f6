//! DeLong, DeLong & Clarke-Pearson (1988): the AUC with its variance, and the paired comparison of
//! two risk orderings on the same loans. Written on the service side because the gates need the
//! variance, which the training crate's `metrics::auc` does not give.
//!
//! The structural components are computed from mid-ranks (Sun & Xu 2014), so a sample of n loans
//! costs O(n log n), not the O(bads × goods) of the definition.

use serde::{Deserialize, Serialize};

/// 97.5 % quantile of the standard normal: the half-width of a two-sided 95 % interval in
/// standard errors.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// One model's AUC on a sample, with its DeLong standard error and 95 % interval.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct AucEstimate {
    pub auc: f64,
    pub std_error: f64,
    pub lower: f64,
    pub upper: f64,
    pub bads: usize,
    pub goods: usize,
}

/// Two models on the same loans: the difference `a − b`, its DeLong standard error, interval and
/// two-sided p-value.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct PairedAuc {
    pub auc_a: f64,
    pub auc_b: f64,
    pub difference: f64,
    pub std_error: f64,
    pub lower: f64,
    pub upper: f64,
    pub p_value: f64,
}

/// The structural components of one risk ordering: V10 per bad and V01 per good.
struct Components {
    v10: Vec<f64>,
    v01: Vec<f64>,
}

/// Mid-ranks (1-based, ties share the mean of their ranks).
fn midranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_unstable_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = mid;
        }
        i = j + 1;
    }
    ranks
}

fn components(risk: &[f64], bad: &[bool]) -> Components {
    let bads: Vec<f64> = risk
        .iter()
        .zip(bad)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    let goods: Vec<f64> = risk
        .iter()
        .zip(bad)
        .filter(|p| !*p.1)
        .map(|p| *p.0)
        .collect();
    let (m, n) = (bads.len() as f64, goods.len() as f64);
    let all: Vec<f64> = bads.iter().chain(&goods).copied().collect();
    let rank_all = midranks(&all);
    let rank_bads = midranks(&bads);
    let rank_goods = midranks(&goods);
    // A bad's rank among everyone minus its rank among bads = goods it outranks (ties half).
    let v10 = (0..bads.len())
        .map(|i| (rank_all[i] - rank_bads[i]) / n)
        .collect();
    let v01 = (0..goods.len())
        .map(|j| 1.0 - (rank_all[bads.len() + j] - rank_goods[j]) / m)
        .collect();
    Components { v10, v01 }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample covariance (denominator len − 1); 0 for fewer than two values.
fn cov(x: &[f64], y: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let (mx, my) = (mean(x), mean(y));
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / (x.len() - 1) as f64
}

/// Two-sided p-value of a standard normal statistic.
pub fn two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// The AUC of `risk` (higher = more likely bad) with its DeLong interval. `None` unless the
/// sample holds both goods and bads.
pub fn auc(risk: &[f64], bad: &[bool]) -> Option<AucEstimate> {
    let c = components(risk, bad);
    if c.v10.is_empty() || c.v01.is_empty() {
        return None;
    }
    let a = mean(&c.v10);
    let var = cov(&c.v10, &c.v10) / c.v10.len() as f64 + cov(&c.v01, &c.v01) / c.v01.len() as f64;
    let se = var.max(0.0).sqrt();
    Some(AucEstimate {
        auc: a,
        std_error: se,
        lower: (a - Z_95 * se).max(0.0),
        upper: (a + Z_95 * se).min(1.0),
        bads: c.v10.len(),
        goods: c.v01.len(),
    })
}

/// DeLong's paired test of `a` against `b`, two risk orderings of the same loans.
pub fn paired(a: &[f64], b: &[f64], bad: &[bool]) -> Option<PairedAuc> {
    assert_eq!(a.len(), b.len(), "paired orderings cover the same loans");
    let (ca, cb) = (components(a, bad), components(b, bad));
    let (m, n) = (ca.v10.len(), ca.v01.len());
    if m == 0 || n == 0 {
        return None;
    }
    let (auc_a, auc_b) = (mean(&ca.v10), mean(&cb.v10));
    let var = (cov(&ca.v10, &ca.v10) + cov(&cb.v10, &cb.v10) - 2.0 * cov(&ca.v10, &cb.v10))
        / m as f64
        + (cov(&ca.v01, &ca.v01) + cov(&cb.v01, &cb.v01) - 2.0 * cov(&ca.v01, &cb.v01)) / n as f64;
    let se = var.max(0.0).sqrt();
    let difference = auc_a - auc_b;
    // Identical orderings: no difference and no doubt about it.
    let p_value = if se > 0.0 {
        two_sided_p(difference / se)
    } else if difference == 0.0 {
        1.0
    } else {
        0.0
    };
    Some(PairedAuc {
        auc_a,
        auc_b,
        difference,
        std_error: se,
        lower: difference - Z_95 * se,
        upper: difference + Z_95 * se,
        p_value,
    })
}

/// Signed Kolmogorov–Smirnov: the largest gap between the cumulative bad and good shares with
/// the riskiest first, keeping its sign. A model that ranks risk the right way has a positive KS;
/// one that ranks it backwards a negative one, which the unsigned statistic hid.
pub fn signed_ks(risk: &[f64], bad: &[bool]) -> f64 {
    training::metrics::ks_curve(risk, bad)
        .iter()
        .map(|p| p.1 - p.2)
        .fold(
            0.0,
            |best: f64, d| if d.abs() > best.abs() { d } else { best },
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The definition, O(bads × goods): ψ = 1 when the bad is riskier, ½ on a tie.
    fn brute(risk: &[f64], bad: &[bool]) -> Components {
        let bads: Vec<f64> = (0..risk.len())
            .filter(|&i| bad[i])
            .map(|i| risk[i])
            .collect();
        let goods: Vec<f64> = (0..risk.len())
            .filter(|&i| !bad[i])
            .map(|i| risk[i])
            .collect();
        let psi = |x: f64, y: f64| {
            if x > y {
                1.0
            } else if x == y {
                0.5
            } else {
                0.0
            }
        };
        Components {
            v10: bads
                .iter()
                .map(|&x| goods.iter().map(|&y| psi(x, y)).sum::<f64>() / goods.len() as f64)
                .collect(),
            v01: goods
                .iter()
                .map(|&y| bads.iter().map(|&x| psi(x, y)).sum::<f64>() / bads.len() as f64)
                .collect(),
        }
    }

    fn sample(seed: u64, n: usize, signal: f64) -> (Vec<f64>, Vec<f64>, Vec<bool>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut bad = Vec::new();
        for _ in 0..n {
            let y = rng.gen_bool(0.2);
            let s = if y { signal } else { 0.0 };
            // Rounded so that ties occur, which the mid-ranks must handle as the definition does.
            a.push(((s + rng.gen::<f64>()) * 10.0).round());
            b.push(((s * 0.5 + rng.gen::<f64>()) * 10.0).round());
            bad.push(y);
        }
        (a, b, bad)
    }

    #[test]
    fn mid_rank_components_equal_the_definition_with_ties() {
        let (a, _, bad) = sample(1, 300, 0.4);
        let fast = components(&a, &bad);
        let slow = brute(&a, &bad);
        for (x, y) in fast
            .v10
            .iter()
            .zip(&slow.v10)
            .chain(fast.v01.iter().zip(&slow.v01))
        {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
        let est = auc(&a, &bad).unwrap();
        assert!((est.auc - training::metrics::auc(&a, &bad)).abs() < 1e-12);
    }

    /// Hand-worked: bads at 3 and 2, goods at 2 and 1. ψ: (3,2)=1 (3,1)=1 (2,2)=½ (2,1)=1, so
    /// AUC = 3.5/4, V10 = (1, ¾), V01 = (¾, 1); S10 = S01 = 1/32; var = 1/64 + 1/64.
    #[test]
    fn a_hand_worked_variance() {
        let e = auc(&[3.0, 2.0, 2.0, 1.0], &[true, true, false, false]).unwrap();
        assert!((e.auc - 0.875).abs() < 1e-12);
        assert!(
            (e.std_error - (1.0f64 / 32.0).sqrt()).abs() < 1e-12,
            "{e:?}"
        );
    }

    /// The interval covers the true AUC about 95 % of the time: simulated samples of 400 loans
    /// from a known population (true AUC computed on a million draws).
    #[test]
    fn the_interval_has_its_nominal_coverage() {
        let (big_a, _, big_bad) = sample(99, 200_000, 0.4);
        let truth = training::metrics::auc(&big_a, &big_bad);
        let covered = (0..400)
            .filter(|s| {
                let (a, _, bad) = sample(1000 + s, 400, 0.4);
                let e = auc(&a, &bad).unwrap();
                e.lower <= truth && truth <= e.upper
            })
            .count();
        assert!((360..=394).contains(&covered), "{covered} of 400 covered");
    }

    #[test]
    fn the_paired_test_tells_a_stronger_ordering_from_itself() {
        let (a, b, bad) = sample(5, 2000, 0.5);
        let p = paired(&a, &b, &bad).unwrap();
        assert!(
            p.difference > 0.0 && p.p_value < 0.001 && p.lower > 0.0,
            "{p:?}"
        );
        let same = paired(&a, &a, &bad).unwrap();
        assert_eq!((same.difference, same.p_value), (0.0, 1.0));
        // Swapping the two flips the sign, not the p-value.
        let q = paired(&b, &a, &bad).unwrap();
        assert!((q.difference + p.difference).abs() < 1e-12);
        assert!((q.p_value - p.p_value).abs() < 1e-12);
    }

    #[test]
    fn ks_keeps_its_sign() {
        let (a, _, bad) = sample(7, 1000, 0.5);
        let forward = signed_ks(&a, &bad);
        let backward: Vec<f64> = a.iter().map(|x| -x).collect();
        assert!(forward > 0.2, "{forward}");
        assert!((signed_ks(&backward, &bad) + forward).abs() < 1e-9);
        assert!((forward - training::metrics::ks(&a, &bad)).abs() < 1e-12);
    }

    #[test]
    fn one_class_has_no_auc() {
        assert!(auc(&[1.0, 2.0], &[true, true]).is_none());
        assert!(paired(&[1.0], &[2.0], &[false]).is_none());
    }
}
