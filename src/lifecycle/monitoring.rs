//! Drift monitoring: PSI of live scores against the training sample, CSI per characteristic
//! against the scorecard's training bins, and the shadow candidate beside the champion.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use training::metrics::{csi, psi_from_counts};

use crate::domain::Product;
use crate::scoring::Champions;
use crate::settings::MonitoringThresholds;
use crate::storage::{Db, StoreError};

/// domain.md §7: ≥ 0.25 is a significant shift.
pub const PSI_ALERT: f64 = 0.25;
pub const PSI_WATCH: f64 = 0.10;

/// The training sample's score distribution, recorded with each retrained model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ScoreBaseline {
    /// Upper-exclusive cut points between the bins (deciles of the training scores).
    pub cuts: Vec<f64>,
    pub counts: Vec<u64>,
}

impl ScoreBaseline {
    pub fn from_scores(scores: &[f64], bins: usize) -> ScoreBaseline {
        let mut sorted = scores.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let mut cuts: Vec<f64> = (1..bins)
            .filter_map(|q| sorted.get(q * sorted.len() / bins).copied())
            .collect();
        cuts.dedup();
        let mut b = ScoreBaseline {
            cuts,
            counts: Vec::new(),
        };
        b.counts = b.count(scores);
        b
    }

    /// Counts of `scores` in the baseline's bins.
    pub fn count(&self, scores: &[f64]) -> Vec<u64> {
        let mut c = vec![0u64; self.cuts.len() + 1];
        for &x in scores {
            c[self.cuts.partition_point(|&k| k <= x)] += 1;
        }
        c
    }

    pub fn psi(&self, scores: &[f64]) -> f64 {
        psi_from_counts(&self.counts, &self.count(scores))
    }
}

/// The status of a characteristic, or of the score, measured on fewer live scores than the
/// minimum sample: no PSI is computed from it.
pub const INSUFFICIENT_SAMPLE: &str = "insufficient_sample";

