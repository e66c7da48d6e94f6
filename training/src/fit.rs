//! Fitting end to end: bin every characteristic, screen, regress (dropping wrong signs), scale
//! into points, grow the challenger, measure both on the test sample, validate the artifact.

use std::time::Instant;

use ndarray::Array2;
use rayon::prelude::*;

use crate::artifact::{ModelArtifact, ModelMetrics, TrainingMeta, FORMAT, SCHEMA_VERSION};
use crate::binning::{bin_numeric, Binning, Locator};
use crate::categorical::bin_categorical;
use crate::error::{Result, TrainingError};
use crate::frame::{Column, ColumnData, Frame, MISSING_CODE};
use crate::logistic::{fit_logistic, LogitFit};
use crate::metrics::Metrics;
use crate::model::Model;
use crate::scorecard::{CardEntry, Scorecard};
use crate::selection::{screen, Decision, SelectionRecord};
use crate::settings::Settings;
use crate::tree::TreeChallenger;
use crate::tune::{tune, Tuning, TuningReport};

/// A fitted model plus the test-sample predictions the report draws.
#[derive(Debug, Clone)]
pub struct FittedModel {
    pub model: Model,
    pub evaluation: Evaluation,
}

/// Test-sample outcomes and predictions (not stored in `model.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub target: Vec<bool>,
    pub scores: Vec<i32>,
    pub pd: Vec<f64>,
    pub challenger_pd: Vec<f64>,
}

/// Fits on `frame`, measuring on a stratified hold-out of `settings.holdout_share`.
pub fn fit(frame: &Frame, settings: &Settings) -> Result<FittedModel> {
    settings.validate()?;
    frame.validate()?;
    let (train, test) = frame.stratified_split(settings.holdout_share, settings.seed);
    fit_inner(
        &train,
        &test,
        settings,
        "stratified hold-out",
        None,
        Instant::now(),
    )
}

/// Fits on `train`, measuring on `test` (for example a later period).
pub fn fit_with_test(train: &Frame, test: &Frame, settings: &Settings) -> Result<FittedModel> {
    fit_inner(train, test, settings, "test file", None, Instant::now())
}

/// [`fit`] with the settings in `tuning`'s lists chosen by cross-validation on the training
/// part of the hold-out split ([`crate::tune::tune`]); the chosen values and the table go into
/// the artifact, and the fit time (`training.seconds`) includes the tuning.
pub fn fit_tuned(frame: &Frame, settings: &Settings, tuning: &Tuning) -> Result<FittedModel> {
    let started = Instant::now();
    settings.validate()?;
    frame.validate()?;
    let (train, test) = frame.stratified_split(settings.holdout_share, settings.seed);
    let report = tune(&train, settings, tuning)?;
    let chosen = report.chosen.apply(settings);
    fit_inner(
        &train,
        &test,
        &chosen,
        "stratified hold-out",
        Some(report),
        started,
    )
}

/// [`fit_with_test`] with the settings chosen by cross-validation on `train` alone.
pub fn fit_with_test_tuned(
    train: &Frame,
    test: &Frame,
    settings: &Settings,
    tuning: &Tuning,
) -> Result<FittedModel> {
    let started = Instant::now();
    let report = tune(train, settings, tuning)?;
    let chosen = report.chosen.apply(settings);
    fit_inner(train, test, &chosen, "test file", Some(report), started)
}

