//! Prints the worked example of docs/audit.md: three entries, their leaves, the tree, a signed
//! checkpoint, a receipt's proof, then two more entries and a consistency proof.
//!
//! Everything is fixed (key seed, ids, times), and Ed25519 signatures are deterministic, so the
//! output is the same on every run; `tests/worked_example.rs` checks the doc still shows it.
//!
//!     cargo run -p ledger --example worked_example

use std::fmt::Write;

use ed25519_dalek::SigningKey;
use ledger::entry::{self, AuditEntry, CorrelationId, Subject};
use ledger::receipt::{verify_receipt, Receipt, TlogProof};
use ledger::tree::{prove_consistency, prove_inclusion, verify_consistency, MemoryStore};
use ledger::{Checkpoint, Hash, LogSigner, LogVerifier};
use serde_json::json;
use sha2::{Digest, Sha256};
use ulid::Ulid;

const ORIGIN: &str = "creditbridge.example/audit";

fn entries() -> Vec<AuditEntry> {
    // Stands in for the service's keyed hash (HMAC with the PII key) of an identity number.
    let keyed_hash: [u8; 32] = Sha256::digest(b"example subject").into();
    let subject = Subject {
        keyed_hash,
        last4: "0421".into(),
    };
    let time = |s: &str| -> chrono::DateTime<chrono::Utc> { s.parse().expect("fixed time") };
    // The ULID's first 48 bits are the entry's time in milliseconds; the rest is fixed here.
    let ulid = |s: &str, n: u128| Ulid::from_parts(time(s).timestamp_millis() as u64, n);
    vec![
        AuditEntry {
            event_id: ulid("2026-12-02T03:00:00.000001Z", 1),
            time: time("2026-12-02T03:00:00.000001Z"),
            kind: "consent.registered".into(),
            actor: "partner:p-0007/key:k-0012".into(),
            subject: Some(subject.clone()),
            correlation_id: CorrelationId::from_header(b"bank-req-9f2c"),
            body: json!({"consent_id": "c-000311", "purpose": "credit_assessment", "valid_until": "2027-06-30"}),
        },
        AuditEntry {
            event_id: ulid("2026-12-02T03:00:00.250000Z", 2),
            time: time("2026-12-02T03:00:00.250000Z"),
            kind: "score.delivered".into(),
            actor: "partner:p-0007/key:k-0012".into(),
            subject: Some(subject.clone()),
            correlation_id: CorrelationId::from_header(b"bank-req-9f2d"),
            body: json!({"consent_id": "c-000311", "grade": "B", "model": "farm-2026-11", "pd": 0.0375, "product": "farm_loan", "score": 712}),
        },
        AuditEntry {
            event_id: ulid("2026-12-02T03:00:00.500000Z", 3),
            time: time("2026-12-02T03:00:00.500000Z"),
            kind: "score.refused".into(),
            actor: "partner:p-0009/key:k-0031".into(),
            subject: None,
            // A retrying proxy's 200-character id: kept as digest and length only.
            correlation_id: CorrelationId::from_header("x".repeat(200).as_bytes()),
            body: json!({"code": "unknown_product", "product_sha256": hex::encode(Sha256::digest(b"4408...")), "product_len": 18}),
        },
        AuditEntry {
            event_id: ulid("2026-12-02T03:00:01.000000Z", 4),
            time: time("2026-12-02T03:00:01.000000Z"),
            kind: "model.promoted".into(),
            actor: "cli:operator".into(),
            subject: None,
            correlation_id: None,
            body: json!({"model": "farm-2026-12", "forced": false}),
        },
        AuditEntry {
            event_id: ulid("2026-12-02T03:00:01.200000Z", 5),
            time: time("2026-12-02T03:00:01.200000Z"),
            kind: "subject.history_read".into(),
            actor: "partner:p-0007/key:k-0012".into(),
            subject: Some(subject),
            correlation_id: None,
            body: json!({"entries": 2}),
        },
    ]
}

fn hex_lines(bytes: &[u8]) -> String {
    bytes
        .chunks(32)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join("\n    ")
}

/// The fields of one leaf, one per line: what docs/audit.md's table describes.
fn annotate(bytes: &[u8], e: &AuditEntry) -> String {
    let mut at = 0;
    let mut take = |n: usize| {
        let part = hex::encode(&bytes[at..at + n]);
        at += n;
        part
    };
    let mut out = String::from(
        "  fields:
",
    );
    let mut line = |hex: String, what: String| {
        writeln!(out, "    {what}: {hex}").unwrap();
    };
    line(take(1), "version 1".into());
    line(take(16), format!("event id {}", e.event_id));
    line(
        take(8),
        format!("time {} (microseconds)", e.time.timestamp_micros()),
    );
    line(take(1), format!("kind length {}", e.kind.len()));
    line(take(e.kind.len()), format!("kind {:?}", e.kind));
    line(take(2), format!("actor length {}", e.actor.len()));
    line(take(e.actor.len()), format!("actor {:?}", e.actor));
    let subject = e
        .subject
        .as_ref()
        .expect("the example's first entry has a subject");
    line(take(1), "subject present".into());
    line(take(32), "subject keyed hash".into());
    line(take(1), format!("last4 length {}", subject.last4.len()));
    line(
        take(subject.last4.len()),
        format!("last4 {:?}", subject.last4),
    );
    let Some(CorrelationId::Text(id)) = &e.correlation_id else {
        unreachable!("the example's first entry has a plain request id")
    };
    line(take(1), "correlation id kept as text".into());
    line(take(1), format!("correlation id length {}", id.len()));
    line(take(id.len()), format!("correlation id {id:?}"));
    let body = entry::canonical_json(&e.body);
    line(take(4), format!("body length {}", body.len()));
    writeln!(out, "    body {body}").unwrap();
    assert_eq!(at + body.len(), bytes.len());
    out
}

