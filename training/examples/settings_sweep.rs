//! Test AUC of one train/test pair under settings taken from the environment, for sweeping the
//! fitting settings the command line does not expose (docs/benchmarks.md, "Training").
//!
//! ```sh
//! PREBINS=100 L2=3 cargo run --release -p training --example settings_sweep -- \
//!     TRAIN.csv TEST.csv TARGET BAD_VALUE CATEGORICAL,COLUMNS EXCLUDED,COLUMNS
//! ```
//!
//! Variables (each optional, unset = the default): `PREBINS`, `SMOOTH` (WoE pseudo-count),
//! `L2`, `MAXCORR`, `MINSHARE`, `MAXBINS`, `MINIV`, `MONO` (any value: the `auto` trend,
//! ascending or descending only), `TUNE` (any value: choose the settings by cross-validation,
//! as `creditbridge train` does by default, and print the choice), with `TUNE_ROWS` (rows to
//! tune on, default the library's) and `RULE=spread` (the best-spread one-standard-error rule
//! instead of the paired one).
//! Prints the test AUC of the integer-point card and of the same fit with points scaled a
//! thousandfold (so that rounding to whole points no longer matters), and the characteristics kept.

use std::path::Path;

use training::csv_input::{read_training_csv, CsvOptions};
use training::{fit_with_test, ColumnData, Scaling, Settings, Trend};

/// `s` with the setter applied to the environment variable `name`, when it is set and parses.
fn set<T: std::str::FromStr>(
    s: Settings,
    name: &str,
    setter: fn(Settings, T) -> Settings,
) -> Settings {
    match std::env::var(name).ok().and_then(|v| v.parse().ok()) {
        Some(v) => setter(s, v),
        None => s,
    }
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 7 {
        return Err("usage: settings_sweep TRAIN TEST TARGET BAD_VALUE CATEGORICAL EXCLUDE".into());
    }
    let options = CsvOptions {
        target: a[3].clone(),
        bad_value: a[4].clone(),
        categorical: list(&a[5]),
        numeric: Vec::new(),
        exclude: list(&a[6]),
    };
    let train = read_training_csv(Path::new(&a[1]), &options)?;
    // The test file is read with the kinds the training file's columns got.
    let kinds = |numeric: bool| {
        train
            .columns
            .iter()
            .filter(|c| matches!(c.data, ColumnData::Numeric(_)) == numeric)
            .map(|c| c.name.clone())
            .collect()
    };
    let test_options = CsvOptions {
        numeric: kinds(true),
        categorical: kinds(false),
        ..options
    };
    let test = read_training_csv(Path::new(&a[2]), &test_options)?;
    let mut s = Settings::default();
    s = set(s, "PREBINS", Settings::prebins);
    s = set(s, "SMOOTH", Settings::woe_smoothing);
    s = set(s, "L2", Settings::l2_alpha);
    s = set(s, "MAXCORR", Settings::max_correlation);
    s = set(s, "MINSHARE", Settings::min_bin_share);
    s = set(s, "MAXBINS", Settings::max_bins);
    s = set(s, "MINIV", Settings::min_iv);
    if std::env::var_os("MONO").is_some() {
        s = s.trend(Trend::Auto);
    }
    if std::env::var_os("TUNE").is_some() {
        let mut tuning = training::Tuning::default();
        if let Some(rows) = std::env::var("TUNE_ROWS").ok().and_then(|v| v.parse().ok()) {
            tuning.max_rows = rows;
        }
        if std::env::var("RULE").is_ok_and(|v| v == "spread") {
            tuning.rule = training::StandardErrorRule::BestSpread;
        }
        let report = training::tune::tune(&train, &s, &tuning)?;
        eprintln!(
            "tuned ({}, {} rows, {:.2} s): {:?}",
            report.method, report.rows, report.seconds, report.chosen
        );
        if std::env::var_os("TABLE").is_some() {
            for r in &report.table {
                let c = &r.candidate;
                eprintln!(
                    "  bins {:>2} share {:<4} iv {:<5} corr {} l2 {:>2}: mean {:.4} ± {:.4}  shortfall {:.4} ± {:.4}  chars {:.1}",
                    c.max_bins, c.min_bin_share, c.min_iv, c.max_correlation, c.l2_alpha, r.mean_auc, r.std_error,
                    r.shortfall, r.paired_std_error, r.characteristics
                );
            }
        }
        s = report.chosen.apply(&s);
    }
    let card = fit_with_test(&train, &test, &s)?;
    let fine = fit_with_test(
        &train,
        &test,
        &s.clone().scaling(Scaling {
            base_score: 600_000.0,
            base_odds: 50.0,
            pdo: 20_000.0,
        }),
    )?;
    let artifact = card.model.artifact();
    let kept: Vec<&str> = artifact
        .scorecard
        .characteristics
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    println!(
        "auc_card={:.4} auc_unrounded={:.4} characteristics={} {kept:?}",
        artifact.metrics.test.auc,
        fine.model.artifact().metrics.test.auc,
        kept.len()
    );
    Ok(())
}
