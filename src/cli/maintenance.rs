//! `creditbridge maintenance purge [--today DATE]`: deletes negative information older than the
//! 5-year retention period (domain.md §6). Prints what it deleted as one JSON object.

use chrono::NaiveDate;

use crate::feeds::maintenance::purge_expired;
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
        /// The date to measure from [default: today, UTC]
        #[arg(long)]
        today: Option<NaiveDate>,
    },
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    let Command::Purge { today } = args.command;
    super::runtime()?.block_on(async move {
        let state = crate::startup::build_state(settings).await?;
        let today = today.unwrap_or_else(|| state.clock.today());
        let purged = purge_expired(&state.db, today).await?;
        println!("{}", serde_json::to_string(&purged)?);
        Ok(())
    })
}
