//! Binning a numeric characteristic, stage by stage: quantile cuts, counts per pre-bin (missing
//! and special values apart), the best partition under each candidate trend, and the bins.

use super::{Bin, BinRule, Binning, Kind};
use crate::merge::{best_partition, Constraints, Partition};
use crate::settings::{Settings, Trend};

/// With [`Trend::AutoShaped`], the penalty per parameter of the shape criterion, in units of
/// ln(rows): the Bayesian information criterion's. See [`shape_criterion`].
pub const SHAPE_PENALTY_PER_PARAMETER: f64 = 1.0;

/// The penalised fit by which [`Trend::AutoShaped`] chooses between the best ascending,
/// descending, peak and valley partitions: the likelihood-ratio statistic G² of the grouped bad
/// rates against one common rate (2·Σ over groups of observed · ln(observed / expected), goods
/// and bads) minus ln(rows) for every parameter the shape spends: one per group beyond the
/// first, and one more for a peak's or valley's turning point (BIC). A turn is therefore kept
/// only when it explains the data better by more than the extra groups and the turn cost — on
/// noise around a monotonic trend it does not, on a U it does by a wide margin.
pub fn shape_criterion(goods: &[u64], bads: &[u64], starts: &[usize], turns: bool) -> f64 {
    let (tg, tb): (u64, u64) = (goods.iter().sum(), bads.iter().sum());
    let n = (tg + tb) as f64;
    if n == 0.0 {
        return f64::NEG_INFINITY;
    }
    let (rg, rb) = (tg as f64 / n, tb as f64 / n);
    let term = |o: f64, e: f64| if o > 0.0 { o * (o / e).ln() } else { 0.0 };
    let mut g2 = 0.0;
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(goods.len());
        let (g, b): (u64, u64) = (goods[s..e].iter().sum(), bads[s..e].iter().sum());
        let m = (g + b) as f64;
        g2 += 2.0 * (term(g as f64, m * rg) + term(b as f64, m * rb));
    }
    let parameters = (starts.len() - 1 + usize::from(turns)) as f64;
    g2 - SHAPE_PENALTY_PER_PARAMETER * parameters * n.ln()
}

/// Constraints shared by numeric and categorical merging.
pub(crate) fn constraints(
    s: &Settings,
    n_rows: usize,
    trend: Trend,
    tg: u64,
    tb: u64,
) -> Constraints {
    Constraints {
        min_count: (s.min_bin_share * n_rows as f64).ceil() as u64,
        max_bins: s.max_bins,
        trend,
        total_goods: tg,
        total_bads: tb,
        smoothing: s.woe_smoothing,
    }
}

/// Writes into `out[i]` the value of rank `ranks[i]` (0-based, strictly increasing, relative to
/// `base`) in the ascending order of `v`, reordering `v`. Recursive selection around the middle
/// rank: O(n · log(ranks)) instead of a sort's O(n · log n).
fn select_ranks(v: &mut [f64], base: usize, ranks: &[usize], out: &mut [f64]) {
    if ranks.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let r = ranks[mid] - base;
    let (left, x, right) = v.select_nth_unstable_by(r, f64::total_cmp);
    out[mid] = *x;
    let (out_left, out_right) = out.split_at_mut(mid);
    select_ranks(left, base, &ranks[..mid], out_left);
    select_ranks(right, base + r + 1, &ranks[mid + 1..], &mut out_right[1..]);
}

/// Bins a numeric characteristic.
pub fn bin_numeric(name: &str, values: &[f64], target: &[bool], s: &Settings) -> Binning {
    let cuts = quantile_cuts(values, s);
    let pre = PreBins::count(cuts, values, target, s);
    let (trend, part) = choose_partition(&pre, s);
    pre.into_binning(name, trend, part, s)
}

/// Bins a numeric characteristic on pre-bin cuts found earlier ([`quantile_cuts`] of a larger
/// sample): the cross-validation folds share their sample's cuts, which use no outcome.
pub(crate) fn bin_numeric_on_cuts(
    name: &str,
    values: &[f64],
    target: &[bool],
    cuts: &[f64],
    s: &Settings,
) -> Binning {
    let pre = PreBins::count(cuts.to_vec(), values, target, s);
    let (trend, part) = choose_partition(&pre, s);
    pre.into_binning(name, trend, part, s)
}

