//! Settings chosen by cross-validation: the bin count, IV floor, correlation limit and L2
//! strength that rank held-out rows best, with the one-standard-error rule toward the simpler
//! card.
//!
//! The training sample (a stratified subsample above [`Tuning::max_rows`]) is cut into `k`
//! folds: stratified ones, or, for data in time order, out-of-time ones (train on the earlier
//! blocks, validate on the next). Each fold is fitted under every combination of the candidate
//! values and scored by its validation AUC. The pre-bin cuts are computed once on the sample and
//! shared by all folds (they use no outcome, so sharing them leaks nothing); the correlation
//! matrix is computed once per fold and bin count; identical selections share one regression.
//! Folds run in parallel. In the folds a wrong-sign characteristic is dropped (the final fit
//! first tries re-binning it coarser).

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::binning::{bin_numeric_on_cuts, quantile_cuts, Binning, Locator};
use crate::categorical::bin_categorical;
use crate::error::{Result, TrainingError};
use crate::fit::{unusable, woe_matrix};
use crate::frame::{ColumnData, Frame};
use crate::logistic::fit_logistic;
use crate::metrics::auc;
use crate::selection::{by_falling_iv, greedy, woe_correlation};
use crate::settings::Settings;

/// How the folds are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoldScheme {
    /// Random folds, each with its share of bads and goods.
    Stratified,
    /// The rows are in time order: `k + 1` consecutive blocks; fold `f` trains on blocks
    /// `0..=f` and validates on block `f + 1`, always later than what it trained on.
    OutOfTime,
}

/// How a candidate is judged "within one standard error" of the best mean AUC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandardErrorRule {
    /// The candidate's fold-by-fold AUC differences from the best candidate: its mean shortfall
    /// is within the standard error of those differences. The folds are shared, so what makes
    /// one fold easier than another cancels out and only the candidates' own difference is left
    /// (a paired comparison). The default.
    Paired,
    /// The candidate's mean AUC is within the best row's standard error (the spread of the
    /// best row's fold AUCs / √folds), the textbook rule. On large samples the fold-to-fold
    /// spread of the AUC itself dwarfs the candidates' differences, so this rule goes to the
    /// simplest card even where a richer one is better on every fold.
    BestSpread,
}

/// What to tune and how. Each list holds the candidate values of one setting; a list of one
/// value fixes that setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// Number of folds. Default 5.
    pub folds: usize,
    pub scheme: FoldScheme,
    /// Above this many rows the tuning runs on a stratified (or, out of time, evenly spaced)
    /// subsample of this size. Default 60,000: on the 1,000,000-row wide table the full sample
    /// chose the same settings (docs/benchmarks.md).
    pub max_rows: usize,
    pub max_bins: Vec<usize>,
    /// Smallest share of the rows in a regular bin: with the bin count, how fine a
    /// characteristic may be cut. A share of 0.02 lets the tails of a U or a steep trend have
    /// bins of their own, which 0.05 merges into their neighbours.
    #[serde(default = "default_min_bin_shares")]
    pub min_bin_share: Vec<f64>,
    pub min_iv: Vec<f64>,
    pub max_correlation: Vec<f64>,
    pub l2_alpha: Vec<f64>,
    /// Seed of the fold assignment and the subsample.
    pub seed: u64,
    /// How "within one standard error of the best" is judged. Default [`StandardErrorRule::Paired`].
    #[serde(default = "paired")]
    pub rule: StandardErrorRule,
}

fn default_min_bin_shares() -> Vec<f64> {
    vec![0.05, 0.02]
}

fn paired() -> StandardErrorRule {
    StandardErrorRule::Paired
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            folds: 5,
            scheme: FoldScheme::Stratified,
            max_rows: 60_000,
            max_bins: vec![5, 8, 12],
            min_bin_share: default_min_bin_shares(),
            min_iv: vec![0.005, 0.02],
            max_correlation: vec![0.8, 0.9],
            l2_alpha: vec![1.0, 10.0],
            seed: 42,
            rule: StandardErrorRule::Paired,
        }
    }
}