pub fn status_of(psi: f64) -> &'static str {
    if psi >= PSI_ALERT {
        "significant_shift"
    } else if psi >= PSI_WATCH {
        "watch"
    } else {
        "stable"
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonitoringReport {
    pub product: String,
    pub model_id: Option<String>,
    pub window_from: DateTime<Utc>,
    pub observations: usize,
    /// Live scores needed before PSI and CSI are computed (`[monitoring] min_sample`).
    pub min_sample: usize,
    /// PSI of live scores against the training sample; null without a recorded baseline, or
    /// with fewer than `min_sample` live scores.
    pub score_psi: Option<f64>,
    /// `stable`, `watch` or `significant_shift`; `insufficient_sample` below `min_sample`;
    /// `no_live_scores`, `no_baseline` or `no_champion` when there is nothing to compare.
    pub status: String,
    pub characteristics: Vec<CharacteristicStability>,
    pub shadow: Option<ShadowSummary>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CharacteristicStability {
    pub characteristic: String,
    /// Live scores whose bins were recorded (the sample this CSI is computed from).
    pub observations: usize,
    /// Null below the report's `min_sample`.
    pub csi: Option<f64>,
    /// As the report's `status`, or `insufficient_sample`.
    pub status: String,
}

/// The candidate scored in the shadows beside the champion, on the same requests.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShadowSummary {
    pub model_id: String,
    /// Live scores in the window that the candidate scored too.
    pub observations: usize,
    /// Mean of (shadow score − champion score); null without observations.
    pub mean_difference: Option<f64>,
    /// Share of requests where both models gave the same grade; null below `min_sample`.
    pub grade_agreement: Option<f64>,
    /// Spearman rank correlation of the two scores; null below `min_sample`.
    pub rank_correlation: Option<f64>,
    /// PSI of the candidate's scores against the champion's (deciles of the champion's); null
    /// below `min_sample`.
    pub psi: Option<f64>,
    /// As the report's `status` for `psi`, or `insufficient_sample`.
    pub status: String,
}

/// Monitoring of `product`'s champion over the `days` days before `now`.
pub async fn report(
    db: &Db,
    champions: &Champions,
    thresholds: &MonitoringThresholds,
    product: Product,
    now: DateTime<Utc>,
    days: i64,
) -> Result<MonitoringReport, StoreError> {
    let from = now - Duration::days(days);
    let min_sample = thresholds.min_sample;
    let Some(champion) = champions.get(product) else {
        return Ok(MonitoringReport {
            product: product.as_str().into(),
            model_id: None,
            window_from: from,
            observations: 0,
            min_sample,
            score_psi: None,
            status: "no_champion".into(),
            characteristics: vec![],
            shadow: None,
        });
    };
    let rows = db
        .observations(product.as_str(), &champion.id, from)
        .await?;
    let scores: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
    let bins: Vec<Vec<usize>> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.1).ok())
        .collect();
    let baseline = db
        .model(&champion.id)
        .await
        .ok()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m.metrics).ok())
        .and_then(|m| serde_json::from_value::<ScoreBaseline>(m["baseline"].clone()).ok());
    let enough_scores = !scores.is_empty() && scores.len() >= min_sample;
    let score_psi = baseline
        .as_ref()
        .filter(|_| enough_scores)
        .map(|b| b.psi(&scores));
    let characteristics = stability(champion.model.scorecard(), &bins, min_sample);
    let shadow = champions
        .shadow(product)
        .map(|s| shadow_summary(&champion, &s, &rows, min_sample));
    let status = match score_psi {
        Some(p) => status_of(p).to_owned(),
        None if scores.is_empty() => "no_live_scores".to_owned(),
        None if !enough_scores => INSUFFICIENT_SAMPLE.to_owned(),
        None => "no_baseline".to_owned(),
    };
    if let Some(p) = score_psi {
        metrics::gauge!("creditbridge_score_psi", "product" => product.as_str()).set(p);
        if p >= PSI_ALERT {
            tracing::warn!(product = product.as_str(), model = %champion.id, psi = p, "score distribution has shifted significantly; re-examine and retrain");
        }
    }
    Ok(MonitoringReport {
        product: product.as_str().into(),
        model_id: Some(champion.id.clone()),
        window_from: from,
        observations: scores.len(),
        min_sample,
        score_psi,
        status,
        characteristics,
        shadow,
    })
}

/// CSI of each of `card`'s characteristics from the bins live scores fell in; no figure below
/// `min_sample` (a few scores fill a bin or two and read as a huge shift). Empty without bins.
fn stability(
    card: &training::scorecard::Scorecard,
    bins: &[Vec<usize>],
    min_sample: usize,
) -> Vec<CharacteristicStability> {
    if bins.is_empty() {
        return vec![];
    }
    card.characteristics
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let expected: Vec<u64> = c.bins.iter().map(|b| b.goods + b.bads).collect();
            let mut actual = vec![0u64; expected.len()];
            for row in bins {
                if let Some(&j) = row.get(i) {
                    if j < actual.len() {
                        actual[j] += 1;
                    }
                }
            }
            let observations = actual.iter().sum::<u64>() as usize;
            let v = (observations >= min_sample).then(|| csi(&expected, &actual));
            CharacteristicStability {
                characteristic: c.name.clone(),
                observations,
                csi: v,
                status: v.map_or(INSUFFICIENT_SAMPLE, status_of).into(),
            }
        })
        .collect()
}

/// One calendar month (UTC) of the champion's live scores: the same figures as the report's,
/// computed on that month's scores alone.
#[derive(Debug, Serialize)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    pub observations: usize,
    /// Live scores per grade, in the scorecard's grade order (best first).
    pub grade_counts: Vec<u64>,
    /// As the report's `score_psi`, on the month's scores.
    pub score_psi: Option<f64>,
    pub characteristics: Vec<CharacteristicStability>,
    pub shadow: Option<ShadowSummary>,
}