fn fit_inner(
    train: &Frame,
    test: &Frame,
    s: &Settings,
    evaluated_on: &str,
    tuning: Option<TuningReport>,
    started: Instant,
) -> Result<FittedModel> {
    s.validate()?;
    train.validate()?;
    test.validate()?;
    // Stage timings on stderr when CREDITBRIDGE_TRAIN_TIMINGS is set (for the benchmarks).
    let trace = std::env::var_os("CREDITBRIDGE_TRAIN_TIMINGS").is_some();
    let stage = |name: &str| {
        if trace {
            eprintln!("[{:>7.3} s] {name}", started.elapsed().as_secs_f64());
        }
    };
    let mut binned = bin_all(train, s)?;
    stage("binned");
    let mut woes: Vec<Vec<f64>> = binned
        .iter()
        .map(|(b, _)| b.bins.iter().map(|x| x.woe).collect())
        .collect();
    let (kept, log) = screen_binned(train, &binned, &woes, s)?;
    stage("screened");
    let Signed { kept, log, x, fit } = regress_signed(train, &mut binned, &mut woes, kept, log, s)?;
    stage("regression");
    let card = build_card(train, &binned, &kept, &fit, s);
    stage("points");
    // Challenger on the same WoE features.
    let features: Vec<String> = kept.iter().map(|&i| binned[i].0.name.clone()).collect();
    let tree = TreeChallenger::fit(x.view(), &train.target, features, s)?;
    drop(x);
    drop(binned);
    stage("challenger");
    let mut artifact = draft_artifact(train, test, card, log, s, evaluated_on);
    artifact.tuning = tuning;
    let fitted = measure(artifact, tree, train, test, started)?;
    stage("measured");
    Ok(fitted)
}

/// Stage 1: bins and per-row bin indices, one characteristic per task.
fn bin_all(train: &Frame, s: &Settings) -> Result<Vec<(Binning, Vec<u8>)>> {
    train
        .columns
        .par_iter()
        .map(|c| bin_column(c, &train.target, s))
        .collect()
}

/// One characteristic's bins and the bin of every row.
fn bin_column(c: &Column, y: &[bool], s: &Settings) -> Result<(Binning, Vec<u8>)> {
    let b = match &c.data {
        ColumnData::Numeric(v) => bin_numeric(&c.name, v, y, s),
        ColumnData::Categorical(cat) => bin_categorical(&c.name, cat, y, s),
    };
    let idx = Locator::new(&b)?.assign(&c.name, &c.data)?;
    Ok((b, idx))
}

/// Why a column cannot be a characteristic: every value missing, or one value in every row
/// (nothing to rank by). `None` for a usable column.
pub(crate) fn unusable(c: &Column) -> Option<String> {
    match &c.data {
        ColumnData::Numeric(v) => {
            let mut present = v.iter().filter(|x| !x.is_nan());
            match present.next() {
                None => Some("every value is missing".into()),
                Some(&first) => (present.all(|&x| x == first) && v.iter().all(|x| !x.is_nan()))
                    .then(|| format!("every row has the value {first}")),
            }
        }
        ColumnData::Categorical(d) => {
            let mut present = d.codes.iter().filter(|&&k| k != MISSING_CODE);
            match present.next() {
                None => Some("every value is missing".into()),
                Some(&first) => (present.all(|&k| k == first)
                    && d.codes.iter().all(|&k| k != MISSING_CODE))
                .then(|| format!("every row has the value `{}`", d.levels[first as usize])),
            }
        }
    }
}

/// Stage 2: unusable columns reported and skipped, then the IV floor and correlation screen.
fn screen_binned(
    train: &Frame,
    binned: &[(Binning, Vec<u8>)],
    woes: &[Vec<f64>],
    s: &Settings,
) -> Result<(Vec<usize>, Vec<SelectionRecord>)> {
    let mut skipped = Vec::new();
    let cands: Vec<crate::selection::Candidate<'_>> = binned
        .iter()
        .enumerate()
        .filter(|&(i, (b, _))| match unusable(&train.columns[i]) {
            Some(reason) => {
                skipped.push(SelectionRecord {
                    name: b.name.clone(),
                    iv: b.iv,
                    decision: Decision::Unusable { reason },
                    note: None,
                });
                false
            }
            None => true,
        })
        .map(|(i, (b, idx))| (i, b.name.as_str(), b.iv, idx.as_slice(), woes[i].as_slice()))
        .collect();
    let (kept, mut log) = screen(&cands, s.min_iv, s.max_correlation);
    skipped.append(&mut log);
    if kept.is_empty() {
        return Err(TrainingError::NoCharacteristics {
            reason: format!("none reaches IV {} after screening", s.min_iv),
        });
    }
    Ok((kept, skipped))
}