fn checkpoint(signer: &LogSigner, store: &MemoryStore, time: &str) -> String {
    signer
        .sign(&Checkpoint {
            origin: ORIGIN.into(),
            size: store.size(),
            root: store.root(),
            time: Some(time.parse().expect("fixed time")),
            other_extensions: vec![],
        })
        .expect("origin is the key name")
}

pub fn render() -> String {
    let mut out = String::new();
    // A demonstration key: derived from a public string, never to be used for a real log.
    let seed: [u8; 32] = Sha256::digest(b"creditbridge worked example key").into();
    let signer = LogSigner::new(ORIGIN, SigningKey::from_bytes(&seed)).expect("valid name");
    let vkey = signer.verifier().to_vkey();
    writeln!(out, "# public key (vkey)\n{vkey}\n").unwrap();

    let entries = entries();
    let mut store = MemoryStore::new();
    let mut leaves = Vec::new();
    for (i, e) in entries.iter().enumerate().take(3) {
        let (bytes, hash) = entry::leaf(e).expect("valid entry");
        let index = store.append(hash).expect("small tree");
        writeln!(
            out,
            "# leaf {index}: {} {} ({} bytes)\n    {}\n  leaf hash {}",
            e.kind,
            e.event_id,
            bytes.len(),
            hex_lines(&bytes),
            hash.to_base64()
        )
        .unwrap();
        if i == 0 {
            out.push_str(&annotate(&bytes, e));
        }
        leaves.push((bytes, hash));
    }
    let l: Vec<Hash> = leaves.iter().map(|(_, h)| *h).collect();
    let n01 = Hash::node(&l[0], &l[1]);
    writeln!(
        out,
        "\n# tree of 3 leaves\n  node[0..2] = SHA-256(01 || leaf0 || leaf1) = {}\n  root       = SHA-256(01 || node[0..2] || leaf2) = {}",
        n01.to_base64(),
        Hash::node(&n01, &l[2]).to_base64()
    )
    .unwrap();
    assert_eq!(Hash::node(&n01, &l[2]), store.root());

    let checkpoint3 = checkpoint(&signer, &store, "2026-12-02T03:00:01Z");
    writeln!(out, "\n# checkpoint at size 3\n{checkpoint3}").unwrap();

    let receipt = Receipt {
        event_id: entries[1].event_id.to_string(),
        leaf_hash: leaves[1].1.to_base64(),
    };
    writeln!(
        out,
        "# receipt in the score response\n{}\n",
        serde_json::to_string(&receipt).expect("plain struct")
    )
    .unwrap();
    let proof = TlogProof {
        extra: Some(entries[1].event_id.to_string().into_bytes()),
        index: 1,
        path: prove_inclusion(&store, 1, 3).expect("stored"),
        checkpoint: checkpoint3.clone(),
    };
    let proof_text = proof.to_text();
    writeln!(
        out,
        "# inclusion proof of leaf 1 (tlog-proof)\n{proof_text}"
    )
    .unwrap();
    let verifier = LogVerifier::from_vkey(&vkey).expect("own key");
    let parsed = TlogProof::parse(&proof_text).expect("own proof");
    let ok = verify_receipt(&verifier, &receipt, &parsed, None, Some(&leaves[1].0))
        .expect("the receipt verifies");
    writeln!(
        out,
        "# verify-receipt: ok, leaf {} of the checkpoint of size {} signed by {}\n",
        ok.index,
        ok.checkpoint.size,
        verifier.name()
    )
    .unwrap();

    let old_root = store.root();
    for e in &entries[3..] {
        let (_, hash) = entry::leaf(e).expect("valid entry");
        store.append(hash).expect("small tree");
    }
    let checkpoint5 = checkpoint(&signer, &store, "2026-12-02T03:00:02Z");
    writeln!(out, "# checkpoint at size 5\n{checkpoint5}").unwrap();
    let consistency = prove_consistency(&store, 3, 5).expect("stored");
    writeln!(out, "# consistency proof 3 -> 5").unwrap();
    for h in &consistency {
        writeln!(out, "{}", h.to_base64()).unwrap();
    }
    verify_consistency(3, &old_root, 5, &store.root(), &consistency).expect("the log only grew");
    writeln!(
        out,
        "\n# verify: ok, the tree of size 5 extends the tree of size 3"
    )
    .unwrap();
    out
}

#[allow(dead_code)] // `main` is unused when tests/worked_example.rs includes this file.
fn main() {
    print!("{}", render());
}