/// The champion's monitoring month by month, for the console's charts.
#[derive(Debug, Serialize)]
pub struct MonitoringHistory {
    pub product: String,
    pub model_id: Option<String>,
    pub min_sample: usize,
    /// The champion's grades, best first.
    pub grades: Vec<String>,
    /// Loans, bads and bad rate per grade on the champion's out-of-time sample, as recorded at
    /// its retraining: the outcomes known for its grades. Empty when none were recorded.
    pub outcomes_by_grade: Vec<super::card::GradeBandRow>,
    /// Oldest first; every month of the window, with or without scores.
    pub months: Vec<MonthFigures>,
    /// Approval rate and live bad rate by grade, month by month (`live_outcomes`).
    pub live: LiveOutcomes,
}

/// The first day (UTC midnight) of the month `back` months before `now`'s month.
fn month_start(now: DateTime<Utc>, back: u32) -> DateTime<Utc> {
    use chrono::{Datelike, NaiveDate};
    let index = now.year() * 12 + now.month0() as i32 - back as i32;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .expect("the first of a month exists")
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

/// Monitoring of `product`'s champion for each of the `months` calendar months up to `now`'s
/// (this month included, so far): grade mix, score PSI against the training baseline, CSI per
/// characteristic, and the shadow candidate against the champion, each under the same minimum
/// sample as `report`.
pub async fn history(
    db: &Db,
    champions: &Champions,
    thresholds: &MonitoringThresholds,
    product: Product,
    now: DateTime<Utc>,
    months: u32,
) -> Result<MonitoringHistory, StoreError> {
    let min_sample = thresholds.min_sample;
    let Some(champion) = champions.get(product) else {
        return Ok(MonitoringHistory {
            product: product.as_str().into(),
            model_id: None,
            min_sample,
            grades: vec![],
            outcomes_by_grade: vec![],
            months: vec![],
            live: LiveOutcomes::default(),
        });
    };
    let months = months.max(1);
    let from = month_start(now, months - 1);
    let rows = db
        .observations_dated(product.as_str(), &champion.id, from)
        .await?;
    let metrics = db
        .model(&champion.id)
        .await
        .ok()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m.metrics).ok())
        .unwrap_or_default();
    let baseline = serde_json::from_value::<ScoreBaseline>(metrics["baseline"].clone()).ok();
    let outcomes_by_grade =
        serde_json::from_value(metrics["grade_bands"].clone()).unwrap_or_default();
    let card = champion.model.scorecard();
    let grades: Vec<String> = card.grades.iter().map(|g| g.grade.clone()).collect();
    let shadow = champions.shadow(product);
    let mut out = Vec::with_capacity(months as usize);
    for back in (0..months).rev() {
        let start = month_start(now, back);
        // This month runs to now; earlier ones to the next month's first day.
        let end = back.checked_sub(1).map(|b| month_start(now, b));
        let month: Vec<(i64, String, Option<String>, Option<i64>)> = rows
            .iter()
            .filter(|r| r.0 >= start && end.is_none_or(|e| r.0 < e))
            .map(|r| (r.1, r.2.clone(), r.3.clone(), r.4))
            .collect();
        let scores: Vec<f64> = month.iter().map(|r| r.0 as f64).collect();
        let bins: Vec<Vec<usize>> = month
            .iter()
            .filter_map(|r| serde_json::from_str(&r.1).ok())
            .collect();
        let mut grade_counts = vec![0u64; grades.len()];
        for r in &month {
            let g = i32::try_from(r.0).map_or("", |s| card.grade_of(s));
            if let Some(i) = grades.iter().position(|x| x == g) {
                grade_counts[i] += 1;
            }
        }
        let enough = !scores.is_empty() && scores.len() >= min_sample;
        out.push(MonthFigures {
            month: start.format("%Y-%m").to_string(),
            observations: month.len(),
            grade_counts,
            score_psi: baseline.as_ref().filter(|_| enough).map(|b| b.psi(&scores)),
            characteristics: stability(card, &bins, min_sample),
            shadow: shadow
                .as_ref()
                .map(|s| shadow_summary(&champion, s, &month, min_sample)),
        });
    }
    Ok(MonitoringHistory {
        product: product.as_str().into(),
        model_id: Some(champion.id.clone()),
        min_sample,
        grades,
        outcomes_by_grade,
        months: out,
        live: LiveOutcomes::default(),
    })
}

