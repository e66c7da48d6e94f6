//! `creditbridge score`: batch-scores a CSV with a `model.json`, writing
//! `id,score,pd,grade,reason_1..reason_4` to a file (replaced only when scoring succeeded) or
//! to stdout.

use std::fs::File;
use std::path::PathBuf;

use anyhow::Context;
use training::batch::score_csv;
use training::Model;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model artifact written by `train`
    #[arg(long)]
    pub model: PathBuf,
    /// Applicants to score: CSV with a header holding every model characteristic
    #[arg(long)]
    pub data: PathBuf,
    /// Output CSV (default: stdout)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Column to copy as the id (default: the row number)
    #[arg(long)]
    pub id_column: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let input =
        File::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let name = args.data.display().to_string();
    let id = args.id_column.as_deref();
    match &args.out {
        Some(out) => {
            // Write beside the target and rename, so a failed run leaves no half-written file.
            let tmp = out.with_extension("csv.partial");
            let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            match score_csv(&model, input, &name, file, id) {
                Ok(rows) => {
                    std::fs::rename(&tmp, out)
                        .with_context(|| format!("writing {}", out.display()))?;
                    eprintln!("scored {rows} rows into {}", out.display());
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e.into());
                }
            }
        }
        None => {
            score_csv(&model, input, &name, std::io::stdout().lock(), id)?;
        }
    }
    Ok(())
}
