//! Group commit for the audit ledger. Each request hands its entry to one writer task and waits;
//! the writer takes everything queued, inserts it in one transaction and answers every waiter
//! after the commit. One fsync carries many requests, and no answer leaves before its entry is
//! durable. An insert reads no other row: ordering and hashing are the sequencer's.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{AuditEvent, Receipt};
use crate::storage::audit::Observation;
use crate::storage::ledger::{self, NewEntry};
use crate::storage::Db;

/// Largest group written in one transaction.
const MAX_GROUP: usize = 512;

type Reply = oneshot::Sender<Result<(), String>>;
type Job = (NewEntry, Option<Observation>, Reply);
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Job>,
    queued: Arc<AtomicI64>,
    restart_wal: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("audit record could not be committed: {0}")]
pub struct AuditError(pub String);

impl AuditWriter {
    /// Connects to `database_url` and starts the writer on a thread of its own, with its own
    /// single-threaded runtime: between the statements of a group commit the writer waits on
    /// the database, and on the shared runtime each of those waits would end at the back of a
    /// queue of request tasks (under load that queueing, not the database, bounded throughput).
    pub async fn start(database_url: &str) -> Result<AuditWriter, crate::storage::StoreError> {
        let (tx, rx) = mpsc::channel(8192);
        let queued = Arc::new(AtomicI64::new(0));
        let (ready, connected) = oneshot::channel();
        let url = database_url.to_owned();
        let depth = queued.clone();
        let restart_wal = Arc::new(AtomicBool::new(false));
        let restart = restart_wal.clone();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ =
                            ready.send(Err(crate::storage::StoreError::Other(sqlx::Error::Io(e))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Db::connect_writer(&url).await {
                        Ok(db) => {
                            let _ = ready.send(Ok(()));
                            run(db, rx, depth, restart).await;
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| crate::storage::StoreError::Other(sqlx::Error::Io(e)))?;
        connected
            .await
            .map_err(|_| crate::storage::StoreError::Other(sqlx::Error::PoolClosed))??;
        Ok(AuditWriter {
            tx,
            queued,
            restart_wal,
        })
    }

    /// Records `event` under a new event id and returns its receipt once it is committed.
    pub async fn record(&self, event: AuditEvent) -> Result<Receipt, AuditError> {
        self.record_with(event, None).await
    }

    /// Records `event`, and in the same commit the monitoring observation of a delivered score.
    pub async fn record_with(
        &self,
        event: AuditEvent,
        observation: Option<Observation>,
    ) -> Result<Receipt, AuditError> {
        // Only the benchmark build (cargo feature, see `unaudited`) takes this branch; in every
        // other build the condition is the constant false and the branch is compiled away.
        if super::unaudited::ENABLED {
            return Ok(super::unaudited::receipt());
        }
        let (entry, receipt) = event.into_entry()?;
        let (reply, wait) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send((entry, observation, reply)).await.is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(AuditError("audit writer has stopped".into()));
        }
        match wait.await {
            Ok(r) => r.map(|()| receipt).map_err(AuditError),
            Err(_) => Err(AuditError("audit writer dropped the request".into())),
        }
    }

    /// Asks the writer to start the SQLite WAL over after its next commit (see
    /// `Db::restart_wal`): between its own groups nobody holds the write lock, so the restart
    /// waits for no one.
    pub fn request_wal_restart(&self) {
        self.restart_wal.store(true, Ordering::Relaxed);
    }

    /// Events waiting to be committed (exported as a metric).
    pub fn queue_depth(&self) -> i64 {
        self.queued.load(Ordering::Relaxed)
    }
}

async fn run(
    db: Db,
    mut rx: mpsc::Receiver<Job>,
    queued: Arc<AtomicI64>,
    restart_wal: Arc<AtomicBool>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    loop {
        if rx.recv_many(&mut group, MAX_GROUP).await == 0 {
            break;
        }
        let mut entries = Vec::with_capacity(group.len());
        let mut observations = Vec::new();
        let mut replies = Vec::with_capacity(group.len());
        for (entry, observation, reply) in group.drain(..) {
            entries.push(entry);
            observations.extend(observation);
            replies.push(reply);
        }
        let started = std::time::Instant::now();
        let result = ledger::append_entries(&db, &entries, &observations).await;
        metrics::histogram!("creditbridge_audit_commit_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("creditbridge_audit_group_rows").record(entries.len() as f64);
        queued.fetch_sub(replies.len() as i64, Ordering::Relaxed);
        match result {
            Ok(()) => {
                for reply in replies {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, rows = entries.len(), "audit group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(err.to_string()));
                }
            }
        }
        if restart_wal.swap(false, Ordering::Relaxed) {
            if let Err(e) = db.restart_wal().await {
                tracing::warn!(error = %e, "WAL restart failed");
            }
        }
    }
}
