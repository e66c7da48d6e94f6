//! The modelling defaults: shapes chosen per characteristic, settings chosen by cross-validation,
//! reasons that say which side of a peak the applicant is on, and bad input handled without a
//! panic (too few bads for the folds, unusable columns, a target that is not binary).

use std::collections::HashMap;

use training::csv_input::{read_training_csv, CsvOptions};
use training::selection::Decision;
use training::tune::tune;
use training::{fit, fit_tuned, Column, Frame, Settings, TrainingError, Trend, Tuning, Value};

fn rng(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `age` has a U-shaped risk (young and old riskier), `debt` a rising one, `region` a few
/// levels, `noise` none.
fn frame(n: usize, seed: u64) -> Frame {
    let mut next = rng(seed);
    let (mut age, mut debt, mut noise, mut region, mut y) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let (a, d, r) = (next(), next(), (next() * 5.0) as usize);
        let z = -2.2 + 6.0 * (a - 0.5).powi(2) + 1.5 * d + [0.0, 0.3, -0.3, 0.5, -0.1][r];
        y.push(next() < 1.0 / (1.0 + (-z).exp()));
        age.push((20.0 + 50.0 * a).floor());
        debt.push((d * 1000.0).round() / 10.0);
        noise.push(next());
        region.push(Some(["n", "s", "e", "w", "c"][r]));
    }
    Frame::new(
        vec![
            Column::numeric("age", age),
            Column::numeric("debt", debt),
            Column::numeric("noise", noise),
            Column::categorical("region", region),
        ],
        y,
    )
}

#[test]
fn the_default_shape_finds_the_valley_and_reasons_name_its_side() {
    let fitted = fit(&frame(20_000, 7), &Settings::default()).unwrap();
    let card = fitted.model.scorecard();
    let age = card
        .characteristics
        .iter()
        .find(|c| c.name == "age")
        .expect("age on the card");
    assert_eq!(age.trend, Trend::Valley, "{:?}", age.bins);
    assert!(age.follows_trend());
    let debt = card
        .characteristics
        .iter()
        .find(|c| c.name == "debt")
        .unwrap();
    assert_eq!(debt.trend, Trend::Ascending);

    let applicant = |a: f64| -> HashMap<String, Value> {
        HashMap::from([
            ("age".to_string(), Value::Number(a)),
            ("debt".to_string(), Value::Number(50.0)),
            ("noise".to_string(), Value::Number(0.5)),
            ("region".to_string(), Value::Category("c".into())),
        ])
    };
    let age_reason = |a: f64| {
        fitted
            .model
            .score(&applicant(a))
            .unwrap()
            .reasons
            .into_iter()
            .find(|r| r.characteristic == "age")
            .expect("an age reason")
    };
    let young = age_reason(20.0);
    let old = age_reason(69.0);
    assert!(
        young.text_en.ends_with("below its lowest-risk range"),
        "{}",
        young.text_en
    );
    assert!(young.text_zh.contains("低于"), "{}", young.text_zh);
    assert!(
        old.text_en.ends_with("above its lowest-risk range"),
        "{}",
        old.text_en
    );
    assert!(old.text_zh.contains("高于"), "{}", old.text_zh);
    assert_eq!(young.code, old.code);
    // A monotonic characteristic keeps its plain text.
    let debt_reason = fitted
        .model
        .score(&HashMap::from([
            ("age".to_string(), Value::Number(45.0)),
            ("debt".to_string(), Value::Number(99.0)),
            ("noise".to_string(), Value::Number(0.5)),
            ("region".to_string(), Value::Category("c".into())),
        ]))
        .unwrap()
        .reasons
        .into_iter()
        .find(|r| r.characteristic == "debt")
        .unwrap();
    assert_eq!(debt_reason.text_en, debt.text_en);
}

/// On data whose risk is monotonic in truth the penalised criterion keeps the monotonic shape:
/// a turn that only fits the noise does not pay for itself.
#[test]
fn noise_around_a_monotonic_trend_stays_monotonic() {
    let mut turned = Vec::new();
    for seed in 1..=20u64 {
        let mut next = rng(seed);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..3000 {
            let u = next();
            x.push((u * 40.0).floor());
            y.push(next() < 1.0 / (1.0 + (-(-2.0 + 1.2 * u)).exp()));
        }
        let b = training::binning::bin_numeric("x", &x, &y, &Settings::default());
        if !matches!(b.trend, Trend::Ascending | Trend::Descending) {
            turned.push((seed, b.trend));
        }
    }
    assert!(turned.len() <= 1, "{turned:?}");
}

