//! Verification of the stored ledger, for `creditbridge audit verify` and `GET /v1/audit/verify`.
//!
//! Everything is read in one snapshot (one read transaction), so entries recorded or sequenced
//! while it runs can never look like a gap. The leaves are replayed in order through
//! `ledger::auditor::LogAuditor` against the newest signed checkpoint (and any checkpoints the
//! caller kept elsewhere, e.g. the witness file): a changed, inserted, removed or reordered entry
//! is caught even when every hash in the database was recomputed, since nobody without the
//! signing key can sign a matching checkpoint. Entries after the checkpoint are `pending`, not a
//! failure. Each leaf's indexed columns must agree with its bytes, the subject index must list
//! exactly the leaves that name a subject (an index that hides an entry fails), and every stored
//! tree node must be the hash of its leaves (proofs are served from them).
//!
//! Where a root does not match, the run is repeated over the stored checkpoints signed between
//! the last good one and the failing one, to name the first checkpoint that no longer matches.

use ledger::auditor::{AuditFailure, LogAuditor};
use ledger::{Frontier, Hash, LogVerifier};
use serde::Serialize;

use crate::storage::ledger::LedgerConn;
use crate::storage::{Db, StoreError};

/// Leaves read per query inside the snapshot.
const PAGE: i64 = 2_000;

#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Verification {
    pub ok: bool,
    /// Entries covered by the checkpoint checked, all verified.
    pub verified: u64,
    /// Entries recorded after it (not yet sequenced or not yet signed): not a failure.
    pub pending: u64,
    /// The size of the newest checkpoint checked (none before the first one is signed).
    pub checkpoint_size: Option<u64>,
    /// The first problem, when not ok.
    pub problem: Option<Problem>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Problem {
    /// The leaf where the problem shows, where one can be named.
    pub leaf_index: Option<u64>,
    pub reason: String,
}

fn failed(leaf_index: Option<u64>, reason: impl Into<String>) -> Problem {
    Problem {
        leaf_index,
        reason: reason.into(),
    }
}

/// Verifies the ledger against its newest stored checkpoint and `kept` (signed notes held
/// outside the database), with the log's public key `verifier`.
pub async fn verify(
    db: &Db,
    verifier: &LogVerifier,
    kept: &[String],
) -> Result<Verification, StoreError> {
    let mut conn = db.ledger_conn().await?;
    conn.begin_snapshot().await?;
    let result = verify_in(&mut conn, verifier, kept).await;
    conn.end().await;
    conn.close().await;
    result
}

async fn verify_in(
    conn: &mut LedgerConn,
    verifier: &LogVerifier,
    kept: &[String],
) -> Result<Verification, StoreError> {
    let stored = conn.checkpoints().await?;
    let total = conn.entry_count().await? as u64;
    let mut notes: Vec<String> = kept.to_vec();
    if let Some((_, newest)) = stored.last() {
        notes.push(newest.clone());
    }
    let outcome = match replay(conn, verifier, &notes).await? {
        Err(Problem {
            leaf_index: Some(from),
            reason,
        }) if reason.starts_with(ROOT_MISMATCH) => {
            // Narrow it down with the stored checkpoints signed since the last good one.
            let between: Vec<String> = stored
                .iter()
                .filter(|(size, _)| *size as u64 > from)
                .map(|(_, note)| note.clone())
                .chain(notes.iter().cloned())
                .collect();
            match replay(conn, verifier, &between).await? {
                Err(narrower) => Err(narrower),
                Ok(_) => Err(Problem {
                    leaf_index: Some(from),
                    reason,
                }),
            }
        }
        other => other,
    };
    Ok(match outcome {
        Ok(checkpoint_size) => Verification {
            ok: true,
            verified: checkpoint_size.unwrap_or(0),
            pending: total.saturating_sub(checkpoint_size.unwrap_or(0)),
            checkpoint_size,
            problem: None,
        },
        Err(problem) => Verification {
            ok: false,
            verified: 0,
            pending: 0,
            checkpoint_size: None,
            problem: Some(problem),
        },
    })
}

const ROOT_MISMATCH: &str = "the entries do not match";