/// One candidate combination of settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub max_bins: usize,
    /// Absent in artifacts tuned before it was a candidate setting: those had the fixed 0.05.
    #[serde(default = "five_percent")]
    pub min_bin_share: f64,
    pub min_iv: f64,
    pub max_correlation: f64,
    pub l2_alpha: f64,
}

fn five_percent() -> f64 {
    0.05
}

impl Candidate {
    /// `base` with this candidate's four settings.
    pub fn apply(&self, base: &Settings) -> Settings {
        base.clone()
            .max_bins(self.max_bins)
            .min_bin_share(self.min_bin_share)
            .min_iv(self.min_iv)
            .max_correlation(self.max_correlation)
            .l2_alpha(self.l2_alpha)
    }
}

/// One line of the cross-validation table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvRow {
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Mean validation AUC over the folds.
    pub mean_auc: f64,
    /// Standard error of that mean (fold standard deviation / √folds).
    pub std_error: f64,
    /// Mean of the fold-by-fold AUC differences from the best row (best − this; 0 for the best).
    #[serde(default)]
    pub shortfall: f64,
    /// Standard error of those paired differences (their standard deviation / √folds).
    #[serde(default)]
    pub paired_std_error: f64,
    /// Mean number of characteristics on the fold cards.
    pub characteristics: f64,
    /// Rank from simplest (0): fewer bins, larger smallest bin, higher IV floor, lower
    /// correlation limit, stronger L2 (the sum of each setting's rank in its list).
    pub complexity: usize,
}

/// The outcome of tuning, kept in the model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningReport {
    /// `"5-fold stratified"`, `"5-fold out-of-time"` or `"hold-out"`.
    pub method: String,
    pub folds: usize,
    /// Rows the tuning ran on, and the training rows it could have used.
    pub rows: usize,
    pub rows_available: usize,
    pub chosen: Candidate,
    /// The row with the best mean AUC (the one-standard-error rule may choose a simpler one).
    pub best: Candidate,
    /// The rule that chose (absent in artifacts written before the paired rule: those used
    /// [`StandardErrorRule::BestSpread`]).
    #[serde(default = "best_spread")]
    pub rule: StandardErrorRule,
    pub table: Vec<CvRow>,
    pub warnings: Vec<String>,
    pub seconds: f64,
}

fn best_spread() -> StandardErrorRule {
    StandardErrorRule::BestSpread
}

