//! `creditbridge maintenance purge [--today DATE] [--dry-run]`: deletes negative information
//! older than the 5-year retention period (domain.md §6), or with `--dry-run` only counts it.
//! Prints the counts as one JSON object; every run is in the audit trail.
//! `creditbridge maintenance rotate-pii-key --new-key-file F`: puts the database under a new PII
//! key (`pii_custody::rotate`), audited.

use chrono::NaiveDate;

use anyhow::Context;

use crate::feeds::maintenance::purge;
use crate::pii::PiiKey;
use crate::settings::Settings;
use crate::{pii_custody, startup};

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
    /// Put the database under a new PII key: the data key is re-wrapped and the new key's
    /// fingerprint recorded, in one transaction (run with the key in force; then restart every
    /// replica with the new key)
    RotatePiiKey {
        /// A file holding the new key (at least 16 bytes, e.g. `openssl rand -hex 32`)
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    match args.command {
        Command::Purge { today, dry_run } => super::runtime()?.block_on(async move {
            let state = crate::startup::build_state(settings).await?;
            let outcome = purge(&state.db, &state.audit, state.clock.now(), today, dry_run).await;
            state.db.close().await;
            println!("{}", serde_json::to_string(&outcome?)?);
            Ok(())
        }),
        Command::RotatePiiKey { new_key_file } => {
            let text = std::fs::read_to_string(&new_key_file)
                .with_context(|| format!("--new-key-file {}", new_key_file.display()))?;
            let new = PiiKey::new(text.trim().as_bytes())
                .with_context(|| format!("--new-key-file {}", new_key_file.display()))?;
            super::runtime()?.block_on(async move {
                let state = crate::startup::build_state(settings).await?;
                let old = startup::resolve_pii_key(&state.settings, state.db.dialect())?;
                let source = startup::pii_key_source(&state.settings);
                let outcome = pii_custody::rotate(
                    &state.db,
                    &state.audit,
                    &old,
                    &new,
                    &source,
                    state.clock.now(),
                )
                .await;
                state.db.close().await;
                println!("{}", serde_json::to_string(&outcome?)?);
                eprintln!(
                    "now give every replica the new key (CREDITBRIDGE_PII_KEY, or replace {}) and \
                     restart it: a start with the old key is refused from now on",
                    startup::pii_key_path(&state.settings).display()
                );
                Ok(())
            })
        }
    }
}
