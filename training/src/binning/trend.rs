//! Whether a characteristic's bins follow their declared bad-rate shape: the one definition the
//! binning guarantees and the lifecycle's monotonic-bins gate checks.

use super::Bin;
use super::BinRule;
use crate::settings::Trend;

/// The bins a trend applies to: numeric ranges or category groups, in their order (not the
/// missing, special-value or unseen bins).
pub fn regular_bins(bins: &[Bin]) -> impl Iterator<Item = &Bin> {
    bins.iter()
        .filter(|b| matches!(b.rule, BinRule::Range { .. } | BinRule::Categories { .. }))
}

/// Whether the regular bins follow `trend` in both their bad rate and their WoE (which falls as
/// the bad rate rises). The binning guarantees it for every trend it fits; the lifecycle's
/// monotonic-bins promotion gate checks cards with this same function, so the two definitions
/// cannot drift apart.
pub fn bins_follow_trend(trend: Trend, bins: &[Bin]) -> bool {
    let steps: Vec<(f64, f64)> = regular_bins(bins)
        .map(|b| (b.bad_rate().unwrap_or(0.0), -b.woe))
        .collect();
    follows_trend(trend, &steps)
}

/// Whether a sequence of `(bad rate, riskiness)` pairs follows `trend`, riskiness being any
/// quantity that rises with risk (−WoE). Equal neighbours are tolerated (within 1e-12 on the
/// riskiness, which a JSON round trip may move by an ulp); the merge itself keeps them strictly
/// apart. [`Trend::Auto`] accepts either direction, [`Trend::Free`] anything.
pub fn follows_trend(trend: Trend, steps: &[(f64, f64)]) -> bool {
    type Step = (f64, f64);
    const TOL: f64 = 1e-12;
    fn up(a: &Step, b: &Step) -> bool {
        b.0 >= a.0 && b.1 >= a.1 - TOL
    }
    fn down(a: &Step, b: &Step) -> bool {
        b.0 <= a.0 && b.1 <= a.1 + TOL
    }
    fn all(s: &[Step], f: fn(&Step, &Step) -> bool) -> bool {
        s.windows(2).all(|w| f(&w[0], &w[1]))
    }
    // One way up to some turning bin `k`, then the other way.
    let turning = |first: fn(&Step, &Step) -> bool, then: fn(&Step, &Step) -> bool| {
        steps.is_empty()
            || (0..steps.len()).any(|k| all(&steps[..=k], first) && all(&steps[k..], then))
    };
    match trend {
        Trend::Ascending => all(steps, up),
        Trend::Descending => all(steps, down),
        Trend::Auto => all(steps, up) || all(steps, down),
        Trend::AutoShaped => {
            all(steps, up) || all(steps, down) || turning(up, down) || turning(down, up)
        }
        Trend::Peak => turning(up, down),
        Trend::Valley => turning(down, up),
        Trend::Free => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_trend_reads_each_shape() {
        let s = |v: &[f64]| v.iter().map(|&r| (r, r)).collect::<Vec<_>>();
        assert!(follows_trend(Trend::Ascending, &s(&[0.1, 0.2, 0.2, 0.4])));
        assert!(!follows_trend(Trend::Ascending, &s(&[0.1, 0.3, 0.2])));
        assert!(follows_trend(Trend::Descending, &s(&[0.3, 0.2, 0.1])));
        assert!(follows_trend(Trend::Peak, &s(&[0.1, 0.3, 0.2])));
        assert!(!follows_trend(Trend::Peak, &s(&[0.3, 0.1, 0.2])));
        assert!(follows_trend(Trend::Valley, &s(&[0.3, 0.1, 0.2])));
        assert!(follows_trend(Trend::Auto, &s(&[0.3, 0.1])));
        assert!(follows_trend(Trend::Free, &s(&[0.1, 0.3, 0.2, 0.4])));
        assert!(follows_trend(Trend::Peak, &[]));
        // Bad rate right, WoE wrong: not monotonic.
        assert!(!follows_trend(
            Trend::Descending,
            &[(0.0587, -0.0706), (0.0586, -0.0699)]
        ));
    }
}
