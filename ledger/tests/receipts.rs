//! Receipts end to end: entries, tree, signed checkpoint, tlog-proof text, offline verification;
//! and each way a receipt can fail, reported as the check that failed.

use chrono::DateTime;
use ed25519_dalek::SigningKey;
use ledger::entry::{self, AuditEntry};
use ledger::note::NoteError;
use ledger::receipt::{
    verify_inclusion_in_checkpoint, verify_receipt, Leaf, ProofTextError, Receipt, ReceiptError,
    TlogProof,
};
use ledger::tree::{prove_inclusion, InclusionError, MemoryStore};
use ledger::{Checkpoint, Hash, LogSigner};
use serde_json::json;
use ulid::Ulid;

const ORIGIN: &str = "creditbridge.test/audit";

struct Log {
    signer: LogSigner,
    store: MemoryStore,
    leaves: Vec<Vec<u8>>,
}

impl Log {
    fn with_entries(n: u64) -> Log {
        let mut log = Log {
            signer: LogSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap(),
            store: MemoryStore::new(),
            leaves: Vec::new(),
        };
        for i in 0..n {
            let e = AuditEntry {
                event_id: Ulid::from_parts(1_764_644_645_000 + i, u128::from(i)),
                time: DateTime::from_timestamp_micros(1_764_644_645_000_000 + i as i64).unwrap(),
                kind: "score.delivered".into(),
                actor: "partner:p-1/key:k-1".into(),
                subject: None,
                correlation_id: None,
                body: json!({ "score": 600 + i }),
            };
            let (bytes, hash) = entry::leaf(&e).unwrap();
            log.store.append(hash).unwrap();
            log.leaves.push(bytes);
        }
        log
    }

    fn checkpoint(&self) -> String {
        self.signer
            .sign(&Checkpoint {
                origin: ORIGIN.into(),
                size: self.store.size(),
                root: self.store.root(),
                time: Some("2026-12-02T03:00:00Z".parse().unwrap()),
                other_extensions: vec![],
            })
            .unwrap()
    }

    fn proof(&self, index: u64) -> TlogProof {
        TlogProof {
            extra: Some(format!("event {index}").into_bytes()),
            index,
            path: prove_inclusion(&self.store, index, self.store.size()).unwrap(),
            checkpoint: self.checkpoint(),
        }
    }

    fn receipt(&self, index: u64) -> Receipt {
        Receipt {
            event_id: "01JDQ3V7W2M6X1R8K5T0N9P4AB".into(),
            leaf_hash: Hash::leaf(&self.leaves[index as usize]).to_base64(),
        }
    }
}

#[test]
fn a_bank_checks_a_receipt_offline_from_text_only() {
    let log = Log::with_entries(21);
    let vkey = log.signer.verifier().to_vkey();
    for index in [0, 7, 20] {
        let text = log.proof(index).to_text();
        // What crosses the wire: the vkey, the receipt JSON and the proof text.
        let verifier = ledger::LogVerifier::from_vkey(&vkey).unwrap();
        let receipt: Receipt =
            serde_json::from_str(&serde_json::to_string(&log.receipt(index)).unwrap()).unwrap();
        let proof = TlogProof::parse(&text).unwrap();
        assert_eq!(proof, log.proof(index));
        let ok = verify_receipt(
            &verifier,
            &receipt,
            &proof,
            None,
            Some(&log.leaves[index as usize]),
        )
        .unwrap();
        assert_eq!(ok.index, index);
        assert_eq!(ok.checkpoint.size, 21);
    }
}

#[test]
fn each_failed_check_is_named() {
    let log = Log::with_entries(21);
    let verifier = log.signer.verifier();
    let proof = log.proof(7);
    let receipt = log.receipt(7);

    // Another leaf's receipt with this proof: the path does not lead to the root.
    assert_eq!(
        verify_receipt(&verifier, &log.receipt(8), &proof, None, None),
        Err(ReceiptError::Inclusion(InclusionError::RootMismatch))
    );
    // The leaf bytes the bank holds are not the ones the receipt hashed.
    assert!(matches!(
        verify_receipt(&verifier, &receipt, &proof, None, Some(&log.leaves[8])),
        Err(ReceiptError::LeafMismatch { .. })
    ));
    // A proof for another index.
    let mut moved = proof.clone();
    moved.index = 6;
    assert_eq!(
        verify_receipt(&verifier, &receipt, &moved, None, None),
        Err(ReceiptError::Inclusion(InclusionError::RootMismatch))
    );
    // The checkpoint edited (root of a rewritten log) after signing.
    let mut rewritten = proof.clone();
    let other_root = Hash::leaf(b"rewritten").to_base64();
    rewritten.checkpoint = proof
        .checkpoint
        .replacen(&log.store.root().to_base64(), &other_root, 1);
    assert!(matches!(
        verify_receipt(&verifier, &receipt, &rewritten, None, None),
        Err(ReceiptError::Checkpoint(NoteError::BadSignature { .. }))
    ));
    // A checkpoint signed by a key the bank does not trust.
    let insider = LogSigner::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).unwrap();
    assert!(matches!(
        verify_receipt(&insider.verifier(), &receipt, &proof, None, None),
        Err(ReceiptError::Checkpoint(
            NoteError::NoSignatureFromKey { .. }
        ))
    ));
    // A newer checkpoint given separately: the old path is for another size.
    let bigger = Log::with_entries(40);
    let newer = bigger.checkpoint();
    assert!(matches!(
        verify_receipt(&verifier, &receipt, &proof, Some(&newer), None),
        Err(ReceiptError::Inclusion(InclusionError::WrongLength { .. }))
    ));
    // ... and with the path for that size it checks out.
    let path = prove_inclusion(&bigger.store, 7, 40).unwrap();
    let leaf = Leaf::Bytes(&bigger.leaves[7]);
    assert_eq!(
        verify_inclusion_in_checkpoint(&verifier, &newer, 7, &path, leaf)
            .unwrap()
            .checkpoint
            .size,
        40
    );
    // A receipt whose hash is not a hash.
    let bad = Receipt {
        event_id: receipt.event_id.clone(),
        leaf_hash: "abc".into(),
    };
    assert_eq!(
        verify_receipt(&verifier, &bad, &proof, None, None),
        Err(ReceiptError::ReceiptHash)
    );
}

#[test]
fn malformed_proof_texts_are_refused_with_the_line() {
    let log = Log::with_entries(5);
    let good = log.proof(3).to_text();
    let lines: Vec<&str> = good.split('\n').collect();
    let cases = [
        (good.replacen("@v1", "@v2", 1), ProofTextError::Header),
        (
            good.replacen("index 3", "index 03", 1),
            ProofTextError::Index { line: 3 },
        ),
        (
            good.replacen("index 3", "index", 1),
            ProofTextError::Index { line: 3 },
        ),
        (
            good.replacen("extra ", "extra !", 1),
            ProofTextError::Extra { line: 2 },
        ),
        (
            good.replacen(lines[3], "AAAA", 1),
            ProofTextError::PathHash { line: 4 },
        ),
        (
            format!("{}\n", lines[..6].join("\n")),
            ProofTextError::NoCheckpoint,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(TlogProof::parse(&text), Err(want), "{text}");
    }
    let long = format!(
        "c2sp.org/tlog-proof@v1\nindex 0\n{}\n{}",
        format!("{}\n", Hash::leaf(b"x").to_base64()).repeat(64),
        log.checkpoint()
    );
    assert_eq!(TlogProof::parse(&long), Err(ProofTextError::PathTooLong));
}
