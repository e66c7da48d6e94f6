//! Weight of evidence and information value.
//!
//! Convention (Siddiqi): `WoE = ln(%good / %bad)`, so a higher WoE is a safer bin. Each class
//! count in a bin gets a pseudo-count `a` (the smoothing setting) so that a bin without goods or
//! without bads still has a finite WoE:
//!
//! `%good = (g + a) / (G + a)`, `%bad = (b + a) / (B + a)`, `IV term = (%good − %bad) · WoE`.
//!
//! A bin with no rows at all (for example a missing bin when training had no missing values)
//! has WoE 0: it scores like the average applicant.

/// WoE of a bin with `goods` and `bads` out of `total_goods` and `total_bads`.
pub fn woe(goods: u64, bads: u64, total_goods: u64, total_bads: u64, a: f64) -> f64 {
    if goods + bads == 0 {
        return 0.0;
    }
    let (pg, pb) = shares(goods, bads, total_goods, total_bads, a);
    (pg / pb).ln()
}

/// The bin's contribution to the characteristic's information value.
pub fn iv_term(goods: u64, bads: u64, total_goods: u64, total_bads: u64, a: f64) -> f64 {
    if goods + bads == 0 {
        return 0.0;
    }
    let (pg, pb) = shares(goods, bads, total_goods, total_bads, a);
    (pg - pb) * (pg / pb).ln()
}

fn shares(goods: u64, bads: u64, total_goods: u64, total_bads: u64, a: f64) -> (f64, f64) {
    (
        (goods as f64 + a) / (total_goods as f64 + a),
        (bads as f64 + a) / (total_bads as f64 + a),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn woe_is_finite_for_a_bin_without_bads() {
        let w = woe(10, 0, 100, 10, 0.5);
        // ((10.5/100.5) / (0.5/10.5)).ln() worked by hand = ln(2.19403) = 0.78573
        assert!((w - 0.785_73).abs() < 1e-4, "{w}");
    }

    #[test]
    fn empty_bin_is_neutral() {
        assert_eq!(woe(0, 0, 100, 10, 0.5), 0.0);
        assert_eq!(iv_term(0, 0, 100, 10, 0.5), 0.0);
    }

    #[test]
    fn iv_term_is_never_negative() {
        for (g, b) in [(1, 9), (50, 5), (30, 3), (0, 4)] {
            assert!(iv_term(g, b, 100, 10, 0.5) >= 0.0);
        }
    }
}
