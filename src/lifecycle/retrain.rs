//! Quarterly retraining from the data creditbridge holds: build the point-in-time training set,
//! hold out the most recent matured quarter as the out-of-time sample, fit the scorecard and its
//! tree challenger, measure the champion on the same loans, and register a candidate.

use std::path::Path;
use std::time::Instant;

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use serde_json::json;
use training::metrics::{auc, psi};
use training::Value;

use super::dataset::{self, Example};
use super::delong;
use super::gates::{self, Comparison, GateInputs, GateResult};
use crate::domain::Product;
use crate::scoring::Champions;
use crate::storage::artifacts::{ArtifactError, ArtifactStore};
use crate::storage::models::NewModel;
use crate::storage::{Db, StoreError};

/// Why a retraining produced no candidate. `Sample` and `Fit` are about the data held (the
/// caller asked for something the data cannot give); the rest are failures of this service.
/// Messages name the step; the cause is the error's source (print with `{:#}` for the chain).
#[derive(Debug, thiserror::Error)]
pub enum RetrainError {
    /// Not enough matured loans of both outcomes.
    #[error("{0}")]
    Sample(String),
    #[error("fitting the scorecard")]
    Fit(#[source] training::TrainingError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The candidate is registered but its ledger entry could not be committed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The fitted model could not be scored, serialised or reported on.
    #[error("{what}")]
    Model {
        what: String,
        #[source]
        source: training::TrainingError,
    },
}

impl RetrainError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RetrainError {
        let what = what.into();
        move |source| RetrainError::Io { what, source }
    }

    fn model(what: impl Into<String>) -> impl FnOnce(training::TrainingError) -> RetrainError {
        let what = what.into();
        move |source| RetrainError::Model { what, source }
    }
}

/// What a retraining reads and writes: the data held, the artifact store, the champions to
/// compare with, the modelling settings and the gates.
pub struct Retraining<'a> {
    pub db: &'a Db,
    /// The one content-addressed store artifacts and model cards go to (never `models/`).
    pub store: &'a ArtifactStore,
    pub champions: &'a Champions,
    pub settings: &'a training::Settings,
    pub gates: &'a gates::Gates,
    /// For the registration time, the complete vintages and the as-of hint.
    pub clock: &'a dyn crate::clock::Clock,
}

#[derive(Debug, Serialize)]
pub struct RetrainOutcome {
    pub id: String,
    pub product: String,
    pub as_of: NaiveDate,
    pub rows_train: usize,
    pub rows_oot: usize,
    pub bad_rate_train: f64,
    pub oot_auc: f64,
    /// DeLong 95 % interval of the out-of-time AUC.
    pub oot_auc_ci: (f64, f64),
    pub oot_bads: usize,
    /// Signed: negative when the model ranks risk backwards.
    pub oot_ks: f64,
    pub oot_gini: f64,
    pub challenger_oot_auc: Option<f64>,
    pub champion_id: Option<String>,
    pub champion_oot_auc: Option<f64>,
    /// The transparent baseline's out-of-time AUC on the same loans.
    pub baseline_oot_auc: Option<f64>,
    pub psi_train_oot: f64,
    /// `pass`, `fail` or `insufficient_evidence`.
    pub gate_verdict: gates::Verdict,
    pub gate_failures: Vec<String>,
    /// Where the artifact is: `<data_dir>/models/sha256/<digest>.json`.
    pub artifact: String,
    pub artifact_sha256: String,
    pub seconds: f64,
    /// The out-of-time loans (id, defaulted), for comparisons such as the simulator's oracle.
    #[serde(skip)]
    pub oot_loans: Vec<(String, bool)>,
}

/// The two samples a retraining fits and judges on.
pub struct Samples {
    pub examples: Vec<Example>,
    /// Loans disbursed after this day are the out-of-time sample.
    pub oot_from: NaiveDate,
    /// Loans disbursed up to this day have matured as of the as-of date.
    pub matured_through: NaiveDate,
    /// The first disbursement day of the complete vintages used.
    pub complete_from: NaiveDate,
}

impl Samples {
    pub fn train(&self) -> Vec<&Example> {
        self.examples
            .iter()
            .filter(|e| e.disbursed_on <= self.oot_from)
            .collect()
    }

