//! Cost per leaf of the ledger's hot paths, to check the sequencer is not the bottleneck at the
//! issue's 50k entries/s. Not a test: figures depend on the machine; docs/benchmarks.md records
//! a run with its machine.
//!
//!     cargo run --release -p ledger --example bench_ledger [leaves]
//!
//! Each figure is the median of 5 timed rounds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::DateTime;
use ed25519_dalek::SigningKey;
use ledger::entry::{self, AuditEntry, CorrelationId, Subject};
use ledger::tree::{
    prove_consistency, prove_inclusion, verify_inclusion, MemoryStore, NodeId, ProofPlan,
};
use ledger::{Checkpoint, Frontier, Hash, LogSigner};
use serde_json::json;
use ulid::Ulid;

fn median(mut rounds: Vec<Duration>) -> Duration {
    rounds.sort();
    rounds[rounds.len() / 2]
}

/// Runs `f` (which does `ops` operations) 5 times; prints and returns the median ns per op.
fn measure(name: &str, ops: u64, mut f: impl FnMut()) -> f64 {
    let rounds = (0..5)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    let ns = median(rounds).as_nanos() as f64 / ops as f64;
    println!("{name:<58} {ns:>10.0} ns/op {:>12.0} ops/s", 1e9 / ns);
    ns
}

fn score_entry(i: u64) -> AuditEntry {
    AuditEntry {
        event_id: Ulid::from_parts(1_796_180_400_000 + i / 1000, u128::from(i)),
        time: DateTime::from_timestamp_micros(1_796_180_400_000_000 + i as i64).expect("in range"),
        kind: "score.delivered".into(),
        actor: "partner:p-0007/key:k-0012".into(),
        subject: Some(Subject {
            keyed_hash: [0x5a; 32],
            last4: "0421".into(),
        }),
        correlation_id: CorrelationId::from_header(b"bank-req-9f2d-7781"),
        body: json!({"consent_id": "c-000311", "grade": "B", "model": "farm-2026-11", "pd": 0.0375,
                     "product": "farm_loan", "score": 712, "reasons": ["R03", "R11", "R07"]}),
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("leaves: a number"))
        .unwrap_or(1 << 20);
    println!("leaves: {n}");

    let entries: Vec<AuditEntry> = (0..10_000).map(score_entry).collect();
    let leaf_len = entry::encode(&entries[0]).expect("valid").len();
    println!("leaf size of a score entry: {leaf_len} bytes");
    measure("encode a score entry + leaf hash", 10_000, || {
        for e in &entries {
            black_box(entry::leaf(black_box(e)).expect("valid"));
        }
    });

    let leaves: Vec<Hash> = (0..n).map(|i| Hash::leaf(&i.to_be_bytes())).collect();
    let mut written: Vec<(NodeId, Hash)> = Vec::with_capacity(2 * n as usize);
    measure(
        "sequencer: frontier append, nodes to write collected",
        n,
        || {
            written.clear();
            let mut frontier = Frontier::new();
            for leaf in &leaves {
                frontier
                    .append(*leaf, |id, hash| written.push((id, hash)))
                    .expect("small");
            }
            black_box(frontier.root());
        },
    );
    println!(
        "  perfect nodes written per leaf: {:.3}",
        written.len() as f64 / n as f64
    );

    // A batch of 1000 appended to a large tree: cost per leaf does not grow with the tree.
    let mut base = Frontier::new();
    for leaf in &leaves {
        base.append(*leaf, |_, _| {}).expect("small");
    }
    measure(
        "sequencer: 1000-leaf batch onto the tree, + root",
        1000,
        || {
            let mut f = base.clone();
            for leaf in &leaves[..1000] {
                f.append(*leaf, |id, hash| {
                    black_box((id, hash));
                })
                .expect("small");
            }
            black_box(f.root());
        },
    );

    let mut store = MemoryStore::new();
    for leaf in &leaves {
        store.append(*leaf).expect("small");
    }
    let root = store.root();
    let probes: Vec<u64> = (0..10_000u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % n)
        .collect();
    measure("plan an inclusion proof (node ids only)", 10_000, || {
        for &i in &probes {
            black_box(ProofPlan::inclusion(i, n).expect("in range"));
        }
    });
    measure(
        "inclusion proof from the in-memory node store",
        10_000,
        || {
            for &i in &probes {
                black_box(prove_inclusion(&store, i, n).expect("stored"));
            }
        },
    );
    let proofs: Vec<Vec<Hash>> = probes
        .iter()
        .map(|&i| prove_inclusion(&store, i, n).expect("stored"))
        .collect();
    measure("verify an inclusion proof", 10_000, || {
        for (&i, proof) in probes.iter().zip(&proofs) {
            verify_inclusion(&leaves[i as usize], i, n, proof, &root).expect("valid");
        }
    });
    measure(
        "consistency proof from the in-memory node store",
        10_000,
        || {
            for &old in &probes {
                black_box(prove_consistency(&store, old.max(1), n).expect("stored"));
            }
        },
    );

    let signer = LogSigner::new("bench.example/audit", SigningKey::from_bytes(&[3; 32]))
        .expect("valid name");
    let checkpoint = Checkpoint {
        origin: "bench.example/audit".into(),
        size: n,
        root,
        time: Some("2026-12-02T03:00:00Z".parse().expect("fixed")),
        other_extensions: vec![],
    };
    measure("sign a checkpoint", 1000, || {
        for _ in 0..1000 {
            black_box(signer.sign(black_box(&checkpoint)).expect("signs"));
        }
    });
    let note = signer.sign(&checkpoint).expect("signs");
    let verifier = signer.verifier();
    measure("verify a signed checkpoint", 1000, || {
        for _ in 0..1000 {
            black_box(verifier.verify_checkpoint(black_box(&note)).expect("valid"));
        }
    });
}
