//! `creditbridge audit …`: verify the ledger against its signed checkpoints, check a receipt
//! offline (what a bank does), and make a signing key.

use std::path::PathBuf;

use anyhow::Context;

use crate::audit::sequencer::read_witness;
use crate::settings::Settings;
use crate::startup;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Verify the stored ledger in one snapshot against its newest signed checkpoint (and the
    /// checkpoints in --checkpoint, e.g. the witness file); exits non-zero naming the first
    /// problem. Entries after the checkpoint are reported as pending.
    Verify {
        /// A file of signed checkpoints kept outside the database (the witness file's format).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The log's public key (vkey text); default: the configured signing key's.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Check a score's receipt offline: the proof (GET /v1/audit/proofs/inclusion/{event_id})
    /// leads from the receipt's leaf hash to a checkpoint signed by the public key.
    VerifyReceipt {
        /// The log's public key (vkey text, from GET /v1/audit/public-key).
        #[arg(long)]
        public_key: PathBuf,
        /// The receipt as received: JSON `{"event_id": …, "leaf_hash": …}`.
        #[arg(long)]
        receipt: PathBuf,
        /// The tlog-proof text.
        #[arg(long)]
        proof: PathBuf,
        /// A checkpoint held elsewhere (e.g. from the witness file) to check against instead of
        /// the proof's own; the proof must be for its tree size.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Generate a new signing key into a new file (mode 0600) and print its public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// The log's name (its checkpoints' origin line).
        #[arg(long, default_value = startup::LOG_ORIGIN)]
        origin: String,
    },
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    match args.action {
        Action::Keygen { out, origin } => {
            let signer = ledger::keys::generate_file(&out, &origin)?;
            println!("{}", signer.verifier().to_vkey());
            Ok(())
        }
        Action::VerifyReceipt {
            public_key,
            receipt,
            proof,
            checkpoint,
        } => {
            let verifier = ledger::LogVerifier::from_vkey(&read(&public_key)?)
                .with_context(|| format!("{}", public_key.display()))?;
            let receipt: ledger::receipt::Receipt = serde_json::from_str(&read(&receipt)?)
                .with_context(|| format!("{}: not a receipt", receipt.display()))?;
            let proof = ledger::receipt::TlogProof::parse(&read(&proof)?)
                .with_context(|| format!("{}", proof.display()))?;
            if let Some(extra) = &proof.extra {
                anyhow::ensure!(
                    extra.as_slice() == receipt.event_id.as_bytes(),
                    "the proof is for event {}, the receipt for {}",
                    String::from_utf8_lossy(extra),
                    receipt.event_id
                );
            }
            let kept = checkpoint.as_ref().map(read).transpose()?;
            let ok = ledger::receipt::verify_receipt(
                &verifier,
                &receipt,
                &proof,
                kept.as_deref(),
                None,
            )?;
            println!(
                "{}",
                serde_json::json!({
                    "ok": true, "event_id": receipt.event_id, "leaf_index": ok.index,
                    "tree_size": ok.checkpoint.size, "root": ok.checkpoint.root.to_base64(),
                })
            );
            Ok(())
        }
        Action::Verify {
            checkpoint,
            public_key,
        } => {
            let settings = Settings::load(&common.overrides())?;
            super::runtime()?.block_on(async move {
                let state = startup::build_state(settings).await?;
                let verifier = match (&public_key, &state.signer) {
                    (Some(path), _) => ledger::LogVerifier::from_vkey(&read(path)?)
                        .with_context(|| format!("{}", path.display()))?,
                    (None, Some(signer)) => signer.verifier(),
                    (None, None) => anyhow::bail!(
                        "no public key to verify with: pass --public-key or configure ledger.signing_key_file"
                    ),
                };
                let kept = match &checkpoint {
                    Some(path) => read_witness(&read(path)?),
                    None => Vec::new(),
                };
                let v = state
                    .verify_ledger(&verifier, &kept, &crate::audit::Actor::operator())
                    .await?;
                println!("{}", serde_json::to_string(&v)?);
                state.db.close().await;
                match v.problem {
                    None => Ok(()),
                    Some(p) => match p.leaf_index {
                        Some(i) => anyhow::bail!("audit ledger broken at leaf {i}: {}", p.reason),
                        None => anyhow::bail!("audit ledger broken: {}", p.reason),
                    },
                }
            })
        }
    }
}
