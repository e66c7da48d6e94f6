//! Logistic regression of "bad" on the WoE values, with linfa-logistic doing the fit and the
//! standard errors computed here from the Hessian `XᵀWX` at the fitted coefficients.
//!
//! linfa 0.8.1 labels the *more frequent* class as its positive class, so on credit data (bads a
//! minority) its raw coefficients describe the log-odds of *good*. [`bad_log_odds`] is the one
//! place that turns them into log-odds of bad; everything else in the crate uses its output.

use linfa::prelude::*;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use ndarray::{Array1, ArrayView2};
use rayon::prelude::*;

use crate::error::{Result, TrainingError};

/// Coefficients of `logit P(bad) = intercept + Σ coefficients[j] · x[j]`, with inference.
#[derive(Debug, Clone, PartialEq)]
pub struct LogitFit {
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// Standard errors: intercept first, then one per coefficient.
    pub std_errors: Vec<f64>,
    /// Two-sided Wald p-values, same order as `std_errors`.
    pub p_values: Vec<f64>,
    /// The L2 penalty finally used (raised if the solver failed at the requested one).
    pub alpha: f64,
}

/// Intercept and coefficients for the log-odds of **bad**, whatever class linfa made positive.
pub fn bad_log_odds(model: &FittedLogisticRegression<f64, bool>) -> (f64, Array1<f64>) {
    if model.labels().pos.class {
        (model.intercept(), model.params().clone())
    } else {
        (-model.intercept(), -model.params())
    }
}

/// Fits `logit P(bad)` on `x`. If linfa's line search fails (it can at weak regularisation), the
/// penalty is raised tenfold and the fit retried, up to four times; the error is returned, never
/// unwrapped.
pub fn fit_logistic(
    x: ArrayView2<f64>,
    bad: &[bool],
    alpha: f64,
    max_iterations: u64,
) -> Result<LogitFit> {
    let targets = Array1::from_iter(bad.iter().copied());
    // Warm start near the usual answer on WoE inputs (each coefficient about −1 alone, shrunk a
    // little for overlap; intercept at the sample log-odds). It only saves solver iterations:
    // the result does not depend on it. linfa works in its own class convention (the more
    // frequent class positive, the first seen on a tie), so the guess is expressed in it.
    let n_bad = bad.iter().filter(|&&b| b).count();
    let n_good = bad.len() - n_bad;
    let bad_positive = n_bad > n_good || (n_bad == n_good && bad.first() == Some(&true));
    let sign = if bad_positive { 1.0 } else { -1.0 };
    let log_odds = ((n_bad.max(1)) as f64 / (n_good.max(1)) as f64).ln();
    let init: Array1<f64> = (0..x.ncols())
        .map(|_| -0.8 * sign)
        .chain(std::iter::once(log_odds * sign))
        .collect();
    let dataset = DatasetBase::new(x, targets);
    let mut alpha_try = alpha;
    let mut last_err = String::new();
    for attempt in 1..=4 {
        let fitted = LogisticRegression::default()
            .alpha(alpha_try)
            .max_iterations(max_iterations)
            .gradient_tolerance(1e-4 * bad.len() as f64)
            .initial_params(init.clone())
            .fit(&dataset);
        match fitted {
            Ok(model) => {
                let (intercept, coef) = bad_log_odds(&model);
                if !intercept.is_finite() || coef.iter().any(|c| !c.is_finite()) {
                    last_err = "non-finite coefficients".into();
                } else {
                    let (std_errors, p_values) =
                        inference(x, intercept, coef.as_slice().unwrap_or(&coef.to_vec()));
                    return Ok(LogitFit {
                        intercept,
                        coefficients: coef.to_vec(),
                        std_errors,
                        p_values,
                        alpha: alpha_try,
                    });
                }
            }
            Err(e) => last_err = e.to_string(),
        }
        let _ = attempt;
        alpha_try = if alpha_try == 0.0 {
            1e-3
        } else {
            alpha_try * 10.0
        };
    }
    Err(TrainingError::Solver {
        attempts: 4,
        message: last_err,
    })
}

