//! Quarterly retraining from the data creditbridge holds: build the point-in-time training set,
//! hold out the most recent matured quarter as the out-of-time sample, fit the scorecard and its
//! tree challenger, measure the champion on the same loans, and register a candidate.

use std::path::Path;
use std::time::Instant;

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use serde_json::json;
use training::metrics::{auc, ks, psi};
use training::Value;

use super::dataset::{self, Example};
use super::gates::{self, GateInputs};
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
    pub oot_ks: f64,
    pub oot_gini: f64,
    pub challenger_oot_auc: Option<f64>,
    pub champion_id: Option<String>,
    pub champion_oot_auc: Option<f64>,
    pub psi_train_oot: f64,
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
    } = *with;
    let started = Instant::now();
    let examples = dataset::examples(db, product, as_of).await?;
    let cutoff = dataset::maturity_cutoff(as_of);
    let (train, oot, oot_from) = split_out_of_time(&examples, product, as_of)?;
    let train_frame = dataset::frame(product, &train);
    let oot_frame = dataset::frame(product, &oot);
    let fitted =
        tokio::task::block_in_place(|| training::fit_with_test(&train_frame, &oot_frame, settings))
            .map_err(RetrainError::Fit)?;
    let model = &fitted.model;
    let eval = &fitted.evaluation;
    let oot_auc = auc(&eval.pd, &eval.target);
    let oot_ks = ks(&eval.pd, &eval.target);
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
    let champion_oot_auc = match &champion {
        Some(c) => Some(champion_auc(&c.model, &oot)?),
        None => None,
    };
    let inputs = GateInputs {
        oot_auc,
        oot_ks,
        champion_oot_auc,
        psi_train_oot,
        non_monotonic: gates::non_monotonic(model.scorecard()),
        wrong_sign: gates::wrong_signs(model.scorecard()),
    };
    let gate_failures = gates.failures(&inputs);

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
        oot_ks,
        oot_gini: 2.0 * oot_auc - 1.0,
        challenger_oot_auc,
        champion_id: champion.as_ref().map(|c| c.id.clone()),
        champion_oot_auc,
        psi_train_oot,
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

fn champion_auc(model: &training::Model, oot: &[&Example]) -> Result<f64, RetrainError> {
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
    let bad: Vec<bool> = oot.iter().map(|e| e.bad).collect();
    Ok(auc(&pd, &bad))
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