#[test]
fn cross_validation_chooses_within_one_standard_error_of_the_best() {
    let data = frame(8000, 3);
    let tuning = Tuning::default();
    let report = tune(&data, &Settings::default(), &tuning).unwrap();
    assert_eq!(report.method, "5-fold stratified");
    assert_eq!(report.folds, 5);
    assert_eq!(report.table.len(), 3 * 2 * 2 * 2 * 2);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let best = report
        .table
        .iter()
        .map(|r| r.mean_auc)
        .fold(f64::NEG_INFINITY, f64::max);
    let chosen = report
        .table
        .iter()
        .find(|r| r.candidate == report.chosen)
        .unwrap();
    let best_row = report
        .table
        .iter()
        .find(|r| r.candidate == report.best)
        .unwrap();
    assert_eq!(report.rule, training::StandardErrorRule::Paired);
    assert_eq!(best_row.mean_auc, best);
    assert_eq!((best_row.shortfall, best_row.paired_std_error), (0.0, 0.0));
    // Paired: the chosen row's mean shortfall from the best is within its own standard error.
    assert!(chosen.shortfall <= chosen.paired_std_error, "{chosen:?}");
    assert!((chosen.shortfall - (best - chosen.mean_auc)).abs() < 1e-12);
    assert!(chosen.complexity <= best_row.complexity);
    assert!(best > 0.6 && best < 0.9, "{best}");
    // No simpler row was also within reach.
    assert!(report
        .table
        .iter()
        .filter(|r| r.shortfall <= r.paired_std_error)
        .all(|r| r.complexity >= chosen.complexity));
    // The best-spread rule, asked for, judges by the best row's fold spread instead.
    let spread = tune(
        &data,
        &Settings::default(),
        &Tuning {
            rule: training::StandardErrorRule::BestSpread,
            ..Tuning::default()
        },
    )
    .unwrap();
    assert_eq!(spread.table, report.table);
    assert_eq!(
        spread.chosen,
        training::tune::one_standard_error(&report.table)
    );
    let spread_row = spread
        .table
        .iter()
        .find(|r| r.candidate == spread.chosen)
        .unwrap();
    assert!(spread_row.mean_auc >= best - best_row.std_error);

    // The tuned fit records what it chose and fits with it.
    let fitted = fit_tuned(&data, &Settings::default(), &tuning).unwrap();
    let a = fitted.model.artifact();
    let t = a
        .tuning
        .as_ref()
        .expect("the tuning report in the artifact");
    assert_eq!(a.training.settings.max_bins, t.chosen.max_bins);
    assert_eq!(a.training.settings.l2_alpha, t.chosen.l2_alpha);
    // And the model card shows them.
    let html = training::report::render(&fitted).unwrap().html;
    assert!(html.contains("Settings chosen by cross-validation"));
    assert!(html.contains("5-fold stratified"));
    assert_eq!(html.matches("<td class=l>chosen</td>").count(), 1);
}