/// The most delivered-score entries (over all the months asked, every product's counting) and
/// the most loans one `live_outcomes` call reads: the page's work is bounded by these whatever
/// the traffic. Beyond them the figures say `truncated`.
pub const MAX_SCORED_ENTRIES: i64 = 200_000;
pub const MAX_LOANS: i64 = 200_000;

/// One grade of one month: who was scored, who borrowed after, and how their loans ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GradeApproval {
    pub grade: String,
    /// Subjects scored in the month whose first delivered score of the month had this grade.
    pub scored: u64,
    /// Of them, those with a loan of the product disbursed within the window after that score.
    pub approved: u64,
    /// approved / scored; null without scored subjects.
    pub approval_rate: Option<f64>,
    /// Of the approved, those whose loan's outcome is known (defaulted, or matured without).
    pub known_outcomes: u64,
    pub defaulted: u64,
    /// defaulted / known_outcomes; null while no outcome is known.
    pub bad_rate: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MonthApprovals {
    /// `YYYY-MM` of the score.
    pub month: String,
    /// The champion's grades first (best first), then any other grade a delivered score had
    /// (an earlier champion's), each with its figures.
    pub grades: Vec<GradeApproval>,
}

/// Approval rate and bad rate by grade from delivered scores and the loans that followed them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LiveOutcomes {
    /// `[monitoring] approval_window_days`.
    pub window_days: u32,
    /// Oldest first, as `MonitoringHistory::months`.
    pub months: Vec<MonthApprovals>,
    /// True when `MAX_SCORED_ENTRIES` or `MAX_LOANS` was reached: the figures cover only what
    /// was read (the oldest entries and loans).
    pub truncated: bool,
}

/// A delivered score as the approval rule needs it.
#[derive(Clone, Debug)]
pub struct ScoredSubject {
    pub at: DateTime<Utc>,
    /// The ledger's keyed hash of the subject.
    pub subject: String,
    pub grade: String,
}

/// A loan as the approval rule needs it, its subject keyed as the ledger keys it.
#[derive(Clone, Debug)]
pub struct LentTo {
    pub subject: String,
    pub disbursed_on: chrono::NaiveDate,
    /// The loan table's outcome: `Some(true)` defaulted (90+ days past due within 12 months),
    /// `Some(false)` matured without, `None` not yet known.
    pub defaulted: Option<bool>,
}

/// The key the ledger holds for a loan's subject. Loans keep an enterprise under its credit code
/// in clear and a household under the keyed hash of its head's resident id; the ledger keeps
/// every subject as a keyed hash (`audit::AuditSubject::of`), so only the credit code is keyed.
pub fn ledger_key_of_loan(pii: &crate::pii::PiiKey, product: Product, loan_key: &str) -> String {
    match product {
        Product::Sme => pii.subject_key(loan_key),
        Product::Farmer => loan_key.to_owned(),
    }
}