    pub fn oot(&self) -> Vec<&Example> {
        self.examples
            .iter()
            .filter(|e| e.disbursed_on > self.oot_from)
            .collect()
    }
}

/// Retrains `product` as of `as_of` and registers the result as a candidate. The stages:
/// samples, fit, judge against the champion and the baseline, store and register.
pub async fn retrain(
    with: &Retraining<'_>,
    product: Product,
    as_of: NaiveDate,
) -> Result<RetrainOutcome, RetrainError> {
    let started = Instant::now();
    let samples = samples(with, product, as_of).await?;
    let (train, oot) = (samples.train(), samples.oot());
    let train_frame = dataset::frame(product, &train);
    let oot_frame = dataset::frame(product, &oot);
    // Settings chosen by the same cross-validation `creditbridge train` runs on the exported
    // samples (stratified folds), so `train` on the export still reproduces the candidate.
    let tuning = training::Tuning::default();
    let fitted = tokio::task::block_in_place(|| {
        training::fit_with_test_tuned(&train_frame, &oot_frame, with.settings, &tuning)
    })
    .map_err(RetrainError::Fit)?;
    let judged = judge(with, product, &fitted, &train_frame, &oot)?;
    register(with, product, as_of, &samples, &fitted, judged, started).await
}

/// The training and out-of-time samples as of `as_of` from complete vintages; too few loans
/// of either outcome is a `Sample` error saying which as-of dates would work.
pub async fn samples(
    with: &Retraining<'_>,
    product: Product,
    as_of: NaiveDate,
) -> Result<Samples, RetrainError> {
    let today = with.clock.today();
    let complete_from = crate::domain::retention::complete_vintages_from(today);
    let examples = dataset::examples(with.db, product, as_of, complete_from).await?;
    let split = split_out_of_time(&examples, product, as_of).map(|(_, _, oot_from)| oot_from);
    match split {
        Ok(oot_from) => Ok(Samples {
            examples,
            oot_from,
            matured_through: dataset::maturity_cutoff(as_of),
            complete_from,
        }),
        Err(e) => {
            let mut outcomes = with.db.loan_outcomes(product.as_str()).await?;
            outcomes.retain(|o| o.0 >= complete_from);
            let hint = workable_as_of(&outcomes, today, with.gates.min_oot_bads);
            Err(RetrainError::Sample(format!("{e}. {hint}")))
        }
    }
}

/// What the gates judged on, with the figures the outcome reports.
struct Judged {
    inputs: GateInputs,
    result: GateResult,
    challenger_oot_auc: Option<f64>,
    champion_id: Option<String>,
    train_scores: Vec<f64>,
}

/// Measures the fitted candidate out of time against the champion and the transparent
/// baseline on the very same loans, and applies the gates.
fn judge(
    with: &Retraining<'_>,
    product: Product,
    fitted: &training::FittedModel,
    train_frame: &training::Frame,
    oot: &[&Example],
) -> Result<Judged, RetrainError> {
    let model = &fitted.model;
    let eval = &fitted.evaluation;
    let oot_auc = delong::auc(&eval.pd, &eval.target).ok_or_else(|| {
        RetrainError::Sample("the out-of-time sample needs goods and bads".into())
    })?;
    let oot_ks = delong::signed_ks(&eval.pd, &eval.target);
    let challenger_oot_auc =
        (!eval.challenger_pd.is_empty()).then(|| auc(&eval.challenger_pd, &eval.target));
    let train_scores: Vec<f64> = model
        .score_frame(train_frame)
        .map_err(RetrainError::model("scoring the training sample"))?
        .into_iter()
        .map(f64::from)
        .collect();
    let oot_scores: Vec<f64> = eval.scores.iter().map(|s| f64::from(*s)).collect();
    let psi_train_oot = psi(&train_scores, &oot_scores, 10);
    let champion = with.champions.get(product);
    let champion_cmp = match &champion {
        Some(c) => {
            let pd = champion_pd(&c.model, oot)?;
            delong::paired(&eval.pd, &pd, &eval.target).map(|test| Comparison {
                against: "champion".into(),
                id: c.id.clone(),
                test,
            })
        }
        None => None,
    };
    // The transparent baseline on the same loans: what a lender gets from the grade alone.
    let characteristic = gates::baseline_characteristic(product);
    let baseline_pd: Vec<f64> = oot
        .iter()
        .map(|e| gates::baseline_risk(product, e.features.get(characteristic).as_ref()))
        .collect();
    let baseline_cmp =
        delong::paired(&eval.pd, &baseline_pd, &eval.target).map(|test| Comparison {
            against: "baseline".into(),
            id: characteristic.into(),
            test,
        });
    let inputs = GateInputs {
        oot_auc,
        oot_ks,
        champion: champion_cmp,
        baseline: baseline_cmp,
        psi_train_oot,
        non_monotonic: gates::non_monotonic(model.scorecard()),
        wrong_sign: gates::wrong_signs(model.scorecard()),
    };
    let result = with.gates.judge(&inputs);
    Ok(Judged {
        inputs,
        result,
        challenger_oot_auc,
        champion_id: champion.map(|c| c.id.clone()),
        train_scores,
    })
}

