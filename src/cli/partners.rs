//! `creditbridge partners add|list|revoke`: partner keys, shown once and stored hashed.

use crate::audit::Actor;
use crate::domain::Role;
use crate::settings::Settings;
use crate::startup;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create a partner and print its key once: {"id","name","role","key"}
    Add {
        #[arg(long)]
        name: String,
        /// bank, insurer, tax_bureau, assessor, public_records or admin
        #[arg(long)]
        role: Role,
    },
    /// List partners (never their keys)
    List,
    /// Revoke a partner's key
    Revoke { id: String },
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    super::runtime()?.block_on(async move {
        let state = startup::build_state(settings).await?;
        let out = match args.action {
            Action::Add { name, role } => {
                anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
                serde_json::to_string(
                    &state
                        .add_partner(name.trim(), role, Actor::operator())
                        .await?,
                )?
            }
            Action::List => serde_json::to_string_pretty(&state.db.list_partners().await?)?,
            Action::Revoke { id } => {
                serde_json::to_string(&state.revoke_partner(&id, Actor::operator()).await?)?
            }
        };
        println!("{out}");
        state.db.close().await;
        Ok(())
    })
}