/// The approval rule, in one place. Per month of score, each subject counts once, under its
/// first delivered score of that month (the score the lender decided on; repeated scores in the
/// month are the same application read again). The subject is approved when a loan of the
/// product was disbursed on the score's (UTC) day or within `window_days` days after it; the
/// first such loan is the one whose outcome counts. `months` are (label, start, end) with `end`
/// exclusive; `scores` and `loans` are oldest first.
pub fn approvals(
    grades: &[String],
    months: &[(String, DateTime<Utc>, DateTime<Utc>)],
    scores: &[ScoredSubject],
    loans: &[LentTo],
    window_days: u32,
) -> Vec<MonthApprovals> {
    use std::collections::{HashMap, HashSet};
    let mut by_subject: HashMap<&str, Vec<&LentTo>> = HashMap::new();
    for l in loans {
        by_subject.entry(l.subject.as_str()).or_default().push(l);
    }
    for v in by_subject.values_mut() {
        v.sort_by_key(|l| l.disbursed_on);
    }
    months
        .iter()
        .map(|(label, start, end)| {
            let mut rows: Vec<GradeApproval> = grades
                .iter()
                .map(|g| GradeApproval {
                    grade: g.clone(),
                    ..Default::default()
                })
                .collect();
            let mut seen: HashSet<&str> = HashSet::new();
            for s in scores.iter().filter(|s| s.at >= *start && s.at < *end) {
                if !seen.insert(s.subject.as_str()) {
                    continue;
                }
                let i = match rows.iter().position(|r| r.grade == s.grade) {
                    Some(i) => i,
                    None => {
                        rows.push(GradeApproval {
                            grade: s.grade.clone(),
                            ..Default::default()
                        });
                        rows.len() - 1
                    }
                };
                let row = &mut rows[i];
                row.scored += 1;
                let day = s.at.date_naive();
                let last = day + Duration::days(i64::from(window_days));
                let loan = by_subject.get(s.subject.as_str()).and_then(|v| {
                    v.iter()
                        .find(|l| l.disbursed_on >= day && l.disbursed_on <= last)
                });
                if let Some(l) = loan {
                    row.approved += 1;
                    if let Some(d) = l.defaulted {
                        row.known_outcomes += 1;
                        row.defaulted += u64::from(d);
                    }
                }
            }
            for r in &mut rows {
                r.approval_rate = (r.scored > 0).then(|| r.approved as f64 / r.scored as f64);
                r.bad_rate =
                    (r.known_outcomes > 0).then(|| r.defaulted as f64 / r.known_outcomes as f64);
            }
            MonthApprovals {
                month: label.clone(),
                grades: rows,
            }
        })
        .collect()
}

/// Approval rate and live bad rate by grade of `product` for each of the `months` calendar
/// months up to `now`'s: reads the months' delivered scores from the ledger (their grade and
/// product from the entry's body) and the product's loans disbursed from the first month to
/// `window_days` after `now`, keys the loans as the ledger does, and applies `approvals`.
pub async fn live_outcomes(
    db: &Db,
    pii: &crate::pii::PiiKey,
    grades: &[String],
    product: Product,
    now: DateTime<Utc>,
    months: u32,
    window_days: u32,
) -> Result<LiveOutcomes, StoreError> {
    let months = months.max(1);
    // This month runs to now (a score recorded at `now` included); earlier ones to the next
    // month's first day.
    let to = now + Duration::seconds(1);
    let bounds: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = (0..months)
        .rev()
        .map(|back| {
            let start = month_start(now, back);
            let end = back.checked_sub(1).map_or(to, |b| month_start(now, b));
            (start.format("%Y-%m").to_string(), start, end)
        })
        .collect();
    let from = bounds[0].1;
    let entries = db.delivered_scores(from, to, MAX_SCORED_ENTRIES).await?;
    let mut truncated = entries.len() as i64 >= MAX_SCORED_ENTRIES;
    let scores: Vec<ScoredSubject> = entries
        .into_iter()
        .filter_map(|(at, subject, leaf)| {
            let body = ledger::entry::decode(&leaf).ok()?.body;
            (body["product"].as_str()? == product.as_str()).then_some(())?;
            Some(ScoredSubject {
                at,
                subject,
                grade: body["grade"].as_str()?.to_owned(),
            })
        })
        .collect();
    let last = now.date_naive() + Duration::days(i64::from(window_days));
    let rows = db
        .loans_disbursed(product.as_str(), from.date_naive(), last, MAX_LOANS)
        .await?;
    truncated |= rows.len() as i64 >= MAX_LOANS;
    let loans: Vec<LentTo> = rows
        .into_iter()
        .map(|(key, disbursed_on, defaulted)| LentTo {
            subject: ledger_key_of_loan(pii, product, &key),
            disbursed_on,
            defaulted,
        })
        .collect();
    Ok(LiveOutcomes {
        window_days,
        months: approvals(grades, &bounds, &scores, &loans, window_days),
        truncated,
    })
}

