//! The tamper cases against the log checker, on an in-memory copy of what the database
//! holds (index, leaf bytes, stored leaf hash) plus the signed checkpoints. The service's own
//! tests will edit real SQLite and PostgreSQL tables; these pin the checking logic.

use chrono::DateTime;
use ed25519_dalek::SigningKey;
use ledger::auditor::{AuditFailure, AuditSummary, LogAuditor};
use ledger::entry::{self, AuditEntry};
use ledger::note::NoteError;
use ledger::tree::MemoryStore;
use ledger::{Checkpoint, Hash, LogSigner};
use serde_json::json;
use ulid::Ulid;

const ORIGIN: &str = "creditbridge.test/audit";

/// A stored row: index, leaf bytes, leaf hash.
type Row = (u64, Vec<u8>, Hash);

fn leaf(i: u64, score: u64) -> Vec<u8> {
    entry::encode(&AuditEntry {
        event_id: Ulid::from_parts(1_796_180_400_000 + i, u128::from(i)),
        time: DateTime::from_timestamp_micros(1_796_180_400_000_000 + i as i64 * 1000).unwrap(),
        kind: "score.delivered".into(),
        actor: "partner:p-1/key:k-1".into(),
        subject: None,
        correlation_id: None,
        body: json!({ "score": score }),
    })
    .unwrap()
}

struct Log {
    signer: LogSigner,
    rows: Vec<Row>,
    /// Signed at sizes 20, 35 and 50.
    checkpoints: Vec<String>,
}

fn log() -> Log {
    let signer = LogSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap();
    let mut store = MemoryStore::new();
    let mut rows = Vec::new();
    let mut checkpoints = Vec::new();
    for i in 0..50 {
        let bytes = leaf(i, 600 + i);
        let hash = Hash::leaf(&bytes);
        store.append(hash).unwrap();
        rows.push((i, bytes, hash));
        if [20, 35, 50].contains(&store.size()) {
            checkpoints.push(sign(&signer, &store));
        }
    }
    Log {
        signer,
        rows,
        checkpoints,
    }
}

fn sign(signer: &LogSigner, store: &MemoryStore) -> String {
    signer
        .sign(&Checkpoint {
            origin: ORIGIN.into(),
            size: store.size(),
            root: store.root(),
            time: None,
            other_extensions: vec![],
        })
        .unwrap()
}

fn check(log: &Log, rows: &[Row], notes: &[&str]) -> Result<AuditSummary, AuditFailure> {
    let mut auditor = LogAuditor::new(&log.signer.verifier(), notes)?;
    for (index, bytes, hash) in rows {
        auditor.push(*index, bytes, Some(hash))?;
    }
    auditor.finish()
}

fn all(log: &Log) -> Vec<&str> {
    log.checkpoints.iter().map(String::as_str).collect()
}

/// Rows renumbered 0.. after an edit, with every hash recomputed: a careful insider.
fn renumbered(rows: Vec<(Vec<u8>,)>) -> Vec<Row> {
    rows.into_iter()
        .enumerate()
        .map(|(i, (bytes,))| {
            let hash = Hash::leaf(&bytes);
            (i as u64, bytes, hash)
        })
        .collect()
}

#[test]
fn an_untouched_log_verifies_and_unsigned_entries_are_pending() {
    let log = log();
    let summary = check(&log, &log.rows, &all(&log)).unwrap();
    assert_eq!((summary.verified, summary.pending), (50, 0));
    let mut more = log.rows.clone();
    for i in 50..57 {
        let bytes = leaf(i, 1);
        let hash = Hash::leaf(&bytes);
        more.push((i, bytes, hash));
    }
    let summary = check(&log, &more, &all(&log)).unwrap();
    assert_eq!((summary.verified, summary.pending), (50, 7));
    // A log never signed: nothing verified, everything pending.
    let summary = check(&log, &more, &[]).unwrap();
    assert_eq!((summary.verified, summary.pending), (0, 57));
}

