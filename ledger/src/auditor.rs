//! Checking the stored log against signed checkpoints: what `creditbridge audit verify` and
//! `GET /v1/audit/verify` do with the entries they read in one snapshot.
//!
//! The entries are fed in index order. Each leaf is hashed from its stored bytes (the stored leaf
//! hash, if given, must agree) into a fresh tree, and when the tree reaches a checkpoint's size
//! its root must be the signed root. So an entry changed in the database is caught even when the
//! attacker recomputed every hash and node, as long as a checkpoint signed before the change
//! covers it: the attacker cannot sign a new one without the key. Entries after the newest
//! checkpoint are *pending*, not a failure. Memory is `O(log n)`.

use crate::checkpoint::Checkpoint;
use crate::hash::Hash;
use crate::note::{LogVerifier, NoteError};
use crate::tree::Frontier;

/// Why the stored log does not match what was signed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuditFailure {
    #[error("checkpoint {position}: {error}")]
    Checkpoint { position: usize, error: NoteError },
    #[error("two signed checkpoints of size {size} have different roots: the log showed two different histories")]
    Equivocation { size: u64 },
    #[error("expected entry {expected} next, got entry {got}: entries were removed, inserted or reordered")]
    OutOfOrder { expected: u64, got: u64 },
    #[error("entry {index}: its stored leaf hash is not the hash of its stored bytes: the entry was changed")]
    LeafChanged { index: u64 },
    #[error("the entries do not match the checkpoint of size {size}: an entry among {from}..{size} was changed, inserted, removed or reordered since it was signed")]
    RootMismatch { size: u64, from: u64 },
    #[error("the log holds {entries} entries but a checkpoint was signed for {size}: entries were removed")]
    Truncated { entries: u64, size: u64 },
    #[error(transparent)]
    Tree(#[from] crate::tree::TreeError),
}

/// A log that matched its checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditSummary {
    /// Entries covered by the newest checkpoint, all verified.
    pub verified: u64,
    /// Entries after the newest checkpoint: not yet signed, not a failure.
    pub pending: u64,
    /// The newest checkpoint (none when the log has never been signed).
    pub newest: Option<Checkpoint>,
}

/// Feeds a log's entries in order against a set of signed checkpoints.
#[derive(Debug)]
pub struct LogAuditor {
    frontier: Frontier,
    /// Verified, sorted by size, one per size.
    checkpoints: Vec<Checkpoint>,
    next: usize,
}

impl LogAuditor {
    /// `notes` are signed checkpoints (the newest from the database, older ones kept elsewhere,
    /// e.g. the witness file), in any order; each must be signed by `verifier`.
    pub fn new(verifier: &LogVerifier, notes: &[&str]) -> Result<LogAuditor, AuditFailure> {
        let mut checkpoints = Vec::with_capacity(notes.len());
        for (position, note) in notes.iter().enumerate() {
            let checkpoint = verifier
                .verify_checkpoint(note)
                .map_err(|error| AuditFailure::Checkpoint { position, error })?;
            checkpoints.push(checkpoint);
        }
        checkpoints.sort_by_key(|c| c.size);
        for pair in checkpoints.windows(2) {
            if pair[0].size == pair[1].size && pair[0].root != pair[1].root {
                return Err(AuditFailure::Equivocation { size: pair[0].size });
            }
        }
        checkpoints.dedup_by_key(|c| c.size);
        let mut auditor = LogAuditor {
            frontier: Frontier::new(),
            checkpoints,
            next: 0,
        };
        // A checkpoint of the empty tree is checked before any entry.
        auditor.check_reached()?;
        Ok(auditor)
    }

    /// The next entry: its index, its stored leaf bytes and, if the store keeps one, its stored
    /// leaf hash.
    pub fn push(
        &mut self,
        index: u64,
        leaf: &[u8],
        stored_hash: Option<&Hash>,
    ) -> Result<(), AuditFailure> {
        let expected = self.frontier.size();
        if index != expected {
            return Err(AuditFailure::OutOfOrder {
                expected,
                got: index,
            });
        }
        let hash = Hash::leaf(leaf);
        if stored_hash.is_some_and(|stored| *stored != hash) {
            return Err(AuditFailure::LeafChanged { index });
        }
        self.frontier.append(hash, |_, _| {})?;
        self.check_reached()
    }

    fn check_reached(&mut self) -> Result<(), AuditFailure> {
        while let Some(checkpoint) = self.checkpoints.get(self.next) {
            if checkpoint.size != self.frontier.size() {
                break;
            }
            if checkpoint.root != self.frontier.root() {
                let from = match self.next {
                    0 => 0,
                    n => self.checkpoints[n - 1].size,
                };
                return Err(AuditFailure::RootMismatch {
                    size: checkpoint.size,
                    from,
                });
            }
            self.next += 1;
        }
        Ok(())
    }

    /// After the last entry of the snapshot.
    pub fn finish(self) -> Result<AuditSummary, AuditFailure> {
        let entries = self.frontier.size();
        if let Some(unreached) = self.checkpoints.get(self.next) {
            return Err(AuditFailure::Truncated {
                entries,
                size: self.checkpoints.last().map_or(unreached.size, |c| c.size),
            });
        }
        let newest = self.checkpoints.last().cloned();
        let verified = newest.as_ref().map_or(0, |c| c.size);
        Ok(AuditSummary {
            verified,
            pending: entries - verified,
            newest,
        })
    }
}