/// Stage 1: the pre-bin cuts, the distinct values at ranks q·m/prebins of the column's regular
/// (not missing, not special) values.
pub(crate) fn quantile_cuts(values: &[f64], s: &Settings) -> Vec<f64> {
    let is_special = |x: f64| s.special_values.contains(&x);
    let mut regular: Vec<f64> = values
        .iter()
        .copied()
        .filter(|&x| !x.is_nan() && !is_special(x))
        .collect();
    let mut cuts: Vec<f64> = Vec::new();
    let m = regular.len();
    if m == 0 {
        return cuts;
    }
    // The values at ranks q·m/prebins of the sorted column, found by selection instead of
    // a full sort (the same values; a sort was a tenth of a million-row fit's CPU).
    let mut ranks: Vec<usize> = (1..s.prebins).map(|q| q * m / s.prebins).collect();
    ranks.dedup();
    let mut at = vec![0.0; ranks.len()];
    select_ranks(&mut regular, 0, &ranks, &mut at);
    let lo = regular.iter().copied().fold(f64::INFINITY, f64::min);
    let value_at = |r: usize| at[ranks.partition_point(|&x| x < r)];
    for q in 1..s.prebins {
        let v = value_at(q * m / s.prebins);
        if v > lo && cuts.last().is_none_or(|&c| v > c) {
            cuts.push(v);
        }
    }
    cuts
}

/// Stage 2: goods and bads per pre-bin, per special value and in the missing bin.
struct PreBins {
    cuts: Vec<f64>,
    goods: Vec<u64>,
    bads: Vec<u64>,
    /// (value, goods, bads) for every configured special value.
    special: Vec<(f64, u64, u64)>,
    missing: (u64, u64),
    rows: usize,
    total_goods: u64,
    total_bads: u64,
}

impl PreBins {
    fn count(cuts: Vec<f64>, values: &[f64], target: &[bool], s: &Settings) -> Self {
        let np = cuts.len() + 1;
        let (mut g, mut b) = (vec![0u64; np], vec![0u64; np]);
        let mut special: Vec<(f64, u64, u64)> =
            s.special_values.iter().map(|&v| (v, 0, 0)).collect();
        let (mut mg, mut mb) = (0u64, 0u64);
        for (&x, &bad) in values.iter().zip(target) {
            let slot = if x.is_nan() {
                (&mut mg, &mut mb)
            } else if let Some(sp) = special.iter_mut().find(|sp| sp.0 == x) {
                (&mut sp.1, &mut sp.2)
            } else {
                let p = cuts.partition_point(|c| *c <= x);
                (&mut g[p], &mut b[p])
            };
            if bad {
                *slot.1 += 1;
            } else {
                *slot.0 += 1;
            }
        }
        let tb = target.iter().filter(|&&t| t).count() as u64;
        PreBins {
            cuts,
            goods: g,
            bads: b,
            special,
            missing: (mg, mb),
            rows: values.len(),
            total_goods: values.len() as u64 - tb,
            total_bads: tb,
        }
    }

    fn solve(&self, trend: Trend, s: &Settings) -> Option<Partition> {
        let c = constraints(s, self.rows, trend, self.total_goods, self.total_bads);
        best_partition(&self.goods, &self.bads, &c)
    }

    /// Stage 4: the bins of the chosen partition, then the special and missing bins.
    fn into_binning(
        self,
        name: &str,
        trend: Trend,
        part: Option<Partition>,
        s: &Settings,
    ) -> Binning {
        let np = self.cuts.len() + 1;
        let starts = part.map_or(vec![0], |p| p.starts);
        let mut bins = Vec::with_capacity(starts.len() + self.special.len() + 1);
        let bin = |rule, goods, bads| Bin {
            rule,
            goods,
            bads,
            woe: 0.0,
            iv: 0.0,
            points: 0,
        };
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(np);
            let lower = (start > 0).then(|| self.cuts[start - 1]);
            let upper = (end < np).then(|| self.cuts[end - 1]);
            bins.push(bin(
                BinRule::Range { lower, upper },
                self.goods[start..end].iter().sum(),
                self.bads[start..end].iter().sum(),
            ));
        }
        for (value, goods, bads) in self.special.into_iter().filter(|sp| sp.1 + sp.2 > 0) {
            bins.push(bin(BinRule::Special { value }, goods, bads));
        }
        bins.push(bin(BinRule::Missing, self.missing.0, self.missing.1));
        Binning::finish(
            name,
            Kind::Numeric,
            trend,
            bins,
            self.total_goods,
            self.total_bads,
            s.woe_smoothing,
        )
    }
}