/// Chooses the settings by cross-validation on `train` (never on any test sample).
pub fn tune(train: &Frame, base: &Settings, t: &Tuning) -> Result<TuningReport> {
    let started = Instant::now();
    base.validate()?;
    train.validate()?;
    let grid = Grid::new(t);
    if grid.candidates.is_empty() {
        return Err(TrainingError::InvalidSetting {
            name: "tuning",
            reason: "every candidate list needs at least one value".into(),
        });
    }
    for (c, _) in &grid.candidates {
        c.apply(base).validate()?;
    }
    let mut warnings = Vec::new();
    let n = train.n_rows();
    let sample = if n > t.max_rows {
        match t.scheme {
            FoldScheme::Stratified => {
                let keep = t.max_rows as f64 / n as f64;
                train.stratified_split(1.0 - keep, t.seed).0
            }
            FoldScheme::OutOfTime => {
                let rows: Vec<usize> = (0..t.max_rows).map(|i| i * n / t.max_rows).collect();
                train.take(&rows)
            }
        }
    } else {
        train.clone()
    };
    let (bads, goods) = (sample.n_bads(), sample.n_rows() - sample.n_bads());
    let k = t.folds.max(2);
    let (method, splits) = if bads < k || goods < k {
        warnings.push(format!(
            "{bads} bads and {goods} goods are too few for {k} folds: tuned on one stratified 30% hold-out instead"
        ));
        let fold = sample.stratified_folds(10, t.seed);
        let valid: Vec<bool> = fold.iter().map(|&f| f < 3).collect();
        ("hold-out".to_owned(), vec![split_rows(&valid)])
    } else {
        match t.scheme {
            FoldScheme::Stratified => {
                let fold = sample.stratified_folds(k, t.seed);
                let splits = (0..k)
                    .map(|f| {
                        let is_valid: Vec<bool> = fold.iter().map(|&x| x == f).collect();
                        split_rows(&is_valid)
                    })
                    .collect();
                (format!("{k}-fold stratified"), splits)
            }
            FoldScheme::OutOfTime => {
                let m = sample.n_rows();
                let block = |b: usize| b * m / (k + 1);
                let splits = (0..k)
                    .map(|f| {
                        (
                            (0..block(f + 1)).collect(),
                            (block(f + 1)..block(f + 2)).collect(),
                        )
                    })
                    .collect();
                (format!("{k}-fold out-of-time"), splits)
            }
        }
    };
    // Folds whose validation or training rows lack a class cannot be scored; leave them out.
    let splits: Vec<(Vec<usize>, Vec<usize>)> = splits
        .into_iter()
        .filter(|(tr, va): &(Vec<usize>, Vec<usize>)| {
            let both = |rows: &[usize]| {
                let b = rows.iter().filter(|&&r| sample.target[r]).count();
                b > 0 && b < rows.len()
            };
            both(tr) && both(va)
        })
        .collect();
    if splits.is_empty() {
        warnings.push("no fold holds both bads and goods: settings not tuned".into());
        let c = grid.default_of(base);
        return Ok(TuningReport {
            method,
            folds: 0,
            rows: sample.n_rows(),
            rows_available: n,
            chosen: c,
            best: c,
            rule: t.rule,
            table: Vec::new(),
            warnings,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let usable: Vec<bool> = train
        .columns
        .iter()
        .map(|c| unusable(c).is_none())
        .collect();
    // Pre-bin cuts once for every fold.
    let cuts: Vec<Option<Vec<f64>>> = sample
        .columns
        .par_iter()
        .map(|c| match &c.data {
            ColumnData::Numeric(v) => Some(quantile_cuts(v, base)),
            ColumnData::Categorical(_) => None,
        })
        .collect();
    let per_fold: Vec<Vec<(f64, usize)>> = splits
        .par_iter()
        .map(|(tr, va)| {
            run_fold(
                &sample.take(tr),
                &sample.take(va),
                &cuts,
                &usable,
                base,
                &grid,
            )
        })
        .collect::<Result<_>>()?;
    let folds = per_fold.len();
    let mean_and_se = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let sd = if v.len() > 1 {
            (v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        (mean, sd / (v.len() as f64).sqrt())
    };
    let means: Vec<f64> = (0..grid.candidates.len())
        .map(|c| per_fold.iter().map(|f| f[c].0).sum::<f64>() / folds as f64)
        .collect();
    let best_index = (0..means.len())
        .max_by(|&a, &b| means[a].total_cmp(&means[b]))
        .expect("the grid is never empty");
    let table: Vec<CvRow> = grid
        .candidates
        .iter()
        .enumerate()
        .map(|(c, &(candidate, complexity))| {
            let aucs: Vec<f64> = per_fold.iter().map(|f| f[c].0).collect();
            let (mean_auc, std_error) = mean_and_se(&aucs);
            let diffs: Vec<f64> = per_fold.iter().map(|f| f[best_index].0 - f[c].0).collect();
            let (shortfall, paired_std_error) = mean_and_se(&diffs);
            CvRow {
                candidate,
                mean_auc,
                std_error,
                shortfall,
                paired_std_error,
                characteristics: per_fold.iter().map(|f| f[c].1 as f64).sum::<f64>() / folds as f64,
                complexity,
            }
        })
        .collect();
    let best_candidate = table[best_index].candidate;
    let chosen = match t.rule {
        StandardErrorRule::Paired => one_paired_standard_error(&table),
        StandardErrorRule::BestSpread => one_standard_error(&table),
    };
    Ok(TuningReport {
        method,
        folds,
        rows: sample.n_rows(),
        rows_available: n,
        chosen,
        best: best_candidate,
        rule: t.rule,
        table,
        warnings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The simplest candidate whose mean AUC is within one standard error of the best mean (the
/// best's own standard error); among equally simple ones, the higher mean.
pub fn one_standard_error(table: &[CvRow]) -> Candidate {
    let best = table
        .iter()
        .max_by(|a, b| a.mean_auc.total_cmp(&b.mean_auc))
        .expect("a table to choose from");
    let floor = best.mean_auc - best.std_error;
    table
        .iter()
        .filter(|r| r.mean_auc >= floor)
        .min_by(|a, b| {
            a.complexity
                .cmp(&b.complexity)
                .then(b.mean_auc.total_cmp(&a.mean_auc))
        })
        .map_or(best.candidate, |r| r.candidate)
}

/// The simplest candidate whose paired shortfall from the best (mean of the fold-by-fold AUC
/// differences) is within one standard error of those differences; among equally simple ones,
/// the higher mean. The best row itself always qualifies (shortfall 0).
pub fn one_paired_standard_error(table: &[CvRow]) -> Candidate {
    let best = table
        .iter()
        .max_by(|a, b| a.mean_auc.total_cmp(&b.mean_auc))
        .expect("a table to choose from");
    table
        .iter()
        .filter(|r| r.shortfall <= r.paired_std_error)
        .min_by(|a, b| {
            a.complexity
                .cmp(&b.complexity)
                .then(b.mean_auc.total_cmp(&a.mean_auc))
        })
        .map_or(best.candidate, |r| r.candidate)
}

/// Row numbers split into (training, validation) by `is_valid`.
fn split_rows(is_valid: &[bool]) -> (Vec<usize>, Vec<usize>) {
    let (mut tr, mut va) = (Vec::new(), Vec::new());
    for (r, &v) in is_valid.iter().enumerate() {
        if v {
            va.push(r);
        } else {
            tr.push(r);
        }
    }
    (tr, va)
}

/// The candidates in a fixed order, each with its complexity rank.
struct Grid {
    /// Every (bin count, smallest bin share) pair: one binning of each fold per pair.
    binnings: Vec<(usize, f64)>,
    candidates: Vec<(Candidate, usize)>,
}

impl Grid {
    /// Each list sorted from the simplest card's value to the most complex one's.
    fn new(t: &Tuning) -> Self {
        let mut max_bins = t.max_bins.clone();
        max_bins.sort_unstable();
        max_bins.dedup();
        let sorted = |v: &[f64], falling: bool| {
            let mut v = v.to_vec();
            v.sort_by(|a, b| {
                if falling {
                    b.total_cmp(a)
                } else {
                    a.total_cmp(b)
                }
            });
            v.dedup();
            v
        };
        let min_share = sorted(&t.min_bin_share, true);
        let min_iv = sorted(&t.min_iv, true);
        let max_correlation = sorted(&t.max_correlation, false);
        let l2_alpha = sorted(&t.l2_alpha, true);
        let mut candidates = Vec::new();
        let mut binnings = Vec::new();
        for (a, &mb) in max_bins.iter().enumerate() {
            for (e, &share) in min_share.iter().enumerate() {
                binnings.push((mb, share));
                for (b, &iv) in min_iv.iter().enumerate() {
                    for (c, &mc) in max_correlation.iter().enumerate() {
                        for (d, &l2) in l2_alpha.iter().enumerate() {
                            candidates.push((
                                Candidate {
                                    max_bins: mb,
                                    min_bin_share: share,
                                    min_iv: iv,
                                    max_correlation: mc,
                                    l2_alpha: l2,
                                },
                                a + e + b + c + d,
                            ));
                        }
                    }
                }
            }
        }
        Grid {
            binnings,
            candidates,
        }
    }

    fn default_of(&self, base: &Settings) -> Candidate {
        Candidate {
            max_bins: base.max_bins,
            min_bin_share: base.min_bin_share,
            min_iv: base.min_iv,
            max_correlation: base.max_correlation,
            l2_alpha: base.l2_alpha,
        }
    }
}

/// A characteristic in one fold: its bins, the bin of every training and every validation row,
/// and the WoE of each bin.
type FoldColumn = (Binning, Vec<u8>, Vec<u8>, Vec<f64>);

/// One fold: validation AUC and characteristic count of every candidate, in grid order.
fn run_fold(
    tr: &Frame,
    va: &Frame,
    cuts: &[Option<Vec<f64>>],
    usable: &[bool],
    base: &Settings,
    grid: &Grid,
) -> Result<Vec<(f64, usize)>> {
    let mut out = vec![(0.5, 0); grid.candidates.len()];
    for &(mb, share) in &grid.binnings {
        let s = base.clone().max_bins(mb).min_bin_share(share);
        // Bins on the fold's training rows, bin indices of both parts, WoE per bin.
        let binned: Vec<FoldColumn> = tr
            .columns
            .par_iter()
            .zip(&va.columns)
            .zip(cuts)
            .map(|((c, v), cut)| {
                let b = match (&c.data, cut) {
                    (ColumnData::Numeric(x), Some(cut)) => {
                        bin_numeric_on_cuts(&c.name, x, &tr.target, cut, &s)
                    }
                    (ColumnData::Categorical(d), _) => bin_categorical(&c.name, d, &tr.target, &s),
                    (ColumnData::Numeric(x), None) => {
                        crate::binning::bin_numeric(&c.name, x, &tr.target, &s)
                    }
                };
                let loc = Locator::new(&b)?;
                let (it, iv) = (loc.assign(&c.name, &c.data)?, loc.assign(&v.name, &v.data)?);
                let w = b.bins.iter().map(|x| x.woe).collect();
                Ok((b, it, iv, w))
            })
            .collect::<Result<_>>()?;
        let m = binned.len();
        let pairs: Vec<(usize, usize)> = (0..m)
            .flat_map(|i| (i + 1..m).map(move |j| (i, j)))
            .collect();
        let corr: Vec<f64> = pairs
            .par_iter()
            .map(|&(i, j)| woe_correlation(&binned[i].1, &binned[i].3, &binned[j].1, &binned[j].3))
            .collect();
        // Identical selections under this binning share one regression.
        let mut fits: HashMap<(Vec<usize>, u64), (f64, usize)> = HashMap::new();
        let corr_of = |i: usize, j: usize| {
            let (i, j) = if i < j { (i, j) } else { (j, i) };
            corr[i * m - i * (i + 1) / 2 + (j - i - 1)]
        };
        for (c, (cand, _)) in grid.candidates.iter().enumerate() {
            if (cand.max_bins, cand.min_bin_share) != (mb, share) {
                continue;
            }
            let ivs = binned
                .iter()
                .zip(usable)
                .map(|(b, &u)| if u { b.0.iv } else { f64::NEG_INFINITY });
            let passing = by_falling_iv(ivs, cand.min_iv);
            let clashes = greedy(passing.len(), cand.max_correlation, |i, j| {
                corr_of(passing[i], passing[j])
            });
            let kept: Vec<usize> = passing
                .iter()
                .zip(&clashes)
                .filter(|(_, c)| c.is_none())
                .map(|(&i, _)| i)
                .collect();
            if kept.is_empty() {
                continue;
            }
            let key = (kept.clone(), cand.l2_alpha.to_bits());
            if let Some(&hit) = fits.get(&key) {
                out[c] = hit;
                continue;
            }
            let result =
                fit_and_validate(&binned, kept, &tr.target, &va.target, cand.l2_alpha, base)?;
            fits.insert(key, result);
            out[c] = result;
        }
    }
    Ok(out)
}

/// Regresses the fold's training rows on `kept` (dropping wrong-sign characteristics) and
/// returns the validation AUC and the number of characteristics left.
fn fit_and_validate(
    binned: &[FoldColumn],
    mut kept: Vec<usize>,
    y_train: &[bool],
    y_valid: &[bool],
    l2: f64,
    base: &Settings,
) -> Result<(f64, usize)> {
    loop {
        let cols: Vec<(&[u8], &[f64])> = kept
            .iter()
            .map(|&i| (binned[i].1.as_slice(), binned[i].3.as_slice()))
            .collect();
        let x = woe_matrix(&cols);
        let fit = fit_logistic(x.view(), y_train, l2, base.max_iterations)?;
        let right: Vec<usize> = (0..kept.len())
            .filter(|&j| fit.coefficients[j] < 0.0)
            .collect();
        if right.len() < kept.len() {
            kept = right.into_iter().map(|j| kept[j]).collect();
            if kept.is_empty() {
                return Ok((0.5, 0));
            }
            continue;
        }
        let risk: Vec<f64> = (0..y_valid.len())
            .map(|r| {
                fit.intercept
                    + kept
                        .iter()
                        .zip(&fit.coefficients)
                        .map(|(&i, c)| c * binned[i].3[binned[i].2[r] as usize])
                        .sum::<f64>()
            })
            .collect();
        return Ok((auc(&risk, y_valid), kept.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(max_bins: usize, mean_auc: f64, std_error: f64, complexity: usize) -> CvRow {
        CvRow {
            candidate: Candidate {
                max_bins,
                min_bin_share: 0.05,
                min_iv: 0.02,
                max_correlation: 0.8,
                l2_alpha: 1.0,
            },
            mean_auc,
            std_error,
            shortfall: 0.0,
            paired_std_error: 0.0,
            characteristics: 5.0,
            complexity,
        }
    }

    /// A row `shortfall` below the best on average, with that paired standard error.
    fn paired(max_bins: usize, mean_auc: f64, shortfall: f64, se: f64, complexity: usize) -> CvRow {
        CvRow {
            shortfall,
            paired_std_error: se,
            ..row(max_bins, mean_auc, 0.01, complexity)
        }
    }

    /// The best mean is 0.80 ± 0.01: 0.795 (simpler) is within one standard error and is chosen;
    /// 0.785 (simplest) is not.
    #[test]
    fn one_standard_error_rule_prefers_the_simpler_card_within_reach() {
        let table = [
            row(5, 0.785, 0.01, 0),
            row(8, 0.795, 0.01, 1),
            row(12, 0.80, 0.01, 2),
        ];
        assert_eq!(one_standard_error(&table).max_bins, 8);
        let tight = [
            row(5, 0.785, 0.001, 0),
            row(8, 0.795, 0.001, 1),
            row(12, 0.80, 0.001, 2),
        ];
        assert_eq!(one_standard_error(&tight).max_bins, 12);
    }

    /// Fold spread 0.01 hides a difference of 0.003 that every fold shows: the best-spread rule
    /// goes to the simplest card, the paired rule keeps the better one; a shortfall within its
    /// own paired standard error is still "as good" and the simpler card wins.
    #[test]
    fn paired_rule_keeps_a_gain_every_fold_shows() {
        let consistent = [
            paired(5, 0.797, 0.003, 0.0004, 0),
            paired(8, 0.799, 0.001, 0.0003, 1),
            paired(12, 0.800, 0.0, 0.0, 2),
        ];
        assert_eq!(one_standard_error(&consistent).max_bins, 5);
        assert_eq!(one_paired_standard_error(&consistent).max_bins, 12);
        let noisy = [
            paired(5, 0.797, 0.003, 0.004, 0),
            paired(8, 0.799, 0.001, 0.003, 1),
            paired(12, 0.800, 0.0, 0.0, 2),
        ];
        assert_eq!(one_paired_standard_error(&noisy).max_bins, 5);
    }
}
