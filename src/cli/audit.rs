//! `creditbridge audit verify`: checks the audit trail's hash chain end to end.

use crate::settings::Settings;
use crate::startup;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Verify the hash chain; exits non-zero naming the first broken row
    Verify,
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    super::runtime()?.block_on(async move {
        let state = startup::build_state(settings).await?;
        let Action::Verify = args.action;
        let v = crate::audit::verify(&state.db).await?;
        println!("{}", serde_json::to_string(&v)?);
        state.db.close().await;
        match v.first_problem {
            None => Ok(()),
            Some(p) => anyhow::bail!("audit trail broken at row {}: {}", p.seq, p.reason),
        }
    })
}
