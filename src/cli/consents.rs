//! `creditbridge consents register|revoke|withdraw|list`: a consent's life from the operator's
//! command line, under the same rules and audit records as the API (`consent`). Subjects are
//! printed masked; identity numbers given on the command line are never echoed.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::consent::{Actor, Registration};
use crate::domain::SubjectId;
use crate::settings::Settings;
use crate::startup;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Register a consent for PARTNER (as the partner would through the API)
    Register {
        #[arg(long)]
        partner: String,
        /// Credit code of an enterprise, or resident id of a household head
        #[arg(long)]
        subject: String,
        /// loan_application, post_loan (banks) or underwriting (insurers)
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        valid_until: NaiveDate,
        /// SHA-256 (hex) of the signed authorization
        #[arg(long)]
        evidence_sha256: String,
        /// When the subject signed (RFC 3339)
        #[arg(long)]
        signed_at: DateTime<Utc>,
    },
    /// Revoke a consent (for the partner that registered it)
    Revoke { id: String },
    /// Record a subject's withdrawal of a consent, with the digest of the written withdrawal
    Withdraw {
        id: String,
        #[arg(long)]
        evidence_sha256: String,
    },
    /// List every consent held for a subject, with where each stands
    List {
        #[arg(long)]
        subject: String,
    },
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

fn subject(text: &str, today: chrono::NaiveDate) -> anyhow::Result<SubjectId> {
    SubjectId::parse(text, today).map_err(|e| anyhow::anyhow!("--subject: {e}"))
}

async fn run_action(state: &crate::app::AppState, action: Action) -> anyhow::Result<String> {
    let out = match action {
        Action::Register {
            partner,
            subject: id,
            purpose,
            valid_until,
            evidence_sha256,
            signed_at,
        } => {
            let partner = state.db.partner(&partner).await?;
            anyhow::ensure!(partner.active, "partner {} is revoked", partner.id);
            let registration = Registration {
                subject: subject(&id, state.clock.now().date_naive())?,
                purpose: purpose
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--purpose: {e}"))?,
                valid_until,
                evidence_sha256,
                signed_at,
            };
            let registered = state.register_consent(&partner, &registration).await?;
            json!({ "consent_id": registered.consent_id, "subject": registered.subject.masked })
        }
        Action::Revoke { id } => json!(state.revoke_consent(Actor::Operator, &id).await?),
        Action::Withdraw {
            id,
            evidence_sha256,
        } => json!(
            state
                .withdraw_consent(Actor::Operator, &id, &evidence_sha256)
                .await?
        ),
        Action::List { subject: id } => {
            let (subject, consents) = state
                .subject_consents(&subject(&id, state.clock.now().date_naive())?)
                .await?;
            let consents: Vec<_> = consents
                .into_iter()
                .map(|(c, status)| {
                    let mut v = json!(c);
                    v["status"] = json!(status);
                    v
                })
                .collect();
            json!({ "subject": subject.masked, "consents": consents })
        }
    };
    Ok(serde_json::to_string_pretty(&out)?)
}
