//! `creditbridge serve`: runs the HTTP service.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::settings::{Overrides, Settings};
use crate::{startup, telemetry};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&Overrides {
        listen: args.listen,
        ..common.overrides()
    })?;
    telemetry::init(settings.log_format);
    super::runtime()?.block_on(async move {
        let listen = settings.listen;
        // Refuse to serve an unsigned log: the error names the setting.
        let signer = startup::load_signer(&settings, true)?.expect("required");
        println!("audit log public key: {}", signer.verifier().to_vkey());
        let state = startup::build_state(settings).await?;
        state.record_start(crate::audit::Actor::operator()).await?;
        // The committed models/ are demo fixtures: serve never registers or promotes them on
        // its own (`creditbridge models import models/` does, gated and audited).
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(address = %listener.local_addr()?, "creditbridge serving");
        if crate::audit::unaudited::ENABLED {
            tracing::warn!("benchmark build: the audit ledger records nothing (bench-unaudited)");
        }
        startup::run(listener, state, startup::shutdown_signal()).await?;
        Ok(())
    })
}