/// Stage 3: the trend and the best partition under it (for [`Trend::Auto`] and
/// [`Trend::AutoShaped`], the best of the candidate shapes).
fn choose_partition(pre: &PreBins, s: &Settings) -> (Trend, Option<Partition>) {
    match s.trend {
        Trend::Auto | Trend::AutoShaped => {
            let iv = |p: &Option<Partition>| p.as_ref().map_or(f64::NEG_INFINITY, |p| p.iv);
            let (up, down) = (
                pre.solve(Trend::Ascending, s),
                pre.solve(Trend::Descending, s),
            );
            let mut best = if iv(&down) > iv(&up) {
                (Trend::Descending, down)
            } else {
                (Trend::Ascending, up)
            };
            if s.trend == Trend::AutoShaped {
                // A peak or valley partition includes every monotonic one, so it always fits at
                // least as well: keep it only when it wins on the penalised criterion.
                let score = |t: Trend, p: &Option<Partition>| {
                    p.as_ref().map_or(f64::NEG_INFINITY, |p| {
                        let turns = matches!(t, Trend::Peak | Trend::Valley);
                        shape_criterion(&pre.goods, &pre.bads, &p.starts, turns)
                    })
                };
                let mut top = score(best.0, &best.1);
                for t in [Trend::Peak, Trend::Valley] {
                    let p = pre.solve(t, s);
                    let v = score(t, &p);
                    if v > top {
                        top = v;
                        best = (t, p);
                    }
                }
            }
            best
        }
        t => (t, pre.solve(t, s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked example. x = 1..=20, bads at x ∈ {1,2,3,4,6,11}, plus one missing good and
    /// one missing bad (22 rows: G = 15, B = 7). With 4 pre-bins the quantile cuts are 6, 11, 16:
    /// [1,6) 1g 4b · [6,11) 4g 1b · [11,16) 4g 1b · [16,∞) 5g 0b. The last has no bads, so it
    /// must join [11,16) (9g 1b, rate 0.1); rates 0.8 > 0.2 > 0.1 are strictly descending, and
    /// no ascending partition comes close, so the card is three ranges plus the missing bin.
    #[test]
    fn hand_worked_bins_woe_and_iv() {
        let mut x: Vec<f64> = (1..=20).map(f64::from).collect();
        let mut y: Vec<bool> = (1..=20).map(|i| [1, 2, 3, 4, 6, 11].contains(&i)).collect();
        x.extend([f64::NAN, f64::NAN]);
        y.extend([false, true]);
        let s = Settings::default().prebins(4);
        let bn = bin_numeric("x", &x, &y, &s);
        assert_eq!(bn.trend, Trend::Descending);
        let rules: Vec<_> = bn
            .bins
            .iter()
            .map(|b| (b.rule.clone(), b.goods, b.bads))
            .collect();
        assert_eq!(
            rules,
            vec![
                (
                    BinRule::Range {
                        lower: None,
                        upper: Some(6.0)
                    },
                    1,
                    4
                ),
                (
                    BinRule::Range {
                        lower: Some(6.0),
                        upper: Some(11.0)
                    },
                    4,
                    1
                ),
                (
                    BinRule::Range {
                        lower: Some(11.0),
                        upper: None
                    },
                    9,
                    1
                ),
                (BinRule::Missing, 1, 1),
            ]
        );
        // By hand, a = 0.5: WoE = ln(((g+.5)/15.5) / ((b+.5)/7.5)).
        let expected_woe = [-1.824_549, 0.372_675, 1.119_890, -0.725_937];
        for (bin, w) in bn.bins.iter().zip(expected_woe) {
            assert!((bin.woe - w).abs() < 1e-5, "{} vs {w}", bin.woe);
        }
        // IV terms 0.918160 + 0.033661 + 0.462406 + 0.074935
        assert!((bn.iv - 1.489_163).abs() < 1e-5, "{}", bn.iv);
    }

    proptest::proptest! {
        #[test]
        fn selected_ranks_equal_the_sorted_values(
            mut v in proptest::collection::vec(-50.0f64..50.0, 1..300),
            k in 2usize..60,
        ) {
            let m = v.len();
            let mut ranks: Vec<usize> = (1..k).map(|q| q * m / k).collect();
            ranks.dedup();
            let mut sorted = v.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let mut at = vec![0.0; ranks.len()];
            select_ranks(&mut v, 0, &ranks, &mut at);
            for (r, x) in ranks.iter().zip(&at) {
                proptest::prop_assert_eq!(sorted[*r], *x);
            }
        }
    }

    /// A U-shaped risk (bads at both ends): `Auto` must stay monotonic and so finds little,
    /// `AutoShaped` finds the valley; a plainly monotonic risk stays monotonic under both.
    #[test]
    fn auto_shaped_takes_a_valley_only_when_it_pays() {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..20_000 {
            let v = f64::from(i % 100);
            x.push(v);
            // bad rate 30% at the ends, 3% in the middle
            let p = 0.03 + 0.27 * ((v - 50.0) / 50.0).powi(2);
            y.push((i * 7919 % 1000) as f64 / 1000.0 < p);
        }
        let mono = bin_numeric("x", &x, &y, &Settings::default().trend(Trend::Auto));
        assert!(matches!(mono.trend, Trend::Ascending | Trend::Descending));
        assert!(mono.follows_trend());
        let shaped = bin_numeric("x", &x, &y, &Settings::default().trend(Trend::AutoShaped));
        assert_eq!(shaped.trend, Trend::Valley);
        assert!(shaped.follows_trend());
        assert!(shaped.iv > 2.0 * mono.iv, "{} vs {}", shaped.iv, mono.iv);

        let y2: Vec<bool> = (0..20_000)
            .map(|i| (i * 7919 % 1000) as f64 / 1000.0 < 0.02 + 0.003 * f64::from(i % 100))
            .collect();
        let plain = bin_numeric("x", &x, &y2, &Settings::default().trend(Trend::AutoShaped));
        assert_eq!(plain.trend, Trend::Ascending);
    }

    /// Deterministic credit-like data from a few drawn parameters: integer-valued or continuous
    /// `x` (ties and plateaus), a bad probability that follows a random shape in `x` (often not
    /// monotonic), rare or common bads, missing values and a special code.
    pub(crate) fn synthetic(
        n: usize,
        seed: u64,
        base: f64,
        shape: [f64; 3],
        integer: bool,
    ) -> (Vec<f64>, Vec<bool>) {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let u = next();
                let x = if integer {
                    (u * 25.0).floor()
                } else {
                    (u * 3.0).exp()
                };
                let z =
                    base + shape[0] * u + shape[1] * (u - 0.5).powi(2) + shape[2] * (9.0 * u).sin();
                let bad = next() < 1.0 / (1.0 + (-z).exp());
                let r = next();
                let x = if r < 0.05 {
                    f64::NAN
                } else if r < 0.08 {
                    -1.0
                } else {
                    x
                };
                (x, bad)
            })
            .unzip()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Every numeric characteristic binned with [`Trend::Auto`] (ascending or descending,
        /// chosen from the data) comes out monotonic in bad rate and WoE over its regular bins, as the promotion
        /// gate checks it.
        #[test]
        fn default_numeric_binning_is_always_monotonic(
            n in 300usize..6000,
            seed in proptest::num::u64::ANY,
            base in -4.5f64..0.0,
            shape in proptest::array::uniform3(-3.0f64..3.0),
            integer in proptest::bool::ANY,
            special in proptest::bool::ANY,
        ) {
            let (x, y) = synthetic(n, seed, base, shape, integer);
            proptest::prop_assume!(y.iter().any(|&b| b) && y.iter().any(|&b| !b));
            let mut s = Settings::default();
            if special {
                s = s.special_values(vec![-1.0]);
            }
            // The shaped choice follows whatever shape it picks.
            let shaped = bin_numeric("x", &x, &y, &s.clone().trend(Trend::AutoShaped));
            proptest::prop_assert!(shaped.follows_trend(), "{:?}", shaped.bins);
            proptest::prop_assert!(!matches!(shaped.trend, Trend::Auto | Trend::AutoShaped | Trend::Free));
            let bn = bin_numeric("x", &x, &y, &s.clone().trend(Trend::Auto));
            proptest::prop_assert!(matches!(bn.trend, Trend::Ascending | Trend::Descending));
            let st: Vec<(f64, f64, u64)> = bn.regular_bins()
                .map(|b| (b.bad_rate().unwrap(), b.woe, b.goods + b.bads)).collect();
            proptest::prop_assert!(bn.follows_trend(), "{:?} {:?}", bn.trend, st);
            for w in st.windows(2) {
                match bn.trend {
                    Trend::Ascending => proptest::prop_assert!(w[1].0 > w[0].0 && w[1].1 < w[0].1, "{:?}", st),
                    _ => proptest::prop_assert!(w[1].0 < w[0].0 && w[1].1 > w[0].1, "{:?}", st),
                }
            }
            proptest::prop_assert!(bn.regular_bins().count() <= s.max_bins);
            let total: u64 = bn.bins.iter().map(|b| b.goods + b.bads).sum();
            proptest::prop_assert_eq!(total, x.len() as u64);
        }

    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]
        /// The same through a whole fit (fewer cases: each is a whole fit): every
        /// characteristic on the fitted card follows its trend, which is what the lifecycle's
        /// monotonic-bins gate reads.
        #[test]
        fn every_fitted_characteristic_is_monotonic(
            n in 2000usize..8000,
            seed in proptest::num::u64::ANY,
            base in -4.0f64..-1.0,
            shapes in proptest::array::uniform4(proptest::array::uniform3(-2.0f64..2.0)),
        ) {
            let mut state = seed | 1;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            let mut cols: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
            let mut cat = Vec::with_capacity(n);
            let mut y = Vec::with_capacity(n);
            for _ in 0..n {
                let mut z = base;
                for (k, sh) in shapes.iter().enumerate() {
                    let u = next();
                    z += sh[0] * u + sh[1] * (u - 0.5).powi(2) + sh[2] * (7.0 * u).sin();
                    let x = match k {
                        0 => (u * 30.0).floor(),
                        1 => (u * 4.0).exp(),
                        _ => u,
                    };
                    cols[k].push(if next() < 0.04 { f64::NAN } else { x });
                }
                let c = (next() * 6.0) as usize;
                z += [0.0, 0.3, -0.2, 0.5, 0.1, -0.4][c];
                cat.push(Some(["a", "b", "c", "d", "e", "f"][c]));
                y.push(next() < 1.0 / (1.0 + (-z).exp()));
            }
            let mut columns: Vec<crate::Column> = cols
                .into_iter()
                .enumerate()
                .map(|(k, v)| crate::Column::numeric(format!("x{k}"), v))
                .collect();
            columns.push(crate::Column::categorical("sector", cat));
            let frame = crate::Frame::new(columns, y);
            proptest::prop_assume!(frame.validate().is_ok());
            match crate::fit(&frame, &Settings::default()) {
                Ok(fitted) => {
                    for c in &fitted.model.scorecard().characteristics {
                        proptest::prop_assert!(c.follows_trend(), "{} {:?}", c.name, c.bins);
                    }
                }
                // Pure noise can leave nothing above the IV floor; that is not a shape failure.
                Err(crate::TrainingError::NoCharacteristics { .. }) => {}
                Err(e) => proptest::prop_assert!(false, "{e}"),
            }
        }

        #[test]
        fn numeric_bins_follow_their_trend(
            xs in proptest::collection::vec((-100.0f64..100.0, proptest::bool::ANY), 50..400)
        ) {
            let x: Vec<f64> = xs.iter().map(|p| p.0).collect();
            let y: Vec<bool> = xs.iter().map(|p| p.1).collect();
            let bn = bin_numeric("x", &x, &y, &Settings::default().prebins(20));
            let rates: Vec<f64> = bn.bins.iter().filter(|b| matches!(b.rule, BinRule::Range { .. }))
                .filter_map(|b| b.bad_rate()).collect();
            for w in rates.windows(2) {
                match bn.trend {
                    Trend::Ascending => proptest::prop_assert!(w[1] > w[0]),
                    Trend::Descending => proptest::prop_assert!(w[1] < w[0]),
                    _ => {}
                }
            }
            proptest::prop_assert!(bn.follows_trend());
            let total: u64 = bn.bins.iter().map(|b| b.goods + b.bads).sum();
            proptest::prop_assert_eq!(total, x.len() as u64);
        }
    }
}
