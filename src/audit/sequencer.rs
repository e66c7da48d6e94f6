//! The sequencer: the one process that orders recorded entries into the Merkle tree and signs
//! checkpoints. On PostgreSQL it is whichever replica holds the advisory lock on its dedicated
//! connection (a holder that dies loses its session and the lock; another replica's next tick
//! takes over). On SQLite it is the one serving process.
//!
//! Each run, in one transaction: take the entries recorded since the last run (PostgreSQL: those
//! of transactions that have ended, so none that commits late is skipped), append their leaf
//! hashes to the frontier, write their leaf indexes, the perfect subtrees they complete and the
//! subject index, sign a checkpoint when one is due (at least once a second while entries
//! arrive), and save the frontier, guarded by this sequencer's lease epoch. After the commit the
//! checkpoint is appended to the witness file and synced.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::SubsecRound;
use ledger::{Checkpoint, Frontier, Hash, LogSigner};
use tokio::sync::{mpsc, oneshot};

use crate::clock::SharedClock;
use crate::storage::ledger::LedgerConn;
use crate::storage::{Db, StoreError};

/// Entries taken per run on SQLite (PostgreSQL takes every ended transaction's entries at once).
const MAX_PER_RUN: i64 = 20_000;

#[derive(Clone, Debug)]
pub struct SequencerConfig {
    /// Time between runs (`ledger.sequence_interval_ms`).
    pub interval: Duration,
    /// A checkpoint at least this often while entries arrive.
    pub checkpoint_every: Duration,
    /// Every checkpoint is appended here too (`ledger.witness_file`).
    pub witness_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SequencerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("another sequencer took over the ledger (lease epoch {0} is no longer current)")]
    LostLease(i64),
    #[error("the stored tree state is damaged: {0}")]
    State(String),
    #[error(
        "entry {entry_no}: its stored leaf hash is not the hash of its leaf bytes; not sequenced"
    )]
    LeafHash { entry_no: i64 },
    #[error("signing the checkpoint: {0}")]
    Sign(String),
    #[error("witness file {path}: {source}")]
    Witness {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// This process is the sequencer.
    pub holder: bool,
    pub sequenced: u64,
    pub size: u64,
    /// The size of the checkpoint signed in this run.
    pub signed: Option<u64>,
}

enum Request {
    Run(bool, oneshot::Sender<Result<StepReport, String>>),
    Stop(oneshot::Sender<()>),
}

/// How the rest of the process reaches its running sequencer (none until `spawn`).
#[derive(Clone, Default)]
pub struct SequencerHandle(Arc<std::sync::Mutex<Option<mpsc::Sender<Request>>>>);

impl SequencerHandle {
    /// Runs the sequencer now and waits for it: everything recorded before the call is then
    /// sequenced, and with `force_checkpoint` covered by a signed checkpoint (tests, and reads
    /// that must see the latest entries).
    pub async fn run_now(&self, force_checkpoint: bool) -> Result<StepReport, String> {
        let tx = self
            .0
            .lock()
            .expect("sequencer handle")
            .clone()
            .ok_or_else(|| "this process runs no sequencer".to_owned())?;
        let (reply, wait) = oneshot::channel();
        tx.send(Request::Run(force_checkpoint, reply))
            .await
            .map_err(|_| "the sequencer has stopped".to_owned())?;
        wait.await
            .map_err(|_| "the sequencer has stopped".to_owned())?
    }

    /// Stops the running sequencer and gives its lease up (PostgreSQL: another replica's
    /// sequencer takes over at its next tick), as if this process had died.
    pub async fn stop(&self) {
        let tx = self.0.lock().expect("sequencer handle").take();
        if let Some(tx) = tx {
            let (reply, wait) = oneshot::channel();
            if tx.send(Request::Stop(reply)).await.is_ok() {
                let _ = wait.await;
            }
        }
    }
}

struct Held {
    conn: LedgerConn,
    epoch: i64,
    frontier: Frontier,
    last_signed: u64,
    last_signed_at: Instant,
}

pub struct Sequencer {
    db: Db,
    signer: Arc<LogSigner>,
    clock: SharedClock,
    config: SequencerConfig,
    held: Option<Held>,
}