#[test]
fn a_changed_entry_is_caught_with_its_hash_left_or_recomputed() {
    let log = log();
    let mut rows = log.rows.clone();
    rows[25].1 = leaf(25, 900);
    assert_eq!(
        check(&log, &rows, &all(&log)),
        Err(AuditFailure::LeafChanged { index: 25 })
    );
    rows[25].2 = Hash::leaf(&rows[25].1);
    assert_eq!(
        check(&log, &rows, &all(&log)),
        Err(AuditFailure::RootMismatch { size: 35, from: 20 })
    );
}

#[test]
fn a_rewrite_re_signed_with_another_key_is_refused() {
    let log = log();
    let mut rows = log.rows.clone();
    rows[25].1 = leaf(25, 900);
    rows[25].2 = Hash::leaf(&rows[25].1);
    let insider = LogSigner::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).unwrap();
    let mut store = MemoryStore::new();
    for (_, _, hash) in &rows {
        store.append(*hash).unwrap();
    }
    let forged = sign(&insider, &store);
    assert!(matches!(
        check(&log, &rows, &[&forged]),
        Err(AuditFailure::Checkpoint {
            position: 0,
            error: NoteError::NoSignatureFromKey { .. }
        })
    ));
}

#[test]
fn a_truncated_tail_is_caught_by_a_kept_checkpoint() {
    let log = log();
    let rows = &log.rows[..40];
    assert_eq!(
        check(&log, rows, &all(&log)),
        Err(AuditFailure::Truncated {
            entries: 40,
            size: 50
        })
    );
    // The insider also deleted the newest checkpoint from the database: the database alone
    // now looks fine (entries past size 35 are "pending")...
    let in_database = &log.checkpoints[..2];
    let summary = check(&log, rows, &[&in_database[0], &in_database[1]]).unwrap();
    assert_eq!((summary.verified, summary.pending), (35, 5));
    // ...but the witness file kept the checkpoint of size 50.
    let witness = &log.checkpoints[2];
    assert_eq!(
        check(&log, rows, &[&in_database[0], &in_database[1], witness]),
        Err(AuditFailure::Truncated {
            entries: 40,
            size: 50
        })
    );
}

#[test]
fn deleted_inserted_and_reordered_entries_are_caught() {
    let log = log();
    let bytes: Vec<(Vec<u8>,)> = log.rows.iter().map(|r| (r.1.clone(),)).collect();

    // Deleted, indexes left as they were: a gap.
    let mut gap = log.rows.clone();
    gap.remove(10);
    assert_eq!(
        check(&log, &gap, &all(&log)),
        Err(AuditFailure::OutOfOrder {
            expected: 10,
            got: 11
        })
    );
    // Deleted and renumbered, hashes recomputed.
    let mut deleted = bytes.clone();
    deleted.remove(10);
    assert_eq!(
        check(&log, &renumbered(deleted), &all(&log)),
        Err(AuditFailure::RootMismatch { size: 20, from: 0 })
    );
    // Inserted and renumbered.
    let mut inserted = bytes.clone();
    inserted.insert(40, (leaf(99, 1),));
    assert_eq!(
        check(&log, &renumbered(inserted), &all(&log)),
        Err(AuditFailure::RootMismatch { size: 50, from: 35 })
    );
    // Two entries swapped.
    let mut swapped = bytes.clone();
    swapped.swap(3, 4);
    assert_eq!(
        check(&log, &renumbered(swapped), &all(&log)),
        Err(AuditFailure::RootMismatch { size: 20, from: 0 })
    );
    // The same entry twice, indexes left as they were.
    let mut repeated = log.rows.clone();
    repeated.insert(5, log.rows[4].clone());
    assert_eq!(
        check(&log, &repeated, &all(&log)),
        Err(AuditFailure::OutOfOrder {
            expected: 5,
            got: 4
        })
    );
}

#[test]
fn two_signed_histories_of_one_size_are_reported() {
    let log = log();
    let mut other = MemoryStore::new();
    for i in 0..35 {
        other.append(Hash::leaf(&leaf(i, 1))).unwrap();
    }
    let fork = sign(&log.signer, &other);
    assert_eq!(
        check(&log, &log.rows, &[&log.checkpoints[1], &fork]),
        Err(AuditFailure::Equivocation { size: 35 })
    );
    // The same checkpoint twice is not a fork.
    assert!(check(&log, &log.rows, &[&log.checkpoints[1], &log.checkpoints[1]]).is_ok());
}