/// Writes the artifact to the store and the report beside it in the store's cards, and
/// registers the candidate under a fresh id allocated with the insert.
async fn register(
    with: &Retraining<'_>,
    product: Product,
    as_of: NaiveDate,
    samples: &Samples,
    fitted: &training::FittedModel,
    judged: Judged,
    started: Instant,
) -> Result<RetrainOutcome, RetrainError> {
    let (train, oot) = (samples.train(), samples.oot());
    let model = &fitted.model;
    let artifact = model
        .to_json()
        .map_err(RetrainError::model("serialising the model"))?;
    let digest = with.store.put(&artifact)?;
    let Judged {
        inputs,
        result,
        challenger_oot_auc,
        champion_id,
        train_scores,
    } = judged;
    let bad_rate_train = train.iter().filter(|e| e.bad).count() as f64 / train.len() as f64;
    let mut outcome = RetrainOutcome {
        id: String::new(),
        product: product.as_str().into(),
        as_of,
        rows_train: train.len(),
        rows_oot: oot.len(),
        bad_rate_train,
        oot_auc: inputs.oot_auc.auc,
        oot_auc_ci: (inputs.oot_auc.lower, inputs.oot_auc.upper),
        oot_bads: inputs.oot_auc.bads,
        oot_ks: inputs.oot_ks,
        oot_gini: 2.0 * inputs.oot_auc.auc - 1.0,
        challenger_oot_auc,
        champion_id,
        champion_oot_auc: inputs.champion.as_ref().map(|c| c.test.auc_b),
        baseline_oot_auc: inputs.baseline.as_ref().map(|c| c.test.auc_b),
        psi_train_oot: inputs.psi_train_oot,
        gate_verdict: result.verdict,
        gate_failures: result.failures,
        artifact: with.store.path(&digest).display().to_string(),
        artifact_sha256: digest,
        seconds: 0.0,
        oot_loans: oot.iter().map(|e| (e.loan_id.clone(), e.bad)).collect(),
    };
    let baseline = super::monitoring::ScoreBaseline::from_scores(&train_scores, 10);
    let samples_json = json!({
        "train": sample_summary(&train),
        "oot": sample_summary(&oot),
        "complete_vintages_from": samples.complete_from,
    });
    let grade_bands = super::card::grade_bands(model, &fitted.evaluation);
    let window = json!({
        "as_of": as_of,
        "matured_through": samples.matured_through,
        "complete_vintages_from": samples.complete_from,
        "train_from": train.first().map(|e| e.disbursed_on),
        "train_to": samples.oot_from,
        "oot_from": samples.oot_from.succ_opt(),
        "oot_to": samples.matured_through,
    });
    let prefix = format!("{}-{}-", product.as_str(), quarter_label(as_of));
    let now = with.clock.now();
    outcome.seconds = started.elapsed().as_secs_f64();
    let metrics = |outcome: &RetrainOutcome| {
        json!({
            "retrain": outcome,
            "gate_inputs": &inputs,
            "baseline": &baseline,
            "samples": &samples_json,
            "grade_bands": &grade_bands,
            "model": model.artifact().metrics,
        })
    };
    let id = with
        .db
        .register_candidate(
            &prefix,
            &NewModel {
                product: product.as_str(),
                artifact: &artifact,
                metrics: &metrics(&outcome),
                data_window: &window,
                created_at: now,
            },
        )
        .await?;
    outcome.id = id;
    // The training report (bins, ROC/KS, distributions, the challenger) beside the store.
    let dir = with.store.cards_dir(&outcome.id);
    training::report::render(fitted)
        .and_then(|r| r.write(&dir))
        .map_err(RetrainError::model(format!(
            "writing the training report in {}",
            dir.display()
        )))?;
    Ok(outcome)
}

