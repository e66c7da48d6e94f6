//! Group commit for the audit trail. Each scoring request hands its event to one writer task and
//! waits; the writer takes everything queued, appends it in one transaction and answers every
//! waiter after the commit. One fsync carries many requests, and no score leaves before its record
//! is durable.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{chain_hash, AuditEvent};
use crate::storage::audit::{self, ChainHead, Observation};
use crate::storage::Db;

/// Largest group written in one transaction.
const MAX_GROUP: usize = 512;

/// Rows committed between two subject-index batches.
const INDEX_EVERY_ROWS: usize = 1_000;

/// Quiet time after which the writer indexes the rows it has left unindexed.
const IDLE_INDEX_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

type Reply = oneshot::Sender<Result<i64, String>>;
type Job = (AuditEvent, Option<Observation>, Reply);

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

    /// Appends `event` and returns its sequence number once it is committed.
    pub async fn record(&self, event: AuditEvent) -> Result<i64, AuditError> {
        self.record_with(event, None).await
    }

    /// Appends `event`, and in the same commit the monitoring observation of a delivered score.
    pub async fn record_with(
        &self,
        event: AuditEvent,
        observation: Option<Observation>,
    ) -> Result<i64, AuditError> {
        let (reply, wait) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send((event, observation, reply)).await.is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(AuditError("audit writer has stopped".into()));
        }
        match wait.await {
            Ok(r) => r.map_err(AuditError),
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
    let mut unindexed = 0;
    // The head this writer's last commit left: the next group chains after it without reading
    // it back, unless another writer has moved the chain on meanwhile.
    let mut head: Option<ChainHead> = None;
    loop {
        // Idle for a moment with rows not yet in the subject index: index them now, so that a
        // quiet server's index is complete without anyone else taking the write lock.
        let received = if unindexed > 0 {
            match tokio::time::timeout(IDLE_INDEX_AFTER, rx.recv_many(&mut group, MAX_GROUP)).await
            {
                Ok(n) => n,
                Err(_) => {
                    match db.index_audit_subjects().await {
                        Ok(_) => unindexed = 0,
                        Err(e) => tracing::warn!(error = %e, "audit subject indexing failed"),
                    }
                    continue;
                }
            }
        } else {
            rx.recv_many(&mut group, MAX_GROUP).await
        };
        if received == 0 {
            break;
        }
        unindexed += group.len();
        let rows: Vec<_> = group.iter().map(|(e, _, _)| e.to_pending()).collect();
        let observations: Vec<_> = group.iter_mut().filter_map(|(_, o, _)| o.take()).collect();
        let started = std::time::Instant::now();
        // Taken, not borrowed: after a failed commit the next group reads the head afresh.
        let known = head.take();
        let result = audit::append(&db, known.as_ref(), &rows, &observations, chain_hash)
            .await
            .map(|(seqs, next)| {
                head = Some(next);
                seqs
            });
        metrics::histogram!("creditbridge_audit_commit_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("creditbridge_audit_group_rows").record(rows.len() as f64);
        queued.fetch_sub(group.len() as i64, Ordering::Relaxed);
        match result {
            Ok(seqs) => {
                for ((_, _, reply), seq) in group.drain(..).zip(seqs) {
                    let _ = reply.send(Ok(seq));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, rows = group.len(), "audit group commit failed");
                for (_, _, reply) in group.drain(..) {
                    let _ = reply.send(Err(err.to_string()));
                }
            }
        }
        // The subject index is filled here, between groups, in small sorted batches: on SQLite
        // any other writer would hold the one write lock while the groups wait behind it.
        if unindexed >= INDEX_EVERY_ROWS {
            match db
                .audit_index_subjects_batch(2 * INDEX_EVERY_ROWS as i64)
                .await
            {
                Ok(_) => unindexed = 0,
                Err(e) => tracing::warn!(error = %e, "audit subject indexing failed"),
            }
        }
        if restart_wal.swap(false, Ordering::Relaxed) {
            if let Err(e) = db.restart_wal().await {
                tracing::warn!(error = %e, "WAL restart failed");
            }
        }
    }
}
