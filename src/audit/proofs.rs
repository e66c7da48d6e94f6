//! Proofs for partners: an entry's inclusion in a signed checkpoint (C2SP tlog-proof text) and
//! the consistency of two tree sizes, built from the stored perfect subtrees (at most
//! 2·log2(n) nodes read) with `ledger::ProofPlan`.

use ledger::receipt::TlogProof;
use ledger::{Hash, NodeId, ProofPlan};

use crate::storage::ledger::StoredEntry;
use crate::storage::{Db, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("no audit entry with event id {0}")]
    NoEntry(String),
    #[error("no signed checkpoint of tree size {0}")]
    NoCheckpoint(u64),
    #[error("no checkpoint has been signed yet")]
    NoCheckpointYet,
    #[error("entry {event_id} is not covered by the checkpoint of size {size} yet (pending): ask again later or with a larger tree_size")]
    Pending { event_id: String, size: u64 },
    #[error("{0}")]
    Invalid(String),
    #[error("tree node level {level} index {index} is missing from the store")]
    MissingNode { level: u8, index: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn fetch(db: &Db, plan: &ProofPlan) -> Result<Vec<Hash>, ProofError> {
    let wanted: Vec<(u8, u64)> = plan.nodes().iter().map(|n| (n.level, n.index)).collect();
    let found = db.ledger_nodes(&wanted).await?;
    let mut hashes = Vec::with_capacity(found.len());
    for (NodeId { level, index }, hash) in plan.nodes().iter().zip(found) {
        let bytes = hash.ok_or(ProofError::MissingNode {
            level: *level,
            index: *index,
        })?;
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| ProofError::MissingNode {
                level: *level,
                index: *index,
            })?;
        hashes.push(Hash(array));
    }
    plan.assemble(&hashes)
        .map_err(|e| ProofError::Invalid(e.to_string()))
}

/// The entry `event_id` (for the caller's ownership check).
pub async fn entry(db: &Db, event_id: &str) -> Result<StoredEntry, ProofError> {
    match db.ledger_entry(event_id).await {
        Err(StoreError::NotFound) => Err(ProofError::NoEntry(event_id.to_owned())),
        other => Ok(other?),
    }
}

/// The inclusion proof of `entry` in the checkpoint of `tree_size` (default: the newest).
pub async fn inclusion(
    db: &Db,
    entry: &StoredEntry,
    tree_size: Option<u64>,
) -> Result<TlogProof, ProofError> {
    let (size, note) = match db.ledger_checkpoint(tree_size).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => {
            return Err(match tree_size {
                Some(n) => ProofError::NoCheckpoint(n),
                None => ProofError::NoCheckpointYet,
            })
        }
        Err(e) => return Err(e.into()),
    };
    let size = size as u64;
    let index = match entry.leaf_index {
        Some(i) if (i as u64) < size => i as u64,
        _ => {
            return Err(ProofError::Pending {
                event_id: entry.event_id.clone(),
                size,
            })
        }
    };
    let plan = ProofPlan::inclusion(index, size).map_err(|e| ProofError::Invalid(e.to_string()))?;
    let path = fetch(db, &plan).await?;
    Ok(TlogProof {
        extra: Some(entry.event_id.as_bytes().to_vec()),
        index,
        path,
        checkpoint: note,
    })
}

/// The consistency proof from tree size `from` to `to` (both must not exceed the newest
/// checkpoint: sizes beyond it are not yet signed).
pub async fn consistency(db: &Db, from: u64, to: u64) -> Result<Vec<Hash>, ProofError> {
    let newest = match db.ledger_checkpoint(None).await {
        Ok((size, _)) => size as u64,
        Err(StoreError::NotFound) => return Err(ProofError::NoCheckpointYet),
        Err(e) => return Err(e.into()),
    };
    // A size beyond the newest checkpoint has no signed checkpoint (yet): not found, as for an
    // inclusion proof against it, rather than a malformed request.
    if to > newest {
        return Err(ProofError::NoCheckpoint(to));
    }
    let plan = ProofPlan::consistency(from, to).map_err(|e| ProofError::Invalid(e.to_string()))?;
    fetch(db, &plan).await
}
