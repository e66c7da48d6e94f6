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

/// What a retraining reads and writes: the data held, where artifacts go, the champions to
/// compare with, the modelling settings and the gates.
pub struct Retraining<'a> {
    pub db: &'a Db,
    pub models_dir: &'a Path,
    pub champions: &'a Champions,
    pub settings: &'a training::Settings,
    pub gates: &'a gates::Gates,
    /// For the registration time and the as-of hint.
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
    pub artifact: String,
    pub seconds: f64,
    /// The out-of-time loans (id, defaulted), for comparisons such as the simulator's oracle.
    #[serde(skip)]
    pub oot_loans: Vec<(String, bool)>,
}

/// Retrains `product` as of `as_of` and registers the result as a candidate.
pub async fn retrain(
    with: &Retraining<'_>,
    product: Product,
    as_of: NaiveDate,
) -> Result<RetrainOutcome, RetrainError> {
    let Retraining {
        db,
        models_dir,
        champions,
        settings,
        gates,
        clock,
    } = *with;
    let started = Instant::now();
    let today = clock.today();
    let examples = dataset::examples(db, product, as_of).await?;
    let cutoff = dataset::maturity_cutoff(as_of);
    let (train, oot, oot_from) = match split_out_of_time(&examples, product, as_of) {
        Ok(split) => split,
        Err(e) => {
            let outcomes = db.loan_outcomes(product.as_str()).await?;
            let hint = workable_as_of(&outcomes, today, gates.min_oot_bads);
            return Err(RetrainError::Sample(format!("{e}. {hint}")));
        }
    };
    let train_frame = dataset::frame(product, &train);
    let oot_frame = dataset::frame(product, &oot);
    // Settings chosen by the same cross-validation `creditbridge train` runs on the exported
    // samples (stratified folds), so `train` on the export still reproduces the candidate.
    let tuning = training::Tuning::default();
    let fitted = tokio::task::block_in_place(|| {
        training::fit_with_test_tuned(&train_frame, &oot_frame, settings, &tuning)
    })
    .map_err(RetrainError::Fit)?;
    let model = &fitted.model;
    let eval = &fitted.evaluation;
    let oot_estimate = delong::auc(&eval.pd, &eval.target).ok_or_else(|| {
        RetrainError::Sample("the out-of-time sample needs goods and bads".into())
    })?;
    let oot_auc = oot_estimate.auc;
    let oot_ks = delong::signed_ks(&eval.pd, &eval.target);
    let challenger_oot_auc =
        (!eval.challenger_pd.is_empty()).then(|| auc(&eval.challenger_pd, &eval.target));
    let train_scores: Vec<f64> = model
        .score_frame(&train_frame)
        .map_err(RetrainError::model("scoring the training sample"))?
        .into_iter()
        .map(f64::from)
        .collect();
    let oot_scores: Vec<f64> = eval.scores.iter().map(|s| f64::from(*s)).collect();
    let psi_train_oot = psi(&train_scores, &oot_scores, 10);

    // The champion on the very same loans, so the comparison is like for like.
    let champion = champions.get(product);
    let champion_cmp = match &champion {
        Some(c) => {
            let pd = champion_pd(&c.model, &oot)?;
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
        oot_auc: oot_estimate,
        oot_ks,
        champion: champion_cmp.clone(),
        baseline: baseline_cmp.clone(),
        psi_train_oot,
        non_monotonic: gates::non_monotonic(model.scorecard()),
        wrong_sign: gates::wrong_signs(model.scorecard()),
    };
    let GateResult {
        verdict: gate_verdict,
        failures: gate_failures,
    } = gates.judge(&inputs);

    let id = next_id(db, product, as_of).await?;
    let dir = models_dir.join(product.as_str()).join(&id);
    std::fs::create_dir_all(&dir)
        .map_err(RetrainError::io(format!("creating {}", dir.display())))?;
    let artifact_path = dir.join("model.json");
    let artifact = model
        .to_json()
        .map_err(RetrainError::model("serialising the model"))?;
    std::fs::write(&artifact_path, &artifact).map_err(RetrainError::io(format!(
        "writing {}",
        artifact_path.display()
    )))?;
    // The model card: bins and points, ROC/KS, score distributions, the challenger beside it.
    training::report::render(&fitted)
        .and_then(|r| r.write(&dir))
        .map_err(RetrainError::model(format!(
            "writing the model card in {}",
            dir.display()
        )))?;
    let bad_rate_train = train.iter().filter(|e| e.bad).count() as f64 / train.len() as f64;
    let outcome = RetrainOutcome {
        id: id.clone(),
        product: product.as_str().into(),
        as_of,
        rows_train: train.len(),
        rows_oot: oot.len(),
        bad_rate_train,
        oot_auc,
        oot_auc_ci: (oot_estimate.lower, oot_estimate.upper),
        oot_bads: oot_estimate.bads,
        oot_ks,
        oot_gini: 2.0 * oot_auc - 1.0,
        challenger_oot_auc,
        champion_id: champion.as_ref().map(|c| c.id.clone()),
        champion_oot_auc: champion_cmp.map(|c| c.test.auc_b),
        baseline_oot_auc: baseline_cmp.map(|c| c.test.auc_b),
        psi_train_oot,
        gate_verdict,
        gate_failures,
        artifact: artifact_path.display().to_string(),
        seconds: started.elapsed().as_secs_f64(),
        oot_loans: oot.iter().map(|e| (e.loan_id.clone(), e.bad)).collect(),
    };
    let baseline = super::monitoring::ScoreBaseline::from_scores(&train_scores, 10);
    let metrics = json!({
        "retrain": &outcome,
        "gate_inputs": inputs,
        "baseline": baseline,
        "model": model.artifact().metrics,
    });
    let window = json!({
        "as_of": as_of,
        "matured_through": cutoff,
        "train_from": train.first().map(|e| e.disbursed_on),
        "train_to": oot_from,
        "oot_from": oot_from.succ_opt(),
        "oot_to": cutoff,
    });
    db.register_model(&NewModel {
        id: &id,
        product: product.as_str(),
        artifact: &artifact,
        metrics: &metrics,
        data_window: &window,
        created_at: clock.now(),
    })
    .await?;
    Ok(outcome)
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
    db: &Db,
    product: Product,
    as_of: NaiveDate,
    dir: &Path,
) -> Result<serde_json::Value, RetrainError> {
    let examples = dataset::examples(db, product, as_of).await?;
    let (train, oot, _) = split_out_of_time(&examples, product, as_of)?;
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

/// `<product>-<year>Q<quarter>-<n>`, n counting the models already registered for that quarter.
async fn next_id(db: &Db, product: Product, as_of: NaiveDate) -> Result<String, StoreError> {
    let prefix = format!(
        "{}-{}Q{}-",
        product.as_str(),
        as_of.year(),
        as_of.month0() / 3 + 1
    );
    let taken = db
        .models(Some(product.as_str()))
        .await?
        .iter()
        .filter(|m| m.id.starts_with(&prefix))
        .count();
    Ok(format!("{prefix}{}", taken + 1))
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