/// Compares the shadow candidate with the champion on the observations it scored too.
fn shadow_summary(
    champion: &crate::scoring::champions::Champion,
    shadow: &crate::scoring::champions::Champion,
    rows: &[(i64, String, Option<String>, Option<i64>)],
    min_sample: usize,
) -> ShadowSummary {
    let pairs: Vec<(i32, i32)> = rows
        .iter()
        .filter(|r| r.2.as_deref() == Some(shadow.id.as_str()))
        .filter_map(|r| Some((i32::try_from(r.0).ok()?, i32::try_from(r.3?).ok()?)))
        .collect();
    let n = pairs.len();
    let mean_difference =
        (n > 0).then(|| pairs.iter().map(|(c, s)| f64::from(s - c)).sum::<f64>() / n as f64);
    let enough = n > 0 && n >= min_sample;
    let (champion_card, shadow_card) = (champion.model.scorecard(), shadow.model.scorecard());
    let grade_agreement = enough.then(|| {
        pairs
            .iter()
            .filter(|(c, s)| champion_card.grade_of(*c) == shadow_card.grade_of(*s))
            .count() as f64
            / n as f64
    });
    let (c_scores, s_scores): (Vec<f64>, Vec<f64>) = pairs
        .iter()
        .map(|(c, s)| (f64::from(*c), f64::from(*s)))
        .unzip();
    let rank_correlation = enough.then(|| spearman(&c_scores, &s_scores)).flatten();
    let psi = enough.then(|| ScoreBaseline::from_scores(&c_scores, 10).psi(&s_scores));
    ShadowSummary {
        model_id: shadow.id.clone(),
        observations: n,
        mean_difference,
        grade_agreement,
        rank_correlation,
        psi,
        status: psi.map_or(INSUFFICIENT_SAMPLE, status_of).into(),
    }
}

/// Spearman's rank correlation (ties share their mean rank); None when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    fn ranks(x: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..x.len()).collect();
        idx.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
        let mut r = vec![0.0; x.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
                j += 1;
            }
            let mean = (i + j) as f64 / 2.0 + 1.0;
            for k in &idx[i..=j] {
                r[*k] = mean;
            }
            i = j + 1;
        }
        r
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}

