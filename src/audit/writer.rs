//! Group commit for the audit trail. Each scoring request hands its event to one writer task and
//! waits; the writer takes everything queued, appends it in one transaction and answers every
//! waiter after the commit. One fsync carries many requests, and no score leaves before its record
//! is durable.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{chain_hash, AuditEvent};
use crate::storage::audit::{self, Observation};
use crate::storage::Db;

/// Largest group written in one transaction.
const MAX_GROUP: usize = 512;

type Reply = oneshot::Sender<Result<i64, String>>;
type Job = (AuditEvent, Option<Observation>, Reply);

#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Job>,
    queued: Arc<AtomicI64>,
}

#[derive(Debug, thiserror::Error)]
#[error("audit record could not be committed: {0}")]
pub struct AuditError(pub String);

impl AuditWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> AuditWriter {
        let (tx, rx) = mpsc::channel(8192);
        let queued = Arc::new(AtomicI64::new(0));
        tokio::spawn(run(db, rx, queued.clone()));
        AuditWriter { tx, queued }
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

    /// Events waiting to be committed (exported as a metric).
    pub fn queue_depth(&self) -> i64 {
        self.queued.load(Ordering::Relaxed)
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Job>, queued: Arc<AtomicI64>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let rows: Vec<_> = group.iter().map(|(e, _, _)| e.to_pending()).collect();
        let observations: Vec<_> = group.iter_mut().filter_map(|(_, o, _)| o.take()).collect();
        let result = audit::append(&db, &rows, &observations, chain_hash).await;
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
    }
}
