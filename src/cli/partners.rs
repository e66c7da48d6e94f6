//! `creditbridge partners add|list|keys|rotate-key|revoke-key|revoke`: partners and their keys.
//! A key is printed once, when issued, and stored hashed; rotating issues a new key and lets the
//! old ones work until the overlap ends, so the partner keeps its consents and history.

use crate::audit::Actor;
use crate::domain::Role;
use crate::partners::{parse_overlap, DEFAULT_OVERLAP};
use crate::settings::Settings;
use crate::startup;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create a partner and print its first key once: {"id","name","role","key_id","key"}
    Add {
        #[arg(long)]
        name: String,
        /// bank, insurer, tax_bureau, assessor, public_records, admin or auditor (reads the
        /// whole audit ledger, changes nothing)
        #[arg(long)]
        role: Role,
    },
    /// List partners (never their keys)
    List,
    /// List a partner's keys: ids, created, retire and revoked times (never the keys)
    Keys { partner: String },
    /// Issue a new key to PARTNER (printed once); its current keys stop after the overlap
    RotateKey {
        partner: String,
        /// How long the current keys go on working: 24h, 90m, 2d, or 0 for at once (max 30d)
        #[arg(long, default_value = DEFAULT_OVERLAP)]
        overlap: String,
    },
    /// Revoke one key at once (the partner's other keys go on)
    RevokeKey { key_id: String },
    /// Revoke a partner and every key it holds
    Revoke { id: String },
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    super::runtime()?.block_on(async move {
        let state = startup::build_state(settings).await?;
        let out = run_action(&state, args.action).await;
        state.db.close().await;
        println!("{}", out?);
        Ok(())
    })
}

async fn run_action(state: &crate::app::AppState, action: Action) -> anyhow::Result<String> {
    Ok(match action {
        Action::Add { name, role } => {
            serde_json::to_string(&state.add_partner(&name, role, Actor::operator()).await?)?
        }
        Action::List => serde_json::to_string_pretty(&state.db.list_partners().await?)?,
        Action::Keys { partner } => {
            serde_json::to_string_pretty(&state.db.partner_keys(&partner).await?)?
        }
        Action::RotateKey { partner, overlap } => {
            let overlap = parse_overlap(&overlap)?;
            serde_json::to_string(
                &state
                    .rotate_partner_key(&partner, overlap, Actor::operator())
                    .await?,
            )?
        }
        Action::RevokeKey { key_id } => {
            serde_json::to_string(&state.revoke_partner_key(&key_id, Actor::operator()).await?)?
        }
        Action::Revoke { id } => {
            serde_json::to_string(&state.revoke_partner(&id, Actor::operator()).await?)?
        }
    })
}