/// Standard errors and p-values from the inverse of `H = Σ p(1−p) x̃ x̃ᵀ`, `x̃ = [1, x]`.
fn inference(x: ArrayView2<f64>, intercept: f64, coef: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let k = coef.len() + 1;
    let h = (0..x.nrows())
        .into_par_iter()
        .with_min_len(8192)
        .fold(
            || vec![0.0; k * k],
            |mut h, r| {
                let row = x.row(r);
                let z = intercept + row.iter().zip(coef).map(|(a, b)| a * b).sum::<f64>();
                let p = 1.0 / (1.0 + (-z).exp());
                let w = p * (1.0 - p);
                let xt = |i: usize| if i == 0 { 1.0 } else { row[i - 1] };
                for i in 0..k {
                    let wi = w * xt(i);
                    for j in i..k {
                        h[i * k + j] += wi * xt(j);
                    }
                }
                h
            },
        )
        .reduce(
            || vec![0.0; k * k],
            |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect(),
        );
    let mut full = h.clone();
    for i in 0..k {
        for j in 0..i {
            full[i * k + j] = h[j * k + i];
        }
    }
    let estimates: Vec<f64> = std::iter::once(intercept)
        .chain(coef.iter().copied())
        .collect();
    match invert(&full, k) {
        Some(inv) => (0..k)
            .map(|i| {
                let se = inv[i * k + i].max(0.0).sqrt();
                (se, two_sided_p(estimates[i] / se))
            })
            .unzip(),
        // Singular Hessian: report undefined inference rather than invent numbers.
        None => (vec![f64::NAN; k], vec![f64::NAN; k]),
    }
}

/// Gauss–Jordan inverse with partial pivoting; `None` if singular.
pub(crate) fn invert(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut m = a.to_vec();
    let mut inv: Vec<f64> = (0..k * k)
        .map(|i| if i / k == i % k { 1.0 } else { 0.0 })
        .collect();
    for c in 0..k {
        let p = (c..k).max_by(|&i, &j| m[i * k + c].abs().total_cmp(&m[j * k + c].abs()))?;
        if m[p * k + c].abs() < 1e-12 {
            return None;
        }
        for j in 0..k {
            m.swap(c * k + j, p * k + j);
            inv.swap(c * k + j, p * k + j);
        }
        let d = m[c * k + c];
        for j in 0..k {
            m[c * k + j] /= d;
            inv[c * k + j] /= d;
        }
        for i in 0..k {
            if i != c {
                let f = m[i * k + c];
                if f != 0.0 {
                    for j in 0..k {
                        m[i * k + j] -= f * m[c * k + j];
                        inv[i * k + j] -= f * inv[c * k + j];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// `2 · (1 − Φ(|z|)) = erfc(|z| / √2)`.
pub(crate) fn two_sided_p(z: f64) -> f64 {
    if !z.is_finite() {
        return if z.is_nan() { f64::NAN } else { 0.0 };
    }
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Complementary error function, Numerical Recipes `erfcc` (relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Bads are the minority and rise with x: whatever linfa calls positive, the coefficient we
    /// report must be positive (more x, more bad) and the intercept must give roughly the
    /// observed bad rate at x = 0.
    #[test]
    fn bad_is_the_event_even_when_it_is_the_minority() {
        let n = 2000;
        let x: Vec<f64> = (0..n).map(|i| (i % 100) as f64 / 50.0 - 1.0).collect();
        // P(bad) = logistic(-2 + 1.5 x), deterministic thresholds on a hash-like sequence.
        let bad: Vec<bool> = (0..n)
            .map(|i| {
                let p = 1.0 / (1.0 + (-(-2.0 + 1.5 * x[i])).exp());
                ((i * 7919) % 1000) as f64 / 1000.0 < p
            })
            .collect();
        assert!(bad.iter().filter(|&&b| b).count() < n / 2);
        let xm = Array2::from_shape_vec((n, 1), x).unwrap();
        let fit = fit_logistic(xm.view(), &bad, 1e-3, 200).unwrap();
        assert!(
            fit.coefficients[0] > 1.0 && fit.coefficients[0] < 2.0,
            "{fit:?}"
        );
        assert!(fit.intercept < -1.5 && fit.intercept > -2.5, "{fit:?}");
        // linfa itself made the majority (good) positive: the pinning really flipped signs.
        let raw = LogisticRegression::default()
            .alpha(1e-3)
            .fit(&DatasetBase::new(xm.view(), Array1::from(bad.clone())))
            .unwrap();
        assert!(!raw.labels().pos.class);
        assert!(raw.params()[0] < 0.0);
    }

    #[test]
    fn inverse_and_p_values_match_known_values() {
        let inv = invert(&[4.0, 7.0, 2.0, 6.0], 2).unwrap();
        let expect = [0.6, -0.7, -0.2, 0.4];
        for (a, b) in inv.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!((two_sided_p(1.959_964) - 0.05).abs() < 1e-6);
        assert!((two_sided_p(0.0) - 1.0).abs() < 1e-6);
    }
}