#[test]
fn a_fixed_setting_is_not_tuned() {
    let tuning = Tuning {
        max_bins: vec![6],
        l2_alpha: vec![3.0],
        ..Tuning::default()
    };
    let report = tune(&frame(5000, 5), &Settings::default(), &tuning).unwrap();
    assert!(report
        .table
        .iter()
        .all(|r| r.candidate.max_bins == 6 && r.candidate.l2_alpha == 3.0));
    // The bin share, IV floor and correlation limit still have two candidates each.
    assert_eq!(report.table.len(), 2 * 2 * 2);
    // An empty list or a bad value is refused by name, not a panic.
    let err = tune(
        &frame(500, 5),
        &Settings::default(),
        &Tuning {
            max_bins: vec![],
            ..Tuning::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("tuning"), "{err}");
    let err = tune(
        &frame(500, 5),
        &Settings::default(),
        &Tuning {
            max_correlation: vec![0.8, 1.5],
            ..Tuning::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("max_correlation"), "{err}");
}

/// Each binning is its own fit: with one characteristic every candidate keeps the same
/// selection, and a 2-bin and an 8-bin cut of a steeply rising risk must still be scored apart
/// (a cache keyed by the selection alone once gave every bin count the first one's AUC).
#[test]
fn every_bin_count_is_fitted_and_scored_on_its_own() {
    let mut next = rng(21);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..6000 {
        let u = next();
        x.push((u * 1000.0).floor());
        y.push(next() < 1.0 / (1.0 + (-(-3.0 + 4.0 * u)).exp()));
    }
    let data = Frame::new(vec![Column::numeric("x", x)], y);
    let tuning = Tuning {
        max_bins: vec![2, 8],
        min_bin_share: vec![0.05],
        min_iv: vec![0.02],
        max_correlation: vec![0.8],
        l2_alpha: vec![1.0],
        ..Tuning::default()
    };
    let report = tune(&data, &Settings::default(), &tuning).unwrap();
    let auc_of = |bins: usize| {
        report
            .table
            .iter()
            .find(|r| r.candidate.max_bins == bins)
            .unwrap()
            .mean_auc
    };
    assert!(auc_of(8) > auc_of(2) + 0.01, "{:?}", report.table);
    // Eight bins beat two on every fold: the paired rule keeps them.
    assert_eq!(report.chosen.max_bins, 8, "{:?}", report.table);
}

#[test]
fn out_of_time_folds_validate_on_later_rows() {
    let tuning = Tuning {
        scheme: training::FoldScheme::OutOfTime,
        folds: 3,
        ..Tuning::default()
    };
    let report = tune(&frame(6000, 9), &Settings::default(), &tuning).unwrap();
    assert_eq!(report.method, "3-fold out-of-time");
    assert_eq!(report.folds, 3);
}

#[test]
fn too_few_bads_for_the_folds_falls_back_to_a_hold_out_with_a_warning() {
    // 4 bads among 400 rows: fewer bads than the 5 folds.
    let mut next = rng(11);
    let x: Vec<f64> = (0..400).map(|_| next()).collect();
    let y: Vec<bool> = (0..400).map(|i| i % 100 == 0).collect();
    let data = Frame::new(vec![Column::numeric("x", x)], y);
    let report = tune(&data, &Settings::default(), &Tuning::default()).unwrap();
    assert_eq!(report.method, "hold-out");
    assert!(
        report.warnings[0].contains("4 bads") && report.warnings[0].contains("5 folds"),
        "{:?}",
        report.warnings
    );
    // Even fitting the tuned model never panics: it succeeds or says why not.
    match fit_tuned(&data, &Settings::default(), &Tuning::default()) {
        Ok(_) | Err(TrainingError::NoCharacteristics { .. }) => {}
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn constant_and_all_missing_columns_are_reported_and_skipped() {
    let base = frame(4000, 13);
    let n = base.n_rows();
    let mut columns = base.columns.clone();
    columns.push(Column::numeric("all_missing", vec![f64::NAN; n]));
    columns.push(Column::numeric("constant", vec![7.0; n]));
    columns.push(Column::categorical("one_level", vec![Some("x"); n]));
    let data = Frame::new(columns, base.target.clone());
    for settings in [Settings::default(), Settings::default().min_iv(0.0)] {
        let fitted = fit(&data, &settings).unwrap();
        let a = fitted.model.artifact();
        for name in ["all_missing", "constant", "one_level"] {
            let r = a.selection.iter().find(|r| r.name == name).unwrap();
            match &r.decision {
                Decision::Unusable { reason } => assert!(
                    reason.contains("missing") || reason.contains("every row has the value"),
                    "{reason}"
                ),
                other => panic!("{name}: {other:?}"),
            }
            assert!(fitted.model.characteristics().all(|c| c != name));
        }
    }
    let t = tune(&data, &Settings::default(), &Tuning::default()).unwrap();
    assert!(t.table.iter().all(|r| r.characteristics <= 4.0));
}

#[test]
fn a_target_with_more_than_two_values_is_refused_with_the_values() {
    let p = std::env::temp_dir().join(format!("cb-modelling-{}-target.csv", std::process::id()));
    std::fs::write(&p, "x,status\n1,0\n2,1\n3,2\n4,0\n5,30\n").unwrap();
    let err = read_training_csv(
        &p,
        &CsvOptions {
            target: "status".into(),
            bad_value: "1".into(),
            ..CsvOptions::default()
        },
    )
    .unwrap_err();
    std::fs::remove_file(&p).unwrap();
    let text = err.to_string();
    assert!(text.contains("more than two values"), "{text}");
    for v in ["`0`", "`1`", "`2`", "`30`"] {
        assert!(text.contains(v), "{text}");
    }
}

/// A near copy of a strong characteristic, kept beside it by a correlation limit of 1, takes a
/// wrong-sign coefficient: it is re-binned coarser before it may be dropped, and the log says so.
#[test]
fn a_wrong_sign_is_first_re_binned_coarser() {
    let mut next = rng(21);
    let n = 20_000;
    let (mut a, mut b, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let (u, e) = (next(), 0.3 * (next() - 0.5));
        // Risk rises with `u`; the copy is `u + e`, and `e` itself lowers the risk: alone the
        // copy looks like `strong`, beside it its coefficient turns to the wrong side.
        let z = -2.0 + 2.5 * u - 4.0 * e;
        y.push(next() < 1.0 / (1.0 + (-z).exp()));
        a.push((u * 1000.0).round());
        b.push(((u + e) * 1000.0).round());
    }
    let data = Frame::new(
        vec![Column::numeric("strong", a), Column::numeric("copy", b)],
        y,
    );
    let s = Settings::default()
        .max_correlation(1.0)
        .min_iv(0.0)
        .max_bins(12);
    let fitted = fit(&data, &s).unwrap();
    let log = &fitted.model.artifact().selection;
    let copy = log.iter().find(|r| r.name == "copy").unwrap();
    let note = copy.note.as_deref().unwrap_or("");
    assert!(note.starts_with("re-binned from"), "{copy:?}");
    for c in &fitted.model.scorecard().characteristics {
        assert!(c.coefficient < 0.0, "{}: {}", c.name, c.coefficient);
    }
}
