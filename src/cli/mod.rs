//! The command line: one clap subcommand per job. Each command lives in its own module and
//! exposes `Args` (clap) and `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::settings::Overrides;

pub mod audit;
pub mod consents;
pub mod demo;
pub mod generate;
pub mod import;
pub mod maintenance;
pub mod models;
pub mod partners;
pub mod score;
pub mod serve;
pub mod train;
pub mod users;

#[derive(Debug, Parser)]
#[command(
    name = "creditbridge",
    version,
    about = "Credit scoring for bank–tax interaction and farmer credit ratings"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command may override (they also come from creditbridge.toml and
/// CREDITBRIDGE_* variables).
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Database URL: sqlite://PATH or postgres://… [default: sqlite://data/creditbridge.db]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Data directory for the embedded database and generated files [default: data]
    #[arg(long, global = true)]
    pub data_dir: Option<std::path::PathBuf>,
}

impl Common {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            ..Default::default()
        }
    }
}

/// The async runtime for commands that talk to the database or serve.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service
    Serve(serve::Args),
    /// First run: generate a synthetic city, import it, train and promote models, issue keys, serve
    Demo(demo::Args),
    /// Manage partners and their keys (add, rotate-key, revoke-key, revoke)
    Partners(partners::Args),
    /// A consent's life: register, revoke, withdraw (a subject's withdrawal), list a subject's
    Consents(consents::Args),
    /// Manage console users (operators, analysts, auditors)
    Users(users::Args),
    /// Model registry: list, show, promote, rollback
    Models(models::Args),
    /// Retrain a product's model from the database and register a candidate
    Retrain(models::RetrainArgs),
    /// Audit trail checks
    Audit(audit::Args),
    /// Write a synthetic city as feed files plus truth.csv
    Generate(generate::Args),
    /// Load a feed file (all rows valid or nothing stored)
    Import(import::Args),
    /// Retention jobs
    Maintenance(maintenance::Args),
    /// Train a scorecard on a CSV (model.json + report)
    Train(train::Args),
    /// Batch-score a CSV with a model.json
    Score(score::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if crate::audit::unaudited::ENABLED {
        eprintln!("{}", crate::audit::unaudited::BANNER);
        if matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
            let ack = std::env::var(crate::audit::unaudited::ACKNOWLEDGE_ENV).ok();
            if let Err(refusal) = crate::audit::unaudited::may_serve(ack.as_deref()) {
                eprintln!("error: {refusal}");
                return ExitCode::FAILURE;
            }
        }
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line on stderr, as product.md promises scripts.
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args, &cli.common),
        Command::Demo(args) => demo::run(args, &cli.common),
        Command::Partners(args) => partners::run(args, &cli.common),
        Command::Consents(args) => consents::run(args, &cli.common),
        Command::Users(args) => users::run(args, &cli.common),
        Command::Models(args) => models::run(args, &cli.common),
        Command::Retrain(args) => models::run_retrain(args, &cli.common),
        Command::Audit(args) => audit::run(args, &cli.common),
        Command::Generate(args) => generate::run(args),
        Command::Import(args) => import::run(args, &cli.common),
        Command::Maintenance(args) => maintenance::run(args, &cli.common),
        Command::Train(args) => train::run(args),
        Command::Score(args) => score::run(args),
    }
}