impl Sequencer {
    pub fn new(
        db: Db,
        signer: Arc<LogSigner>,
        clock: SharedClock,
        config: SequencerConfig,
    ) -> Sequencer {
        Sequencer {
            db,
            signer,
            clock,
            config,
            held: None,
        }
    }

    /// Runs every `interval` (and whenever `handle` asks) until the task is aborted; failures
    /// are logged and the lease is given up, to be taken again (with the state re-read) at the
    /// next tick.
    pub fn spawn(mut self, handle: &SequencerHandle) -> tokio::task::JoinHandle<()> {
        let (tx, mut rx) = mpsc::channel::<Request>(16);
        *handle.0.lock().expect("sequencer handle") = Some(tx);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.config.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let (force, reply) = tokio::select! {
                    _ = tick.tick() => (false, None),
                    request = rx.recv() => match request {
                        Some(Request::Run(force, reply)) => (force, Some(reply)),
                        Some(Request::Stop(done)) => {
                            self.release().await;
                            let _ = done.send(());
                            return;
                        }
                        None => (false, None),
                    },
                };
                let result = self.step(force).await;
                match &result {
                    Ok(report) => {
                        metrics::gauge!("creditbridge_ledger_sequencer").set(if report.holder {
                            1.0
                        } else {
                            0.0
                        });
                        if report.sequenced > 0 {
                            metrics::counter!("creditbridge_ledger_sequenced_total")
                                .increment(report.sequenced);
                        }
                        if report.holder {
                            metrics::gauge!("creditbridge_ledger_size").set(report.size as f64);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "ledger sequencer run failed"),
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
            }
        })
    }

    /// Gives the lease up (PostgreSQL: closes the session, releasing the lock).
    pub async fn release(&mut self) {
        if let Some(held) = self.held.take() {
            held.conn.close().await;
        }
    }

    /// One run. `force_checkpoint` signs whatever is new without waiting for the interval.
    pub async fn step(&mut self, force_checkpoint: bool) -> Result<StepReport, SequencerError> {
        if self.held.is_none() {
            let mut conn = self.db.ledger_conn().await?;
            if !conn.try_lock_sequencer().await? {
                conn.close().await;
                return Ok(StepReport::default());
            }
            match self.take_over(conn).await {
                Ok(held) => self.held = Some(held),
                Err(e) => return Err(e),
            }
        }
        let held = self.held.as_mut().expect("held");
        let result = run(
            held,
            &self.signer,
            &self.clock,
            &self.config,
            force_checkpoint,
        )
        .await;
        match result {
            Ok(report) => Ok(report),
            Err(e) => {
                // Whatever failed, start again from the stored state with a fresh session.
                if let Some(mut held) = self.held.take() {
                    held.conn.end().await;
                    held.conn.close().await;
                }
                Err(e)
            }
        }
    }

    async fn take_over(&self, mut conn: LedgerConn) -> Result<Held, SequencerError> {
        let vkey = self.signer.verifier().to_vkey();
        let state = conn.take_over(&vkey).await?;
        if state.frontier.len() % 32 != 0 {
            return Err(SequencerError::State(
                "frontier is not a list of hashes".into(),
            ));
        }
        let hashes = state
            .frontier
            .chunks(32)
            .map(|c| Hash(c.try_into().expect("32 bytes")))
            .collect();
        let frontier = Frontier::from_hashes(state.size, hashes)
            .map_err(|e| SequencerError::State(e.to_string()))?;
        let last_signed = conn.newest_checkpoint().await?.map_or(0, |(size, _)| size);
        tracing::info!(
            size = state.size,
            epoch = state.lease_epoch,
            "this process is now the ledger's sequencer"
        );
        Ok(Held {
            conn,
            epoch: state.lease_epoch,
            frontier,
            last_signed,
            last_signed_at: Instant::now(),
        })
    }
}

fn frontier_bytes(frontier: &Frontier) -> Vec<u8> {
    frontier.nodes().flat_map(|(_, h)| h.0).collect()
}