/// Replays every leaf against `notes`; the newest checkpoint's size, or the first problem.
async fn replay(
    conn: &mut LedgerConn,
    verifier: &LogVerifier,
    notes: &[String],
) -> Result<Result<Option<u64>, Problem>, StoreError> {
    let refs: Vec<&str> = notes.iter().map(String::as_str).collect();
    let mut auditor = match LogAuditor::new(verifier, &refs) {
        Ok(a) => a,
        Err(e) => return Ok(Err(failed(None, e.to_string()))),
    };
    let mut next: u64 = 0;
    // The tree rebuilt from the leaves: the nodes the sequencer must have stored.
    let mut tree = Frontier::new();
    loop {
        let rows = conn.leaves(next, PAGE).await?;
        let Some(last) = rows.last() else { break };
        let page_end = last.leaf_index as u64 + 1;
        let mut expected_index = Vec::new();
        let mut expected_nodes: Vec<(u8, u64, Hash)> = Vec::new();
        for row in &rows {
            let index = row.leaf_index as u64;
            let stored = Hash(row.leaf_hash.as_slice().try_into().unwrap_or([0; 32]));
            if let Err(e) = auditor.push(index, &row.leaf, Some(&stored)) {
                return Ok(Err(auditor_problem(e)));
            }
            let appended = tree.append(Hash::leaf(&row.leaf), |id, h| {
                if id.level >= 1 {
                    expected_nodes.push((id.level, id.index, h));
                }
            });
            if let Err(e) = appended {
                return Ok(Err(failed(Some(index), e.to_string())));
            }
            let entry = match ledger::entry::decode(&row.leaf) {
                Ok(entry) => entry,
                Err(e) => return Ok(Err(failed(Some(index), format!("entry {index}: {e}")))),
            };
            let subject = entry.subject.as_ref().map(|s| hex::encode(s.keyed_hash));
            if entry.event_id.to_string() != row.event_id
                || entry.kind != row.kind
                || subject != row.subject_key
            {
                return Ok(Err(failed(
                    Some(index),
                    format!("entry {index}: its indexed columns differ from its signed bytes: the entry was changed"),
                )));
            }
            if let Some(key) = subject {
                expected_index.push((index as i64, key));
            }
        }
        let mut actual = conn.subject_index(next, page_end).await?;
        actual.sort();
        expected_index.sort();
        if actual != expected_index {
            let first = actual
                .iter()
                .zip(&expected_index)
                .find(|(a, e)| a != e)
                .map(|(a, e)| a.0.min(e.0))
                .or_else(|| actual.get(expected_index.len()).map(|a| a.0))
                .or_else(|| expected_index.get(actual.len()).map(|e| e.0))
                .unwrap_or(next as i64) as u64;
            return Ok(Err(failed(
                Some(first),
                format!("the subject index does not match entry {first}: an entry is hidden from or added to a subject's history"),
            )));
        }
        if let Some(problem) = check_nodes(conn, &expected_nodes).await? {
            return Ok(Err(problem));
        }
        next = page_end;
    }
    let beyond = conn.subject_index_beyond(next).await?;
    if beyond > 0 {
        return Ok(Err(failed(
            Some(next),
            format!("the subject index lists {beyond} entries past the last leaf"),
        )));
    }
    match auditor.finish() {
        Ok(summary) => Ok(Ok(summary.newest.map(|c| c.size))),
        Err(e) => Ok(Err(auditor_problem(e))),
    }
}

/// Compares the nodes a page of leaves completed with the stored ones, level by level.
async fn check_nodes(
    conn: &mut LedgerConn,
    expected: &[(u8, u64, Hash)],
) -> Result<Option<Problem>, StoreError> {
    let mut levels: Vec<u8> = expected.iter().map(|n| n.0).collect();
    levels.sort_unstable();
    levels.dedup();
    for level in levels {
        let want: Vec<(u64, Hash)> = expected
            .iter()
            .filter(|n| n.0 == level)
            .map(|n| (n.1, n.2))
            .collect();
        let (from, to) = (want[0].0, want[want.len() - 1].0);
        let stored = conn.nodes_at(level, from, to).await?;
        for (i, (index, hash)) in want.iter().enumerate() {
            let matches = stored
                .get(i)
                .is_some_and(|(idx, h)| *idx as u64 == *index && h.as_slice() == hash.0);
            if !matches {
                let leaf = index << level;
                return Ok(Some(failed(
                    Some(leaf),
                    format!("the stored tree node at level {level}, index {index} (leaves from {leaf}) is missing or not the hash of its leaves: proofs served from it would not verify"),
                )));
            }
        }
    }
    Ok(None)
}

fn auditor_problem(e: AuditFailure) -> Problem {
    let index = match &e {
        AuditFailure::OutOfOrder { expected, .. } => Some(*expected),
        AuditFailure::LeafChanged { index } => Some(*index),
        AuditFailure::RootMismatch { from, .. } => Some(*from),
        AuditFailure::Truncated { entries, .. } => Some(*entries),
        _ => None,
    };
    failed(index, e.to_string())
}