#[cfg(test)]
mod tests {
    #[test]
    fn spearman_is_one_for_any_increasing_relation_and_minus_one_reversed() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [10.0, 20.0, 35.0, 80.0, 81.0];
        assert!((spearman(&a, &b).unwrap() - 1.0).abs() < 1e-12);
        let r: Vec<f64> = b.iter().rev().copied().collect();
        assert!((spearman(&a, &r).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&a, &[1.0; 5]), None);
        // Ties share ranks: ranks (1, 2.5, 2.5, 4) against (1, 3, 2, 4) give 4.5 / √22.5 by hand.
        let t = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!((t - 0.948_683).abs() < 1e-5, "{t}");
    }

    use super::*;

    #[test]
    fn psi_matches_a_hand_checked_example() {
        // Baseline: 4 bins of 25 each (cuts 10, 20, 30). Live: 10, 20, 30, 40 per bin.
        let base = ScoreBaseline {
            cuts: vec![10.0, 20.0, 30.0],
            counts: vec![25, 25, 25, 25],
        };
        let live: Vec<f64> = [(5.0, 10), (15.0, 20), (25.0, 30), (35.0, 40)]
            .iter()
            .flat_map(|&(x, n)| std::iter::repeat_n(x, n))
            .collect();
        // Σ (a−e)·ln(a/e) with e = .25: (.1−.25)ln(.4) + (.2−.25)ln(.8) + (.3−.25)ln(1.2) + (.4−.25)ln(1.6)
        let by_hand = -0.15 * (0.4f64).ln() - 0.05 * (0.8f64).ln()
            + 0.05 * (1.2f64).ln()
            + 0.15 * (1.6f64).ln();
        assert!((base.psi(&live) - by_hand).abs() < 1e-12);
        assert!((by_hand - 0.228_7).abs() < 1e-3, "{by_hand}");
        assert_eq!(status_of(by_hand), "watch");
    }

    #[test]
    fn a_loan_counts_from_the_score_day_to_the_window_end_and_repeats_count_once() {
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
        let score = |s: &str, t: &str, g: &str| ScoredSubject {
            at: at(t),
            subject: s.into(),
            grade: g.into(),
        };
        let loan = |s: &str, d: &str, x: Option<bool>| LentTo {
            subject: s.into(),
            disbursed_on: day(d),
            defaulted: x,
        };
        let scores = [
            score("s1", "2027-01-10T23:00:00Z", "A"),
            score("s2", "2027-01-10T08:00:00Z", "A"),
            score("s3", "2027-01-10T08:00:00Z", "A"),
            score("s4", "2027-01-11T08:00:00Z", "B"),
            // s1 again: still one subject, under its first score's grade.
            score("s1", "2027-01-20T08:00:00Z", "B"),
            // An old champion's grade is kept, after the champion's.
            score("s5", "2027-01-21T08:00:00Z", "Z"),
        ];
        let loans = [
            // The score's own day counts; 30 days is the last day of the window.
            loan("s1", "2027-01-10", Some(true)),
            loan("s2", "2027-02-09", Some(false)),
            // 31 days after: outside.
            loan("s3", "2027-02-10", Some(false)),
            // Before the score: not a loan that followed it.
            loan("s4", "2027-01-05", Some(false)),
        ];
        let months = [(
            "2027-01".to_owned(),
            at("2027-01-01T00:00:00Z"),
            at("2027-02-01T00:00:00Z"),
        )];
        let out = approvals(&["A".into(), "B".into()], &months, &scores, &loans, 30);
        let g = &out[0].grades;
        assert_eq!(
            g.iter().map(|r| r.grade.as_str()).collect::<Vec<_>>(),
            ["A", "B", "Z"]
        );
        assert_eq!(
            (
                g[0].scored,
                g[0].approved,
                g[0].known_outcomes,
                g[0].defaulted
            ),
            (3, 2, 2, 1)
        );
        assert_eq!(g[0].approval_rate, Some(2.0 / 3.0));
        assert_eq!(g[0].bad_rate, Some(0.5));
        assert_eq!((g[1].scored, g[1].approved), (1, 0));
        assert_eq!(g[1].bad_rate, None);
        assert_eq!((g[2].scored, g[2].approved), (1, 0));
    }

    #[test]
    fn only_credit_codes_are_keyed_to_meet_the_ledger() {
        let pii = crate::pii::PiiKey::random();
        let code = "91110000600037341L";
        assert_eq!(
            ledger_key_of_loan(&pii, Product::Sme, code),
            pii.subject_key(code)
        );
        let household = pii.subject_key("11010519491231002X");
        assert_eq!(
            ledger_key_of_loan(&pii, Product::Farmer, &household),
            household
        );
    }

    #[test]
    fn months_start_on_the_first_and_cross_the_year() {
        let now: DateTime<Utc> = "2027-02-17T15:00:00Z".parse().unwrap();
        let at = |back| month_start(now, back).to_rfc3339();
        assert_eq!(at(0), "2027-02-01T00:00:00+00:00");
        assert_eq!(at(1), "2027-01-01T00:00:00+00:00");
        assert_eq!(at(2), "2026-12-01T00:00:00+00:00");
        assert_eq!(at(14), "2025-12-01T00:00:00+00:00");
    }

    #[test]
    fn a_baseline_from_scores_puts_a_tenth_in_each_decile() {
        let scores: Vec<f64> = (0..1000).map(f64::from).collect();
        let b = ScoreBaseline::from_scores(&scores, 10);
        assert_eq!(b.cuts.len(), 9);
        assert!(b.counts.iter().all(|&c| c == 100), "{:?}", b.counts);
        assert!(b.psi(&scores).abs() < 1e-12, "identical samples are stable");
    }
}
