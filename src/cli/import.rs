//! `creditbridge import KIND FILE [--key K]`: loads one feed file through the same pipeline as
//! `POST /v1/feeds/{kind}`, with a progress bar (rows and rows/s) and a summary. Prints the
//! batch result as one JSON object on stdout; invalid files list their errors on stderr and
//! exit non-zero with nothing stored.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::feeds::{self, FeedError, FeedKind, FeedRequest, Format};
use crate::settings::Settings;

/// Idempotency keys of command-line imports are scoped to this source.
pub const CLI_SOURCE: &str = "cli";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Feed kind: enterprises, tax-grades, tax-payments, households, farmer-assessments,
    /// public-records, loan-outcomes
    #[arg(value_parser = |s: &str| s.parse::<FeedKind>())]
    pub kind: FeedKind,
    /// The feed file: .csv, .jsonl or .xlsx (other names are recognised by their content)
    pub file: PathBuf,
    /// Idempotency key [default: the SHA-256 of the file]
    #[arg(long)]
    pub key: Option<String>,
    /// Do not draw the progress bar
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    super::runtime()?.block_on(async move {
        let state = crate::startup::build_state(settings).await?;
        let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {human_pos} rows read  {per_sec}  {elapsed}")
                .context("progress template")?,
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let req = FeedRequest {
            kind: args.kind,
            source: CLI_SOURCE.to_owned(),
            idempotency_key: args.key.clone(),
            format: Format::from_extension(&args.file),
            path: args.file.clone(),
            received_at: state.clock.now(),
            limits: state.settings.feed_limits.clone(),
            sender: None,
        };
        let progress_bar = bar.clone();
        let progress: feeds::Progress = Arc::new(move |n| progress_bar.set_position(n));
        let started = Instant::now();
        let outcome = state.import_feed(req, Some(progress)).await;
        bar.finish_and_clear();
        state.db.close().await;
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(accepted) => {
                let r = &accepted.result;
                if accepted.replayed {
                    eprintln!("already imported as batch {} ({} rows); nothing stored again", r.batch_id, r.rows);
                } else {
                    let rate = r.rows as f64 / seconds.max(1e-9);
                    eprintln!(
                        "imported {} {} rows in {seconds:.2} s ({rate:.0} rows/s) as batch {}; {} superseded, {} warning(s)",
                        r.rows, r.kind, r.batch_id, r.superseded, r.warnings_total
                    );
                }
                for w in &r.warnings {
                    eprintln!("warning: {w}");
                }
                println!("{}", serde_json::to_string(r)?);
                Ok(())
            }
            Err(FeedError::Invalid {
                errors_total,
                errors,
                rows_read,
                ..
            }) => {
                for e in &errors {
                    eprintln!("{}: {e}", args.file.display());
                }
                if errors_total > errors.len() as u64 {
                    eprintln!("… and {} more", errors_total - errors.len() as u64);
                }
                anyhow::bail!(
                    "{} rejected: {errors_total} error(s) in {rows_read} data row(s); nothing stored",
                    args.file.display()
                )
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!("cannot import {}", args.file.display()))),
        }
    })
}
