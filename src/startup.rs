//! Building and running the service. `main` only parses the command line; the app is built by a
//! function that takes a listener and a shutdown future, so tests start it on port 0.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Extension;
use tokio::net::TcpListener;

use crate::app::{jobs, AppState};
use crate::audit::sequencer::{Sequencer, SequencerConfig, SequencerHandle};
use crate::audit::AuditWriter;
use crate::clock::SharedClock;
use crate::http;
use crate::http::health::Draining;
use crate::lifecycle::Gates;
use crate::pii::PiiKey;
use crate::rate_limit::RateLimiter;
use crate::scoring::read_model::{self, ReadModel};
use crate::scoring::Champions;
use crate::settings::{self, Settings};
use crate::storage::artifacts::ArtifactStore;
use crate::storage::{Db, Dialect};

/// Opens the database (migrating it) and resolves the PII key; time from the system clock.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    build_state_with(settings, crate::clock::system()).await
}

/// `build_state` with the clock given: tests pin it.
pub async fn build_state_with(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    let db = Db::connect(settings.database_url.expose(), settings.max_connections)
        .await
        .with_context(|| format!("cannot open database {}", settings.database_url))?;
    let operator_key = resolve_pii_key(&settings, db.dialect())?;
    let pii = guard_pii_key(&db, &operator_key, &settings).await?;
    // Once: the rows of the old hash chain become the ledger's first entries (subjects
    // keyed under the data key, as every hash is).
    crate::audit::carry_over::carry_over(&db, &pii).await?;
    // The audit writer gets a connection of its own: under load, requests holding the shared
    // pool's connections must never keep the group commit that releases them waiting.
    let audit = AuditWriter::start(settings.database_url.expose()).await?;
    let signer = load_signer(&settings, false)?;
    crate::http::metrics::handle();
    let champions = Arc::new(Champions::new(ArtifactStore::in_data_dir(
        &settings.data_dir,
    )));
    // A champion that cannot be loaded (its artifact corrupted) leaves its product without one
    // here, logged; the registry commands must still run to repair it.
    if let Err(e) = champions.refresh(&db).await {
        tracing::error!(error = %e, "a registered model could not be loaded");
    }
    let limiter = Arc::new(RateLimiter::for_database(
        settings.rate_limit_per_minute,
        settings.unauthenticated_rate_limit_per_minute,
        &db,
    ));
    let gates = Arc::new(Gates::from(settings.gates.clone()));
    // Read the change counters before anything is cached, so no change can fall between.
    let read_model = Arc::new(ReadModel::new(settings.read_model_cache_mb));
    read_model.refresh(&db).await?;
    Ok(AppState {
        db,
        pii,
        settings: Arc::new(settings),
        audit,
        signer,
        sequencer: SequencerHandle::default(),
        champions,
        limiter,
        gates,
        read_model,
        clock,
    })
}

pub use crate::pii_custody::PII_FINGERPRINT;

/// The audit log's signing key, from the environment variable `ledger.signing_key_env` names or
/// the file `ledger.signing_key_file` (default `data_dir/secrets/ledger.key`). A key that is set
/// but cannot be read is an error naming the setting; a missing default file is `None` unless
/// `required` (`serve` and `demo` need the key: a log nobody signs would be silently forgeable).
pub fn load_signer(
    settings: &Settings,
    required: bool,
) -> anyhow::Result<Option<Arc<ledger::LogSigner>>> {
    let ledger_settings = &settings.ledger;
    if let Some(var) = &ledger_settings.signing_key_env {
        let signer = ledger::keys::load_env(var)
            .map_err(|e| anyhow::anyhow!("ledger.signing_key_env: {e}"))?;
        return Ok(Some(Arc::new(signer)));
    }
    let path = ledger_settings.key_file(&settings.data_dir);
    if !path.exists() && !required && ledger_settings.signing_key_file.is_none() {
        return Ok(None);
    }
    if !path.exists() {
        anyhow::bail!(
            "ledger.signing_key_file: no signing key at {}: create one with `creditbridge audit keygen --out {}` \
             (the demo makes its own), or set ledger.signing_key_env",
            path.display(),
            path.display()
        );
    }
    let signer = ledger::keys::load_file(&path)
        .map_err(|e| anyhow::anyhow!("ledger.signing_key_file: {e}"))?;
    Ok(Some(Arc::new(signer)))
}