async fn run(
    held: &mut Held,
    signer: &LogSigner,
    clock: &SharedClock,
    config: &SequencerConfig,
    force_checkpoint: bool,
) -> Result<StepReport, SequencerError> {
    let conn = &mut held.conn;
    conn.begin_write().await?;
    let state = conn.state().await?;
    if state.lease_epoch != held.epoch {
        return Err(SequencerError::LostLease(held.epoch));
    }
    if state.size != held.frontier.size() {
        return Err(SequencerError::State(format!(
            "the stored size is {} but this sequencer's tree has {}",
            state.size,
            held.frontier.size()
        )));
    }
    let (entries, watermark) = conn.unsequenced(&state.watermark, MAX_PER_RUN).await?;
    let mut frontier = held.frontier.clone();
    let mut leaves = Vec::with_capacity(entries.len());
    let mut nodes = Vec::new();
    let mut subjects = Vec::new();
    for entry in &entries {
        let hash = Hash::leaf(&entry.leaf);
        if hash.0.as_slice() != entry.leaf_hash.as_slice() {
            return Err(SequencerError::LeafHash {
                entry_no: entry.entry_no,
            });
        }
        let index = frontier
            .append(hash, |id, h| {
                if id.level >= 1 {
                    nodes.push((id.level, id.index, h.0.to_vec()));
                }
            })
            .map_err(|e| SequencerError::State(e.to_string()))?;
        leaves.push((index, entry.entry_no));
        if let Some(key) = &entry.subject_key {
            subjects.push((key.clone(), index));
        }
    }
    conn.write_tree(&leaves, &nodes, &subjects).await?;
    let due = force_checkpoint || held.last_signed_at.elapsed() >= config.checkpoint_every;
    let mut note = None;
    if frontier.size() > held.last_signed && due {
        let at = clock.now().trunc_subsecs(6);
        let checkpoint = Checkpoint {
            origin: signer.name().to_owned(),
            size: frontier.size(),
            root: frontier.root(),
            time: Some(at),
            other_extensions: Vec::new(),
        };
        let signed = signer
            .sign(&checkpoint)
            .map_err(|e| SequencerError::Sign(e.to_string()))?;
        conn.write_checkpoint(frontier.size(), &signed, at).await?;
        note = Some(signed);
    }
    if entries.is_empty() && note.is_none() {
        conn.end().await;
        return Ok(StepReport {
            holder: true,
            sequenced: 0,
            size: frontier.size(),
            signed: None,
        });
    }
    if !conn
        .save_state(
            held.epoch,
            frontier.size(),
            &frontier_bytes(&frontier),
            &watermark,
        )
        .await?
    {
        return Err(SequencerError::LostLease(held.epoch));
    }
    conn.commit().await?;
    held.frontier = frontier;
    let mut report = StepReport {
        holder: true,
        sequenced: entries.len() as u64,
        size: held.frontier.size(),
        signed: None,
    };
    if let Some(note) = note {
        held.last_signed = held.frontier.size();
        held.last_signed_at = Instant::now();
        report.signed = Some(held.last_signed);
        if let Some(path) = &config.witness_file {
            append_witness(path, &note).map_err(|source| SequencerError::Witness {
                path: path.clone(),
                source,
            })?;
        }
    }
    Ok(report)
}

/// Appends a signed checkpoint to the witness file, a blank line after it, and syncs.
fn append_witness(path: &std::path::Path, note: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(note.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_data()
}

/// The signed notes in a witness file (or any file of checkpoints written the same way: notes
/// separated by a blank line).
pub fn read_witness(text: &str) -> Vec<String> {
    let parts: Vec<&str> = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .collect();
    parts
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| format!("{}\n\n{}\n", pair[0], pair[1].trim_end_matches('\n')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_file_reads_back_as_its_notes() {
        let (signer, _) = ledger::keys::generate("example.test/log").unwrap();
        let notes: Vec<String> = (1..=3)
            .map(|size| {
                signer
                    .sign(&Checkpoint {
                        origin: "example.test/log".into(),
                        size,
                        root: Hash::leaf(&[size as u8]),
                        time: None,
                        other_extensions: Vec::new(),
                    })
                    .unwrap()
            })
            .collect();
        let file: String = notes.iter().map(|n| format!("{n}\n")).collect();
        assert_eq!(read_witness(&file), notes);
        let verifier = signer.verifier();
        for note in read_witness(&file) {
            verifier.verify_checkpoint(&note).unwrap();
        }
    }
}