/// What the regression stage leaves: the characteristics kept (in the matrix's column order),
/// the selection log, the WoE matrix and the fit.
struct Signed {
    kept: Vec<usize>,
    log: Vec<SelectionRecord>,
    x: Array2<f64>,
    fit: LogitFit,
}

/// Stage 3: regression. A characteristic whose coefficient says "safer WoE, more bads" is first
/// re-binned coarser (half its regular bins, down to two), which often removes the noise that
/// turned its sign; only a two-bin characteristic still of the wrong sign is dropped. Refits
/// until every sign is right.
fn regress_signed(
    train: &Frame,
    binned: &mut [(Binning, Vec<u8>)],
    woes: &mut [Vec<f64>],
    mut kept: Vec<usize>,
    mut log: Vec<SelectionRecord>,
    s: &Settings,
) -> Result<Signed> {
    let y = &train.target;
    // Regular bins before the first re-binning, for the selection log.
    let mut first_bins: Vec<Option<usize>> = vec![None; binned.len()];
    let note = |i: usize, first: &[Option<usize>], b: &Binning| {
        first[i].map(|n| {
            format!(
                "re-binned from {n} to {} bins after a wrong-sign coefficient",
                b.regular_bins().count()
            )
        })
    };
    let (x, fit) = loop {
        let x = woe_matrix(
            &kept
                .iter()
                .map(|&i| (binned[i].1.as_slice(), woes[i].as_slice()))
                .collect::<Vec<_>>(),
        );
        let fit: LogitFit = fit_logistic(x.view(), y, s.l2_alpha, s.max_iterations)?;
        let wrong: Vec<usize> = (0..kept.len())
            .filter(|&j| fit.coefficients[j] >= 0.0)
            .collect();
        if wrong.is_empty() {
            break (x, fit);
        }
        for &j in wrong.iter().rev() {
            let i = kept[j];
            let regular = binned[i].0.regular_bins().count();
            if regular > 2 {
                let coarser = s.clone().max_bins((regular / 2).max(2));
                let col = &train.columns[i];
                binned[i] = bin_column(col, y, &coarser)?;
                woes[i] = binned[i].0.bins.iter().map(|b| b.woe).collect();
                first_bins[i].get_or_insert(regular);
                continue;
            }
            kept.remove(j);
            log.push(SelectionRecord {
                name: binned[i].0.name.clone(),
                iv: binned[i].0.iv,
                decision: Decision::WrongSign {
                    coefficient: fit.coefficients[j],
                },
                note: note(i, &first_bins, &binned[i].0),
            });
        }
        if kept.is_empty() {
            return Err(TrainingError::NoCharacteristics {
                reason: "every coefficient came out with the wrong sign".into(),
            });
        }
    };
    for &i in &kept {
        log.push(SelectionRecord {
            name: binned[i].0.name.clone(),
            iv: binned[i].0.iv,
            decision: Decision::Selected,
            note: note(i, &first_bins, &binned[i].0),
        });
    }
    Ok(Signed { kept, log, x, fit })
}

/// Stage 4: points.
fn build_card(
    train: &Frame,
    binned: &[(Binning, Vec<u8>)],
    kept: &[usize],
    fit: &LogitFit,
    s: &Settings,
) -> Scorecard {
    let entries = kept
        .iter()
        .enumerate()
        .map(|(j, &i)| CardEntry {
            binning: binned[i].0.clone(),
            meta: train.columns[i].meta_or_generated(),
            coefficient: fit.coefficients[j],
            std_error: fit.std_errors[j + 1],
            p_value: fit.p_values[j + 1],
        })
        .collect();
    Scorecard::build(
        s.scaling,
        s.grades.clone(),
        fit.intercept,
        fit.std_errors[0],
        entries,
    )
}

