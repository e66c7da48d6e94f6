//! `creditbridge maintenance purge [--today DATE] [--dry-run]`: deletes negative information
//! older than the 5-year retention period (domain.md §6), or with `--dry-run` only counts it.
//! Prints the counts as one JSON object; every run is in the audit trail.

use chrono::NaiveDate;

use crate::feeds::maintenance::purge;
use crate::settings::Settings;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Delete negative facts whose event ended more than 5 years ago
    Purge {
        /// The date to measure from [default: today, UTC]; a date after today is refused
        #[arg(long)]
        today: Option<NaiveDate>,
        /// Count what would be deleted, by kind, and delete nothing
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    let Command::Purge { today, dry_run } = args.command;
    super::runtime()?.block_on(async move {
        let state = crate::startup::build_state(settings).await?;
        let outcome = purge(&state.db, &state.audit, state.clock.now(), today, dry_run).await;
        state.db.close().await;
        println!("{}", serde_json::to_string(&outcome?)?);
        Ok(())
    })
}
