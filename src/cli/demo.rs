//! `creditbridge demo`: generate, import, train, promote, issue keys, serve.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{NaiveDate, NaiveTime};
use tokio::net::TcpListener;

use crate::clock::{self, ManualClock, SharedClock};
use crate::demo::{self, DemoSize};
use crate::settings::{Overrides, Settings};
use crate::{startup, telemetry};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Enterprises in the generated city
    #[arg(long, default_value_t = DemoSize::default().enterprises)]
    pub enterprises: u64,
    /// Households in the generated city
    #[arg(long, default_value_t = DemoSize::default().households)]
    pub households: u64,
    /// Prepare everything, print the keys, and exit instead of serving
    #[arg(long)]
    pub no_serve: bool,
    /// Prepare as of this date instead of today (the city runs up to the month before it), to
    /// reproduce a run; only with --no-serve, since a service must run on the real clock
    #[arg(long, requires = "no_serve")]
    pub as_of: Option<NaiveDate>,
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&Overrides {
        listen: args.listen,
        ..common.overrides()
    })?;
    telemetry::init(settings.log_format);
    // The demo keeps everything in its data directory: database (by default), key, city, and
    // the artifact store (`<data_dir>/models/sha256/`).
    let data_dir: PathBuf = settings.data_dir.clone();
    let size = DemoSize {
        enterprises: args.enterprises,
        households: args.households,
        ..DemoSize::default()
    };
    super::runtime()?.block_on(async move {
        let listen = settings.listen;
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let clock = match args.as_of {
            Some(day) => ManualClock::at(day.and_time(NaiveTime::MIN).and_utc()) as SharedClock,
            None => clock::system(),
        };
        startup::ensure_signing_key(&settings)?;
        let state = startup::build_state_with(settings, clock).await?;
        let started = std::time::Instant::now();
        let prepared = demo::prepare(&state, &data_dir, &size).await?;
        eprintln!("prepared in {:.1} s", started.elapsed().as_secs_f64());
        if args.no_serve {
            println!(
                "{}",
                demo::instructions(&prepared, &format!("http://{listen}"))
            );
            state.db.close().await;
            return Ok(());
        }
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let base = format!("http://{}", listener.local_addr()?);
        state.record_start(crate::audit::Actor::operator()).await?;
        if let Some(signer) = &state.signer {
            println!("audit log public key: {}", signer.verifier().to_vkey());
        }
        println!("{}", demo::instructions(&prepared, &base));
        startup::run(listener, state, startup::shutdown_signal()).await?;
        Ok(())
    })
}
