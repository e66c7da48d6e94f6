//! `creditbridge train`: fits a scorecard on any CSV and writes `DIR/model.json`, the HTML report
//! and its charts. Prints one JSON line with where they went and the test metrics.

use std::path::PathBuf;

use anyhow::Context;
use training::csv_input::{read_training_csv, CsvOptions};
use training::{ColumnData, Settings, Trend};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Training data: CSV with a header row
    #[arg(long)]
    pub data: PathBuf,
    /// Column holding the outcome
    #[arg(long)]
    pub target: String,
    /// Target value that marks a bad
    #[arg(long, default_value = "1")]
    pub bad_value: String,
    /// Test data with the same columns; without it a stratified 30% hold-out is used
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Columns to treat as categorical (non-numeric columns are categorical anyway)
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Columns to leave out
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Output directory
    #[arg(long, default_value = "model")]
    pub out: PathBuf,
    /// Bad-rate shape across a numeric characteristic's bins: `auto-shaped` (ascending,
    /// descending, peak or valley, a turn kept only when a penalised likelihood criterion says it
    /// is materially better), `auto` (ascending or descending), or a fixed `ascending`,
    /// `descending`, `peak`, `valley`, `free`
    #[arg(long, value_enum, default_value = "auto-shaped")]
    pub trend: TrendArg,
    /// Most regular bins per characteristic (fixes it; otherwise chosen by cross-validation)
    #[arg(long)]
    pub max_bins: Option<usize>,
    /// Smallest share of the rows in a regular numeric bin (fixes it; otherwise chosen by
    /// cross-validation)
    #[arg(long)]
    pub min_bin_share: Option<f64>,
    /// Characteristics with a lower information value are left out (fixes it; otherwise chosen
    /// by cross-validation)
    #[arg(long)]
    pub min_iv: Option<f64>,
    /// Of two characteristics whose WoE correlate above this, the lower IV is left out (fixes
    /// it; otherwise chosen by cross-validation)
    #[arg(long)]
    pub max_correlation: Option<f64>,
    /// L2 strength of the logistic regression (fixes it; otherwise chosen by cross-validation)
    #[arg(long)]
    pub l2: Option<f64>,
    /// Keep fixed settings (the library defaults for any not given) instead of choosing them by
    /// cross-validation
    #[arg(long)]
    pub no_tune: bool,
    /// Cross-validation folds
    #[arg(long, default_value_t = training::Tuning::default().folds)]
    pub folds: usize,
}

/// `--trend` values, one per [`training::Trend`].
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum TrendArg {
    Auto,
    AutoShaped,
    Ascending,
    Descending,
    Peak,
    Valley,
    Free,
}

impl From<TrendArg> for Trend {
    fn from(t: TrendArg) -> Self {
        match t {
            TrendArg::Auto => Trend::Auto,
            TrendArg::AutoShaped => Trend::AutoShaped,
            TrendArg::Ascending => Trend::Ascending,
            TrendArg::Descending => Trend::Descending,
            TrendArg::Peak => Trend::Peak,
            TrendArg::Valley => Trend::Valley,
            TrendArg::Free => Trend::Free,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let defaults = Settings::default();
    let settings = Settings::default()
        .trend(args.trend.into())
        .max_bins(args.max_bins.unwrap_or(defaults.max_bins))
        .min_bin_share(args.min_bin_share.unwrap_or(defaults.min_bin_share))
        .min_iv(args.min_iv.unwrap_or(defaults.min_iv))
        .max_correlation(args.max_correlation.unwrap_or(defaults.max_correlation))
        .l2_alpha(args.l2.unwrap_or(defaults.l2_alpha));
    // A setting given by flag is fixed: its candidate list is that one value.
    let tuning = (!args.no_tune).then(|| {
        let t = training::Tuning::default();
        training::Tuning {
            folds: args.folds,
            max_bins: args.max_bins.map_or(t.max_bins, |v| vec![v]),
            min_bin_share: args.min_bin_share.map_or(t.min_bin_share, |v| vec![v]),
            min_iv: args.min_iv.map_or(t.min_iv, |v| vec![v]),
            max_correlation: args.max_correlation.map_or(t.max_correlation, |v| vec![v]),
            l2_alpha: args.l2.map_or(t.l2_alpha, |v| vec![v]),
            ..t
        }
    });
    let started = std::time::Instant::now();
    let trace = std::env::var_os("CREDITBRIDGE_TRAIN_TIMINGS").is_some();
    let stage = |name: &str| {
        if trace {
            eprintln!("[{:>7.3} s total] {name}", started.elapsed().as_secs_f64());
        }
    };
    let options = CsvOptions {
        target: args.target.clone(),
        bad_value: args.bad_value.clone(),
        categorical: args.categorical.clone(),
        numeric: Vec::new(),
        exclude: args.exclude.clone(),
    };
    let train = read_training_csv(&args.data, &options)?;
    stage("read training file");
    let fitted = match &args.test {
        Some(test_path) => {
            // Read the test file with the training file's column types, so a column cannot be
            // numeric in one and categorical in the other.
            let (mut categorical, mut numeric) = (Vec::new(), Vec::new());
            for c in &train.columns {
                match c.data {
                    ColumnData::Categorical(_) => categorical.push(c.name.clone()),
                    ColumnData::Numeric(_) => numeric.push(c.name.clone()),
                }
            }
            let test = read_training_csv(
                test_path,
                &CsvOptions {
                    categorical,
                    numeric,
                    ..options
                },
            )?;
            match &tuning {
                Some(t) => training::fit_with_test_tuned(&train, &test, &settings, t)?,
                None => training::fit_with_test(&train, &test, &settings)?,
            }
        }
        None => match &tuning {
            Some(t) => training::fit_tuned(&train, &settings, t)?,
            None => training::fit(&train, &settings)?,
        },
    };
    stage("fitted");
    drop(train);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let model_path = args.out.join("model.json");
    fitted.model.save(&model_path)?;
    let report = training::report::render(&fitted)?;
    report.write(&args.out)?;
    stage("model and report written");
    let a = fitted.model.artifact();
    let summary = serde_json::json!({
        "model": model_path,
        "report": args.out.join("report.html"),
        "characteristics": a.scorecard.characteristics.len(),
        "test_auc": a.metrics.test.auc,
        "test_ks": a.metrics.test.ks,
        "test_gini": a.metrics.test.gini,
        "test_brier": a.metrics.test.brier,
        "challenger_test_auc": a.metrics.challenger_test.as_ref().map(|m| m.auc),
        "fit_seconds": a.training.seconds,
        "settings": {
            "trend": a.training.settings.trend,
            "max_bins": a.training.settings.max_bins,
            "min_bin_share": a.training.settings.min_bin_share,
            "min_iv": a.training.settings.min_iv,
            "max_correlation": a.training.settings.max_correlation,
            "l2_alpha": a.training.settings.l2_alpha,
        },
        "tuning": a.tuning,
    });
    println!("{summary}");
    Ok(())
}