/// The log's origin (its key's name) for keys this service generates.
pub const LOG_ORIGIN: &str = "creditbridge.local/audit";

/// Generates the signing key at the configured file if there is none (the demo's first run).
pub fn ensure_signing_key(settings: &Settings) -> anyhow::Result<()> {
    if settings.ledger.signing_key_env.is_some() {
        return Ok(());
    }
    let path = settings.ledger.key_file(&settings.data_dir);
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let signer = ledger::keys::generate_file(&path, LOG_ORIGIN)
        .map_err(|e| anyhow::anyhow!("ledger.signing_key_file: {e}"))?;
    tracing::info!(path = %path.display(), public_key = %signer.verifier().to_vkey(), "generated the audit log's signing key");
    Ok(())
}

/// Where the operator's PII key came from, as errors name it.
pub fn pii_key_source(settings: &Settings) -> String {
    match &settings.pii_key {
        Some(_) => "CREDITBRIDGE_PII_KEY".to_owned(),
        None => pii_key_path(settings).display().to_string(),
    }
}

/// Refuses to start with a PII key other than the one the database is kept under: such a process
/// would answer "unknown household" for every person and file new consents under hashes that
/// match nothing. Returns the data key to hash with (`pii_custody::open`).
pub async fn guard_pii_key(db: &Db, pii: &PiiKey, settings: &Settings) -> anyhow::Result<PiiKey> {
    Ok(crate::pii_custody::open(db, pii, &pii_key_source(settings)).await?)
}

/// Where the embedded setup keeps its generated PII key: a `secrets/` directory of its own
/// (mode 0700) inside the data directory, so the database can be copied or backed up apart from
/// it. A key left at the old place, `data_dir/pii.key`, is moved there.
pub fn pii_key_path(settings: &Settings) -> std::path::PathBuf {
    settings.data_dir.join("secrets").join("pii.key")
}

fn move_legacy_pii_key(settings: &Settings) -> anyhow::Result<()> {
    let (old, new) = (settings.data_dir.join("pii.key"), pii_key_path(settings));
    if old.exists() && !new.exists() {
        create_private_dir(new.parent().expect("a parent"))?;
        std::fs::rename(&old, &new)
            .with_context(|| format!("moving {} to {}", old.display(), new.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("making {} private", new.display()))?;
        }
        tracing::info!(from = %old.display(), to = %new.display(), "moved the PII key into secrets/");
    }
    Ok(())
}

/// Creates `dir` (and its parents) readable by its owner only.
pub fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// An explicit key wins. Without one, the embedded single-node setup keeps a generated key in
/// its data directory; PostgreSQL replicas must share one, so there it is required.
pub fn resolve_pii_key(settings: &Settings, dialect: Dialect) -> anyhow::Result<PiiKey> {
    if let Some(secret) = &settings.pii_key {
        return Ok(PiiKey::new(settings::expose(secret).as_bytes())?);
    }
    match dialect {
        Dialect::Sqlite => {
            move_legacy_pii_key(settings)?;
            let path = pii_key_path(settings);
            create_private_dir(path.parent().expect("a parent"))?;
            Ok(PiiKey::load_or_create(&path)?)
        }
        Dialect::Postgres => {
            anyhow::bail!("CREDITBRIDGE_PII_KEY must be set when the database is PostgreSQL")
        }
    }
}