/// Row count, bads and a SHA-256 over the loan ids and outcomes in order: what a validator
/// needs to know the sample is the one the model was fitted or judged on.
fn sample_summary(set: &[&Example]) -> serde_json::Value {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for e in set {
        h.update(e.loan_id.as_bytes());
        h.update(if e.bad { b",1\n" } else { b",0\n" });
    }
    json!({
        "rows": set.len(),
        "bads": set.iter().filter(|e| e.bad).count(),
        "from": set.first().map(|e| e.disbursed_on),
        "to": set.last().map(|e| e.disbursed_on),
        "sha256": hex::encode(h.finalize()),
    })
}

/// `2026Q4`: the quarter of `d`.
pub fn quarter_label(d: NaiveDate) -> String {
    format!("{}Q{}", d.year(), d.month0() / 3 + 1)
}

/// Splits matured loans into (training, out-of-time, last training day): the out-of-time
/// sample is the last three months of matured loans. Both samples need goods and bads.
fn split_out_of_time(
    examples: &[Example],
    product: Product,
    as_of: NaiveDate,
) -> Result<(Vec<&Example>, Vec<&Example>, NaiveDate), RetrainError> {
    let oot_from = dataset::maturity_cutoff(as_of)
        .checked_sub_months(Months::new(3))
        .ok_or_else(|| RetrainError::Sample(format!("as of {as_of}: date out of range")))?;
    let (oot, train): (Vec<&Example>, Vec<&Example>) =
        examples.iter().partition(|e| e.disbursed_on > oot_from);
    for (name, set) in [("training", &train), ("out-of-time", &oot)] {
        let bads = set.iter().filter(|e| e.bad).count();
        if bads == 0 || bads == set.len() {
            return Err(RetrainError::Sample(format!(
                "{} {name} sample as of {as_of} has {} matured loans with {bads} defaults: need both goods and bads",
                product.as_str(),
                set.len()
            )));
        }
    }
    Ok((train, oot, oot_from))
}

/// Writes the point-in-time training and out-of-time samples that [`retrain`] fits and checks
/// on, as `DIR/train.csv` and `DIR/oot.csv` (`loan_id`, the product's characteristics in
/// catalogue order, `bad` = 1/0), so a model can be reproduced or compared outside creditbridge
/// (`creditbridge train --data train.csv --test oot.csv --target bad --exclude loan_id
/// --categorical …`). Returns where they went and the categorical columns.
pub async fn export_samples(
    with: &Retraining<'_>,
    product: Product,
    as_of: NaiveDate,
    dir: &Path,
) -> Result<serde_json::Value, RetrainError> {
    let samples = samples(with, product, as_of).await?;
    let (train, oot) = (samples.train(), samples.oot());
    std::fs::create_dir_all(dir)
        .map_err(RetrainError::io(format!("creating {}", dir.display())))?;
    let mut out = json!({});
    for (name, set) in [("train", &train), ("oot", &oot)] {
        let path = dir.join(format!("{name}.csv"));
        let file = std::fs::File::create(&path)
            .map_err(RetrainError::io(format!("creating {}", path.display())))?;
        let ids: Vec<String> = set.iter().map(|e| e.loan_id.clone()).collect();
        training::csv_input::write_training_csv(
            &dataset::frame(product, set),
            Some(("loan_id", &ids)),
            "bad",
            file,
        )
        .map_err(RetrainError::model(format!("writing {}", path.display())))?;
        out[name] = json!({ "path": path, "rows": set.len() });
    }
    out["categorical"] = crate::features::catalogue::of(product)
        .iter()
        .filter(|c| c.kind == crate::features::catalogue::Kind::Categorical)
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .into();
    Ok(out)
}

/// The champion's PD for each out-of-time loan, in the sample's order.
fn champion_pd(model: &training::Model, oot: &[&Example]) -> Result<Vec<f64>, RetrainError> {
    let mut pd = Vec::with_capacity(oot.len());
    for e in oot {
        let lookup = |name: &str| e.features.get(name).or(Some(Value::Missing));
        pd.push(
            model
                .score(&lookup)
                .map_err(RetrainError::model(
                    "scoring the out-of-time sample with the champion",
                ))?
                .pd,
        );
    }
    Ok(pd)
}

