//! Categorical binning: rare categories are pooled, the rest (and the pool) are ordered by bad
//! rate, and the ordered list is merged like numeric pre-bins with an ascending trend. A missing
//! bin and an "unseen" bin (WoE 0, the average applicant) are always present, so any value an
//! applicant brings has a defined bin and documented points.

use crate::binning::{constraints, Bin, BinRule, Binning, Kind};
use crate::frame::{CategoricalData, MISSING_CODE};
use crate::merge::best_partition;
use crate::settings::{Settings, Trend};

/// Most groups entering the merge; beyond it the smallest categories join the rare pool.
const MAX_GROUPS: usize = 100;

/// Bins a categorical characteristic.
pub fn bin_categorical(
    name: &str,
    data: &CategoricalData,
    target: &[bool],
    s: &Settings,
) -> Binning {
    let n = data.len();
    let k = data.levels.len();
    let (mut g, mut b) = (vec![0u64; k], vec![0u64; k]);
    let (mut mg, mut mb) = (0u64, 0u64);
    for (&code, &bad) in data.codes.iter().zip(target) {
        let slot = if code == MISSING_CODE {
            (&mut mg, &mut mb)
        } else {
            (&mut g[code as usize], &mut b[code as usize])
        };
        if bad {
            *slot.1 += 1;
        } else {
            *slot.0 += 1;
        }
    }
    let tb = target.iter().filter(|&&t| t).count() as u64;
    let tg = n as u64 - tb;
    // Groups: each common level alone, rare ones pooled. Levels never present are left out and
    // will score as unseen.
    let rare_min = (s.rare_category_share * n as f64).ceil() as u64;
    let mut present: Vec<usize> = (0..k).filter(|&i| g[i] + b[i] > 0).collect();
    present.sort_by_key(|&i| std::cmp::Reverse(g[i] + b[i]));
    let mut groups: Vec<(Vec<usize>, u64, u64)> = Vec::new();
    let mut rare: (Vec<usize>, u64, u64) = (Vec::new(), 0, 0);
    for (rank, &i) in present.iter().enumerate() {
        if g[i] + b[i] < rare_min || rank >= MAX_GROUPS - 1 {
            rare.0.push(i);
            rare.1 += g[i];
            rare.2 += b[i];
        } else {
            groups.push((vec![i], g[i], b[i]));
        }
    }
    if !rare.0.is_empty() {
        groups.push(rare);
    }
    let rate = |gr: &(Vec<usize>, u64, u64)| gr.2 as f64 / (gr.1 + gr.2) as f64;
    groups.sort_by(|x, y| rate(x).total_cmp(&rate(y)));
    let gg: Vec<u64> = groups.iter().map(|x| x.1).collect();
    let bb: Vec<u64> = groups.iter().map(|x| x.2).collect();
    let starts = best_partition(&gg, &bb, &constraints(s, n, Trend::Ascending, tg, tb))
        .map_or(vec![0], |p| p.starts);
    let mut bins = Vec::new();
    if !groups.is_empty() {
        for (j, &start) in starts.iter().enumerate() {
            let end = starts.get(j + 1).copied().unwrap_or(groups.len());
            let mut values: Vec<String> = groups[start..end]
                .iter()
                .flat_map(|gr| gr.0.iter().map(|&i| data.levels[i].clone()))
                .collect();
            values.sort();
            let rule = BinRule::Categories { values };
            bins.push(Bin {
                rule,
                goods: gg[start..end].iter().sum(),
                bads: bb[start..end].iter().sum(),
                woe: 0.0,
                iv: 0.0,
                points: 0,
            });
        }
    }
    bins.push(Bin {
        rule: BinRule::Missing,
        goods: mg,
        bads: mb,
        woe: 0.0,
        iv: 0.0,
        points: 0,
    });
    bins.push(Bin {
        rule: BinRule::Unseen,
        goods: 0,
        bads: 0,
        woe: 0.0,
        iv: 0.0,
        points: 0,
    });
    Binning::finish(
        name,
        Kind::Categorical,
        Trend::Ascending,
        bins,
        tg,
        tb,
        s.woe_smoothing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binning::Locator;

    #[test]
    fn rare_categories_pool_and_unseen_scores_neutral() {
        // a: 400 rows 10% bad, b: 400 rows 40% bad, c and d: 5 rows each (rare at 1% of 810).
        let mut vals = Vec::new();
        let mut y = Vec::new();
        for i in 0..400 {
            vals.push(Some("a"));
            y.push(i % 10 == 0);
            vals.push(Some("b"));
            y.push(i % 10 < 4);
        }
        for i in 0..5 {
            vals.push(Some("c"));
            y.push(i == 0);
            vals.push(Some("d"));
            y.push(false);
        }
        let data = CategoricalData::from_options(vals);
        let bn = bin_categorical("sector", &data, &y, &Settings::default());
        let cats: Vec<_> = bn.bins.iter().map(|b| b.rule.clone()).collect();
        assert!(
            cats.contains(&BinRule::Categories {
                values: vec!["b".into()]
            }),
            "{cats:?}"
        );
        // The pooled c+d group (10% bad) has only 10 rows (< 5% share) so it merges with `a`.
        assert!(
            cats.contains(&BinRule::Categories {
                values: vec!["a".into(), "c".into(), "d".into()]
            }),
            "{cats:?}"
        );
        let loc = Locator::new(&bn).unwrap();
        let unseen = loc.category(Some("never-seen"));
        assert_eq!(bn.bins[unseen].rule, BinRule::Unseen);
        assert_eq!(bn.bins[unseen].woe, 0.0);
    }
}