/// Serves until `shutdown` resolves, then drains: `/readyz` answers 503 at once, the listener
/// stays open `shutdown_delay_ms` more (load balancers see the 503 and stop sending), closes, and
/// requests in flight get `shutdown_grace_secs` to finish. Alongside, the champion reload poller
/// and (when enabled) the quarterly retraining run until then.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let delay = Duration::from_millis(state.settings.shutdown_delay_ms);
    let (began, begun) = tokio::sync::oneshot::channel::<()>();
    let begin = async move {
        shutdown.await;
        let _ = began.send(());
    };
    let close = async move {
        if begun.await.is_ok() {
            tokio::time::sleep(delay).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    run_draining(listener, state, begin, close).await
}

/// `run` with the two moments of a shutdown given apart: `begin` turns readiness off, `close`
/// closes the listener (tests drive each).
pub async fn run_draining(
    listener: TcpListener,
    state: AppState,
    begin: impl Future<Output = ()> + Send + 'static,
    close: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match crate::feeds::spool::sweep(&state.settings.data_dir) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            removed = n,
            "removed feed spools left by an earlier process"
        ),
        Err(e) => tracing::warn!(error = %e, "could not sweep the feed spool directory"),
    }
    // Batches an importer left unfinished when it died (kill -9, a crash): invisible all along,
    // their staged rows are deleted once their lease has run out; beside the server, in slices.
    let (db, limits, now) = (
        state.db.clone(),
        state.settings.feed_limits.clone(),
        state.clock.now(),
    );
    tokio::spawn(async move {
        let lease = std::time::Duration::from_secs(limits.staging_lease_secs);
        match crate::feeds::staging::finish_abandoned(&db, now, lease, limits.rows_per_transaction)
            .await
        {
            Ok(done) if done == Default::default() => {}
            Ok(done) => tracing::info!(
                discarded = done.discarded,
                compacted = done.compacted,
                "finished feed batches left by an earlier process"
            ),
            Err(e) => tracing::warn!(error = %e, "could not finish abandoned feed batches"),
        }
    });
    let every = std::time::Duration::from_secs(state.settings.reload_interval_secs.max(1));
    let (db, audit) = (state.db.clone(), state.audit.clone());
    let mut background = vec![
        jobs::spawn_reload(state.clone(), every),
        // Housekeeping beside the audit writer: the WAL checkpoints it leaves to others (see
        // `Db::connect_writer`). The subject index is the writer's own business, between its
        // groups and when it falls idle: a second writer there would take the write lock the
        // groups wait for.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
            loop {
                tick.tick().await;
                match db.checkpoint().await {
                    Ok(true) => audit.request_wal_restart(),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
            }
        }),
        read_model::spawn_listener(state.read_model.clone(), state.db.clone()),
        read_model::spawn_refresh(
            state.read_model.clone(),
            state.db.clone(),
            std::time::Duration::from_millis(state.settings.read_model_refresh_ms.max(10)),
        ),
    ];
    if let Some(signer) = &state.signer {
        let ledger_settings = &state.settings.ledger;
        let sequencer = Sequencer::new(
            state.db.clone(),
            signer.clone(),
            state.clock.clone(),
            SequencerConfig {
                interval: Duration::from_millis(ledger_settings.sequence_interval_ms.max(10)),
                checkpoint_every: Duration::from_millis(ledger_settings.checkpoint_interval_ms),
                witness_file: ledger_settings.witness_file.clone(),
            },
        );
        background.push(sequencer.spawn(&state.sequencer));
    }
    if state.settings.retrain_schedule {
        background.push(jobs::spawn_quarterly(
            state.clone(),
            state.clock.clone(),
            std::time::Duration::from_secs(60),
        ));
    }
    let draining = Draining::default();
    let app = http::router(state.clone()).layer(Extension(draining.clone()));
    background.push(tokio::spawn(async move {
        begin.await;
        draining.begin();
        tracing::info!("shutting down: /readyz answers 503");
    }));
    let grace = Duration::from_secs(state.settings.shutdown_grace_secs);
    let (closed, listener_closed) = tokio::sync::oneshot::channel::<()>();
    let close = async move {
        close.await;
        tracing::info!("listener closed; finishing requests in flight");
        let _ = closed.send(());
    };
    // With each connection's peer address: requests without a valid key are limited by it.
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(close)
    .into_future();
    let grace_over = async move {
        if listener_closed.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let served = tokio::select! {
        served = server => served,
        () = grace_over => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; stopping");
            Ok(())
        }
    };
    for task in background {
        task.abort();
    }
    flush_audit(&state, grace.max(Duration::from_secs(5))).await;
    served
}

/// Waits (at most `within`) until the audit writer has committed everything queued. Each score is
/// answered only after its record is committed, so this matters for requests the grace period
/// cut off after they had queued one: the process must not end under them.
async fn flush_audit(state: &AppState, within: Duration) {
    let until = tokio::time::Instant::now() + within;
    while state.audit.queue_depth() > 0 && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if state.audit.queue_depth() > 0 {
        tracing::error!(
            queued = state.audit.queue_depth(),
            "audit records still queued at exit"
        );
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