/// The artifact before measurement: no challenger, empty metrics, no fit time.
fn draft_artifact(
    train: &Frame,
    test: &Frame,
    card: Scorecard,
    log: Vec<SelectionRecord>,
    s: &Settings,
    evaluated_on: &str,
) -> ModelArtifact {
    let bads = train.n_bads() as u64;
    ModelArtifact {
        format: FORMAT.into(),
        schema_version: SCHEMA_VERSION,
        scorecard: card,
        challenger: None,
        selection: log,
        training: TrainingMeta {
            input_sha256: train.source_sha256.clone(),
            rows: train.n_rows() as u64,
            bads,
            bad_rate: bads as f64 / train.n_rows() as f64,
            test_rows: test.n_rows() as u64,
            evaluated_on: evaluated_on.into(),
            trained_at: chrono::Utc::now(),
            seconds: 0.0,
            settings: s.clone(),
            library_version: env!("CARGO_PKG_VERSION").into(),
        },
        metrics: ModelMetrics {
            train: Metrics::of(&[], &[]),
            test: Metrics::of(&[], &[]),
            challenger_test: None,
        },
        tuning: None,
    }
}

/// Stage 5: measures card and challenger through the validated model, the same path that scores
/// later, and seals the artifact.
fn measure(
    mut artifact: ModelArtifact,
    tree: TreeChallenger,
    train: &Frame,
    test: &Frame,
    started: Instant,
) -> Result<FittedModel> {
    let probe = Model::from_artifact(artifact.clone())?;
    let pd_of = |scores: &[i32]| {
        scores
            .iter()
            .map(|&sc| probe.scorecard().pd_of_score(sc))
            .collect::<Vec<f64>>()
    };
    let train_pd = pd_of(&probe.score_frame(train)?);
    let test_scores = probe.score_frame(test)?;
    let test_pd = pd_of(&test_scores);
    let challenger_pd = tree.predict(test_woe_matrix(&probe, test, &tree.features)?.view());
    artifact.metrics = ModelMetrics {
        train: Metrics::of(&train_pd, &train.target),
        test: Metrics::of(&test_pd, &test.target),
        challenger_test: Some(Metrics::of(&challenger_pd, &test.target)),
    };
    artifact.challenger = Some(tree);
    artifact.training.seconds = started.elapsed().as_secs_f64();
    let model = Model::from_artifact(artifact)?;
    Ok(FittedModel {
        model,
        evaluation: Evaluation {
            target: test.target.clone(),
            scores: test_scores,
            pd: test_pd,
            challenger_pd,
        },
    })
}

/// Row-major WoE matrix from bin indices, filled in parallel blocks of rows.
pub(crate) fn woe_matrix(cols: &[(&[u8], &[f64])]) -> Array2<f64> {
    let k = cols.len();
    let n = cols.first().map_or(0, |c| c.0.len());
    let mut data = vec![0.0; n * k];
    const BLOCK: usize = 8192;
    data.par_chunks_mut(BLOCK * k)
        .enumerate()
        .for_each(|(blk, out)| {
            let start = blk * BLOCK;
            for (j, (idx, w)) in cols.iter().enumerate() {
                for (r, row) in out.chunks_exact_mut(k).enumerate() {
                    row[j] = w[idx[start + r] as usize];
                }
            }
        });
    Array2::from_shape_vec((n, k), data).expect("n·k elements by construction")
}

/// WoE matrix of a frame for the named characteristics, through the model's locators.
pub(crate) fn test_woe_matrix(
    model: &Model,
    frame: &Frame,
    names: &[String],
) -> Result<Array2<f64>> {
    let card = model.scorecard();
    let mut parts = Vec::with_capacity(names.len());
    for name in names {
        let c = card
            .characteristics
            .iter()
            .position(|c| &c.name == name)
            .ok_or_else(|| TrainingError::MissingCharacteristic { name: name.clone() })?;
        let col = frame
            .columns
            .iter()
            .find(|col| &col.name == name)
            .ok_or_else(|| TrainingError::MissingCharacteristic { name: name.clone() })?;
        let idx = model.locator(c).assign(name, &col.data)?;
        let w: Vec<f64> = card.characteristics[c].bins.iter().map(|b| b.woe).collect();
        parts.push((idx, w));
    }
    let cols: Vec<(&[u8], &[f64])> = parts
        .iter()
        .map(|(i, w)| (i.as_slice(), w.as_slice()))
        .collect();
    Ok(woe_matrix(&cols))
}
