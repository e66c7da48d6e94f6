//! `creditbridge generate`: writes a synthetic city as feed files plus `truth.csv`, prints the
//! oracle AUC, and ends with one JSON summary line for scripts.

use std::path::PathBuf;
use std::time::Instant;

use crate::simulator::{self, Config, Month};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write the files into (created if missing)
    #[arg(long)]
    pub out: PathBuf,
    /// Number of enterprises
    #[arg(long, default_value_t = 2_000)]
    pub enterprises: u64,
    /// Number of farmer households
    #[arg(long, default_value_t = 2_000)]
    pub households: u64,
    /// Random seed: the same seed and arguments give byte-identical files
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First month of tax payments written (YYYY-MM); loans start a year later
    /// [default: 47 months before --end]
    #[arg(long, value_parser = parse_month)]
    pub start: Option<Month>,
    /// Last month simulated (YYYY-MM) [default: last month, by the clock]
    #[arg(long, value_parser = parse_month)]
    pub end: Option<Month>,
    /// Share of rows to break on purpose (0–1), listed in injected-errors.csv
    #[arg(long, default_value_t = 0.0)]
    pub inject_errors: f64,
}

fn parse_month(s: &str) -> Result<Month, String> {
    Month::parse(s)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    run_at(args, &crate::clock::SystemClock)
}

/// `generate` as of `clock`: the default months run up to last month, so a `retrain` today finds
/// matured loans (fixed 2022-2025 defaults left none once 2026 was a year old).
pub fn run_at(args: Args, clock: &dyn crate::clock::Clock) -> anyhow::Result<()> {
    let (default_start, default_end) = simulator::months_up_to_last_month(clock.today());
    let end = args.end.unwrap_or(default_end);
    let start = args.start.unwrap_or(if args.end.is_some() {
        end.plus(-47)
    } else {
        default_start
    });
    let config = Config {
        enterprises: args.enterprises,
        households: args.households,
        seed: args.seed,
        start,
        end,
        inject_errors: args.inject_errors,
    };
    let started = Instant::now();
    let summary = simulator::generate(&config, &args.out)?;
    let elapsed = started.elapsed().as_secs_f64();
    for (name, rows) in &summary.rows {
        println!("{name}: {rows} rows");
    }
    for (product, s) in [("sme", &summary.sme), ("farmer", &summary.farmer)] {
        println!(
            "{product}: {} loans, {} with a 12-month outcome, bad rate {}, oracle AUC {}",
            s.loans,
            s.with_outcome,
            fmt(s.bad_rate),
            fmt(s.oracle_auc)
        );
    }
    if summary.injected_errors > 0 {
        println!(
            "{} broken cells listed in injected-errors.csv",
            summary.injected_errors
        );
    }
    println!("written to {} in {elapsed:.1} s", args.out.display());
    let json = serde_json::json!({
        "enterprises": summary.enterprises,
        "households": summary.households,
        "seed": summary.seed,
        "rows": summary.rows,
        "loans": {"sme": summary.sme, "farmer": summary.farmer},
        "oracle_auc": {"sme": summary.sme.oracle_auc, "farmer": summary.farmer.oracle_auc},
        "grade_shares": {"tax": summary.shares.tax_grades, "farmer": summary.shares.farmer_grades},
        "direct_d_rows": summary.shares.direct_d_rows,
        "public_records": summary.shares.public_records,
        "credit_villages": summary.credit_villages,
        "loans_by_month": summary.loans_by_month,
        "injected_errors": summary.injected_errors,
        "seconds": (elapsed * 10.0).round() / 10.0,
    });
    println!("{json}");
    Ok(())
}

fn fmt(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"))
}
