//! What a generated city looks like: counts, grade shares, bad rates by grade, loan volumes by
//! month and the oracle AUC. These are the figures docs/simulator.md reports.

use std::collections::BTreeMap;

use serde::Serialize;

use super::loans::Loan;

/// Area under the ROC curve of ranking `(score, bad)` pairs by score (higher = riskier), with
/// ties counted half (Mann–Whitney with average ranks). None without both goods and bads.
pub fn auc(pairs: &mut [(f64, bool)]) -> Option<f64> {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bads = pairs.iter().filter(|p| p.1).count() as f64;
    let goods = pairs.len() as f64 - bads;
    if bads == 0.0 || goods == 0.0 {
        return None;
    }
    let mut rank_sum_bads = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum_bads += avg_rank * pairs[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    Some((rank_sum_bads - bads * (bads + 1.0) / 2.0) / (bads * goods))
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct BadRate {
    pub loans: u64,
    pub bads: u64,
    pub bad_rate: Option<f64>,
}

impl BadRate {
    fn add(&mut self, bad: bool) {
        self.loans += 1;
        self.bads += bad as u64;
        self.bad_rate = Some(self.bads as f64 / self.loans as f64);
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ProductStats {
    pub loans: u64,
    pub with_outcome: u64,
    pub bads: u64,
    pub bad_rate: Option<f64>,
    /// AUC of ranking the loans with known outcomes by their true default probability.
    pub oracle_auc: Option<f64>,
    /// AUC of ranking them by the observable part of the latent model alone (no hidden quality,
    /// shock or noise): roughly what a model that got every observable effect right would reach.
    pub observable_auc: Option<f64>,
    pub mean_true_pd: Option<f64>,
    pub by_grade: BTreeMap<String, BadRate>,
}

pub fn product_stats<'a>(loans: impl Iterator<Item = &'a Loan>) -> ProductStats {
    let mut s = ProductStats::default();
    let (mut oracle, mut observable, mut pd_sum) = (Vec::new(), Vec::new(), 0.0);
    for l in loans {
        s.loans += 1;
        pd_sum += l.true_pd;
        if let Some(bad) = l.defaulted {
            s.with_outcome += 1;
            s.bads += bad as u64;
            oracle.push((l.true_pd, bad));
            observable.push((l.observable_pd, bad));
            s.by_grade.entry(l.grade.to_owned()).or_default().add(bad);
        }
    }
    s.bad_rate = (s.with_outcome > 0).then(|| s.bads as f64 / s.with_outcome as f64);
    s.mean_true_pd = (s.loans > 0).then(|| pd_sum / s.loans as f64);
    s.oracle_auc = auc(&mut oracle);
    s.observable_auc = auc(&mut observable);
    s
}

/// Counts gathered while the city is generated.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Shares {
    /// Final tax grade per (enterprise, year), by grade.
    pub tax_grades: BTreeMap<String, u64>,
    pub farmer_grades: BTreeMap<String, u64>,
    pub direct_d_rows: u64,
    pub public_records: BTreeMap<String, u64>,
    /// (village, year) → (assessed households, credit households).
    #[serde(skip)]
    pub villages: BTreeMap<(usize, i32), (u64, u64)>,
}

impl Shares {
    pub fn merge(&mut self, other: Shares) {
        for (k, v) in other.tax_grades {
            *self.tax_grades.entry(k).or_default() += v;
        }
        for (k, v) in other.farmer_grades {
            *self.farmer_grades.entry(k).or_default() += v;
        }
        for (k, v) in other.public_records {
            *self.public_records.entry(k).or_default() += v;
        }
        self.direct_d_rows += other.direct_d_rows;
        for (k, (a, c)) in other.villages {
            let e = self.villages.entry(k).or_default();
            e.0 += a;
            e.1 += c;
        }
    }

    /// Villages with at least 20 assessed households in the year where ≥ 70% are credit
    /// households (domain.md §3's first credit-village condition), by year.
    pub fn credit_villages(&self) -> BTreeMap<i32, (u64, u64)> {
        let mut out: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
        for (&(_, year), &(assessed, credit)) in &self.villages {
            if assessed >= 20 {
                let e = out.entry(year).or_default();
                e.0 += 1;
                e.1 += (credit as f64 >= 0.7 * assessed as f64) as u64;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_ranking_has_auc_one_and_a_reversed_one_zero() {
        let mut p = vec![(0.1, false), (0.2, false), (0.9, true)];
        assert_eq!(auc(&mut p), Some(1.0));
        let mut r = vec![(0.9, false), (0.1, true)];
        assert_eq!(auc(&mut r), Some(0.0));
    }

    #[test]
    fn ties_count_half() {
        let mut p = vec![(0.5, false), (0.5, true)];
        assert_eq!(auc(&mut p), Some(0.5));
        let mut q = vec![(0.1, false), (0.5, false), (0.5, true), (0.7, true)];
        assert_eq!(auc(&mut q), Some(0.875));
    }

    #[test]
    fn auc_is_undefined_without_both_classes() {
        assert_eq!(auc(&mut [(0.3, false)]), None);
    }
}