/// Says which as-of dates the loans on record would support: the first of each month up to
/// `today` whose training and out-of-time samples both hold goods and bads, and the latest whose
/// out-of-time sample holds at least `min_bads` defaults (what the gates need to judge).
pub fn workable_as_of(outcomes: &[(NaiveDate, bool)], today: NaiveDate, min_bads: usize) -> String {
    let Some(first) = outcomes.first().map(|o| o.0) else {
        return "No loan outcomes are on record for this product: import loan-outcomes first."
            .into();
    };
    let counts = |as_of: NaiveDate| {
        let cutoff = dataset::maturity_cutoff(as_of);
        let oot_from = cutoff.checked_sub_months(Months::new(3))?;
        let (mut train, mut oot) = ([0usize; 2], [0usize; 2]);
        for (d, bad) in outcomes.iter().take_while(|o| o.0 <= cutoff) {
            let side = if *d > oot_from { &mut oot } else { &mut train };
            side[usize::from(*bad)] += 1;
        }
        Some((train, oot))
    };
    let mut month = NaiveDate::from_ymd_opt(first.year(), first.month(), 1)
        .and_then(|d| d.checked_add_months(Months::new(13)));
    let (mut workable, mut latest_enough) = (Vec::new(), None);
    while let Some(as_of) = month.filter(|m| *m <= today) {
        if let Some((train, oot)) = counts(as_of) {
            if train.iter().all(|n| *n > 0) && oot.iter().all(|n| *n > 0) {
                workable.push(as_of);
                if oot[1] >= min_bads {
                    latest_enough = Some(as_of);
                }
            }
        }
        month = as_of.checked_add_months(Months::new(1));
    }
    let last_loan = outcomes.last().map_or(first, |o| o.0);
    match (workable.first(), workable.last()) {
        (Some(from), Some(to)) => format!(
            "The loans on record (disbursed {first} to {last_loan}) support --as-of from {from} to {to}{}",
            match latest_enough {
                Some(d) => format!("; the latest with at least {min_bads} out-of-time defaults, enough for the promotion gates, is {d}"),
                None => format!("; none has the {min_bads} out-of-time defaults the promotion gates need"),
            }
        ),
        _ => format!(
            "No as-of date up to {today} works with the loans on record (disbursed {first} to {last_loan}): a sample needs loans whose 12-month outcome has matured, goods and bads both, before and within the last three matured months"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Loans every 10 days from 2023-01-01 to 2025-06-30, every fifth one a default.
    fn outcomes() -> Vec<(NaiveDate, bool)> {
        let mut out = Vec::new();
        let mut day = d("2023-01-01");
        let mut i = 0;
        while day <= d("2025-06-30") {
            out.push((day, i % 5 == 0));
            day += chrono::Duration::days(10);
            i += 1;
        }
        out
    }

    #[test]
    fn a_retrain_without_matured_loans_is_told_which_as_of_dates_work() {
        let hint = workable_as_of(&outcomes(), d("2026-12-02"), 30);
        // Earliest: the training sample needs a good and a bad before the out-of-time months;
        // latest: the last loans (June 2025) must still fall in the out-of-time months.
        assert!(
            hint.contains("support --as-of from 2024-05-01 to 2026-09-01"),
            "{hint}"
        );
        // Nine loans a quarter, two defaults: never 30 out-of-time defaults.
        assert!(
            hint.contains("none has the 30 out-of-time defaults"),
            "{hint}"
        );
        let hint = workable_as_of(&outcomes(), d("2026-12-02"), 1);
        assert!(
            hint.contains("the latest with at least 1 out-of-time defaults"),
            "{hint}"
        );
        // Not beyond today.
        let hint = workable_as_of(&outcomes(), d("2024-08-15"), 30);
        assert!(hint.contains("to 2024-08-01"), "{hint}");
        assert!(workable_as_of(&[], d("2026-12-02"), 30).contains("No loan outcomes"));
        let hint = workable_as_of(&outcomes(), d("2024-01-01"), 30);
        assert!(
            hint.starts_with("No as-of date up to 2024-01-01 works"),
            "{hint}"
        );
    }
}
