//! The audit ledger (issue 14): entries recorded under server event ids whatever the client's
//! request id, sequenced into a signed Merkle log; `audit verify` (library, HTTP, CLI) catches
//! every tampering done in the database itself at the right leaf, reports unsigned entries as
//! pending and never cries wolf under load; receipts are proven and checked offline; one
//! sequencer at a time, with failover; no clear identity number in the ledger.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::fixtures::{self, RESIDENT, USCC};
use crate::common::{audit_entries, backends, Backend, TestApp, TEST_PII_KEY};
use creditbridge::audit::sequencer::{Sequencer, SequencerConfig};
use creditbridge::audit::{self, Actor, AuditEvent, AuditSubject, EventKind, Outcome};
use creditbridge::storage::Db;
use serde_json::{json, Value};

const ENTRIES: u64 = 5;

async fn exec(db: &Db, sql: &str) -> u64 {
    creditbridge::with_db!(db, p => sqlx::query(sql)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn entry_no_of_leaf(db: &Db, index: i64) -> i64 {
    creditbridge::with_db!(db, p => sqlx::query_scalar::<_, i64>(
        "SELECT entry_no FROM ledger_leaves WHERE leaf_index = $1")
        .bind(index).fetch_one(p).await)
    .unwrap()
}

fn score_event(app: &TestApp, i: u64) -> AuditEvent {
    AuditEvent::new(
        EventKind::ScoreDelivered,
        Actor::Partner {
            partner_id: "partner-x".into(),
        },
        crate::common::test_now(),
    )
    .subject(AuditSubject {
        keyed_hash: app.state.pii.subject_key(USCC),
        last4: "341L".into(),
    })
    .outcome(Outcome::Delivered)
    .with("score", 600 + i)
}

/// An app whose sequencer runs only when the test asks (`TestApp::sequence`).
async fn quiet_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.ledger.sequence_interval_ms = 3_600_000).await
}

/// An app whose ledger holds `ENTRIES` score entries (scores 601..=605), each sequenced with a
/// checkpoint of its own (sizes 1..=5), and an admin key.
async fn app_with_ledger(backend: Backend) -> (TestApp, String) {
    let app = quiet_app(backend).await;
    let admin = app.partner_key("admin").await;
    for i in 1..=ENTRIES {
        app.state.audit.record(score_event(&app, i)).await.unwrap();
        let report = app.sequence().await;
        assert_eq!(report.size, i);
    }
    (app, admin)
}

async fn verify(app: &TestApp, kept: &[String]) -> audit::Verification {
    audit::verify(&app.state.db, &app.verifier(), kept)
        .await
        .unwrap()
}

async fn http_verify(app: &TestApp, admin: &str) -> Value {
    let resp = app.get(admin, "/v1/audit/verify").await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    // A directory of its own: no creditbridge.toml, no models/ to bootstrap from.
    let cwd = tempfile::tempdir().unwrap();
    let key = app.test_db.dir.path().join("secrets").join("ledger.key");
    crate::common::process::pinned_binary()
        .args(args)
        .args(["--database-url", &app.test_db.url])
        .env("CREDITBRIDGE_PII_KEY", TEST_PII_KEY)
        .env("CREDITBRIDGE_LEDGER__SIGNING_KEY_FILE", key)
        .current_dir(cwd.path())
        .output()
        .unwrap()
}

/// Ways to tamper with the stored ledger, and the leaf verify must name.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// Entry 2's score changed, its leaf bytes re-encoded and its leaf hash recomputed.
    ChangedWithHashRecomputed,
    /// Leaves 1 and 2 swapped.
    Reordered,
    /// A forged entry inserted as leaf 2, the later ones moved up.
    Inserted,
    /// Entry 2 deleted.
    Deleted,
    /// Entry 1's subject column changed (so the subject index would be built wrong).
    ColumnChanged,
    /// The subject index loses leaf 3: the subject's history would hide it.
    IndexHidesEntry,
    /// The stored node over leaves 2 and 3 replaced: proofs through it would not verify.
    NodeChanged,
}

const TAMPERINGS: [(Tamper, u64); 7] = [
    (Tamper::ChangedWithHashRecomputed, 2),
    (Tamper::Reordered, 1),
    (Tamper::Inserted, 2),
    (Tamper::Deleted, 2),
    (Tamper::ColumnChanged, 1),
    (Tamper::IndexHidesEntry, 3),
    (Tamper::NodeChanged, 2),
];

async fn tamper(app: &TestApp, how: Tamper) {
    let db = &app.state.db;
    match how {
        Tamper::ChangedWithHashRecomputed => {
            let entry_no = entry_no_of_leaf(db, 2).await;
            let row = db.ledger_entries(entry_no - 1, 1).await.unwrap().remove(0);
            let mut entry = ledger::entry::decode(&row.leaf).unwrap();
            assert_eq!(entry.body["score"], 603);
            entry.body["score"] = json!(703);
            let (leaf, hash) = ledger::entry::leaf(&entry).unwrap();
            let n = creditbridge::with_db!(db, p => sqlx::query(
                "UPDATE ledger_entries SET leaf = $1, leaf_hash = $2 WHERE entry_no = $3")
                .bind(leaf).bind(hash.0.to_vec()).bind(entry_no).execute(p).await
                .map(|r| r.rows_affected()))
            .unwrap();
            assert_eq!(n, 1);
        }
        Tamper::Reordered => {
            let (a, b) = (entry_no_of_leaf(db, 1).await, entry_no_of_leaf(db, 2).await);
            exec(
                db,
                "UPDATE ledger_leaves SET entry_no = -1 WHERE leaf_index = 1",
            )
            .await;
            exec(
                db,
                &format!("UPDATE ledger_leaves SET entry_no = {a} WHERE leaf_index = 2"),
            )
            .await;
            exec(
                db,
                &format!("UPDATE ledger_leaves SET entry_no = {b} WHERE leaf_index = 1"),
            )
            .await;
        }
        Tamper::Inserted => {
            let forged = ledger::entry::AuditEntry {
                event_id: ulid::Ulid::from_parts(1, 7),
                time: crate::common::test_now(),
                kind: "score.delivered".into(),
                actor: "partner:partner-x".into(),
                subject: None,
                correlation_id: None,
                body: json!({ "score": 999 }),
            };
            let (leaf, hash) = ledger::entry::leaf(&forged).unwrap();
            creditbridge::with_db!(db, p => sqlx::query(
                "INSERT INTO ledger_entries (event_id, recorded_at, kind, actor, leaf, leaf_hash) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(forged.event_id.to_string()).bind(forged.time).bind(&forged.kind)
                .bind(&forged.actor).bind(leaf).bind(hash.0.to_vec()).execute(p).await
                .map(|_| ()))
            .unwrap();
            let entry_no: i64 = creditbridge::with_db!(db, p => sqlx::query_scalar(
                "SELECT entry_no FROM ledger_entries WHERE event_id = $1")
                .bind(forged.event_id.to_string()).fetch_one(p).await)
            .unwrap();
            exec(
                db,
                "UPDATE ledger_leaves SET leaf_index = leaf_index + 100 WHERE leaf_index >= 2",
            )
            .await;
            exec(
                db,
                "UPDATE ledger_leaves SET leaf_index = leaf_index - 99 WHERE leaf_index >= 100",
            )
            .await;
            exec(
                db,
                &format!("INSERT INTO ledger_leaves (leaf_index, entry_no) VALUES (2, {entry_no})"),
            )
            .await;
        }
        Tamper::Deleted => {
            let entry_no = entry_no_of_leaf(db, 2).await;
            assert_eq!(
                exec(
                    db,
                    &format!("DELETE FROM ledger_entries WHERE entry_no = {entry_no}")
                )
                .await,
                1
            );
        }
        Tamper::ColumnChanged => {
            let entry_no = entry_no_of_leaf(db, 1).await;
            let other = "ab".repeat(32);
            assert_eq!(
                exec(db, &format!("UPDATE ledger_entries SET subject_key = '{other}' WHERE entry_no = {entry_no}")).await,
                1
            );
        }
        Tamper::NodeChanged => {
            let n = creditbridge::with_db!(db, p => sqlx::query(
                "UPDATE ledger_nodes SET hash = $1 WHERE level = 1 AND idx = 1")
                .bind(vec![7u8; 32]).execute(p).await.map(|r| r.rows_affected()))
            .unwrap();
            assert_eq!(n, 1);
        }
        Tamper::IndexHidesEntry => {
            assert_eq!(
                exec(db, "DELETE FROM ledger_subject_index WHERE leaf_index = 3").await,
                1
            );
        }
    }
}

#[tokio::test]
async fn an_untouched_ledger_verifies_everywhere_and_unsigned_entries_are_pending() {
    for backend in backends() {
        // Arrange
        let (app, admin) = app_with_ledger(backend).await;

        // Act
        let v = verify(&app, &[]).await;
        let over_http = http_verify(&app, &admin).await;

        // Assert
        assert_eq!(
            v,
            audit::Verification {
                ok: true,
                verified: ENTRIES,
                pending: 0,
                checkpoint_size: Some(ENTRIES),
                problem: None,
            },
            "{backend:?}"
        );
        assert_eq!(over_http, serde_json::to_value(&v).unwrap());
        if backend == Backend::Sqlite {
            let out = cli(&app, &["audit", "verify"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(printed, over_http);
        }

        // Recorded but not yet sequenced or signed: pending, not a failure.
        for i in 6..=7 {
            app.state.audit.record(score_event(&app, i)).await.unwrap();
        }
        let v = verify(&app, &[]).await;
        assert!(v.ok, "{backend:?}: {v:?}");
        assert_eq!((v.verified, v.pending), (ENTRIES, 2), "{backend:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn every_tampering_in_the_database_is_caught_at_the_right_leaf() {
    for backend in backends() {
        for (how, leaf) in TAMPERINGS {
            // Arrange
            let (app, admin) = app_with_ledger(backend).await;
            assert!(verify(&app, &[]).await.ok);

            // Act
            tamper(&app, how).await;
            let v = verify(&app, &[]).await;
            let over_http = http_verify(&app, &admin).await;

            // Assert
            assert!(!v.ok, "{backend:?}, {how:?}: {v:?}");
            let problem = v.problem.as_ref().unwrap();
            assert_eq!(
                problem.leaf_index,
                Some(leaf),
                "{backend:?}, {how:?}: {v:?}"
            );
            assert_eq!(over_http, serde_json::to_value(&v).unwrap(), "{how:?}");
            if backend == Backend::Sqlite {
                let out = cli(&app, &["audit", "verify"]);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(!out.status.success(), "{how:?}: the CLI exited 0");
                let lines: Vec<_> = stderr.trim().lines().collect();
                assert_eq!(lines.len(), 1, "{how:?}: {stderr}");
                assert!(
                    lines[0].contains(&format!("leaf {leaf}"))
                        && lines[0].contains(&problem.reason),
                    "{how:?}: {stderr}"
                );
            }
            app.stop().await;
        }
    }
}

#[tokio::test]
async fn a_truncated_tail_passes_alone_but_fails_against_a_checkpoint_kept_elsewhere() {
    for backend in backends() {
        // Arrange: the checkpoint of size 5 kept outside the database (the witness's copy).
        let (app, _admin) = app_with_ledger(backend).await;
        let (size, kept) = app.state.db.ledger_checkpoint(None).await.unwrap();
        assert_eq!(size, ENTRIES as i64);

        // Act: the insider cuts the last two entries, their leaves, nodes and checkpoints, and
        // moves the state back.
        let db = &app.state.db;
        for index in 3..5 {
            let entry_no = entry_no_of_leaf(db, index).await;
            exec(
                db,
                &format!("DELETE FROM ledger_entries WHERE entry_no = {entry_no}"),
            )
            .await;
        }
        exec(db, "DELETE FROM ledger_leaves WHERE leaf_index >= 3").await;
        exec(db, "DELETE FROM ledger_subject_index WHERE leaf_index >= 3").await;
        exec(db, "DELETE FROM ledger_checkpoints WHERE size > 3").await;

        // Assert: the database alone is consistent with its own (older) checkpoint…
        let alone = verify(&app, &[]).await;
        assert!(alone.ok, "{backend:?}: {alone:?}");
        assert_eq!(alone.verified, 3);
        // …but not with the kept one: the log held 5 entries when it was signed.
        let v = verify(&app, std::slice::from_ref(&kept)).await;
        assert!(!v.ok, "{backend:?}");
        let problem = v.problem.unwrap();
        assert_eq!(problem.leaf_index, Some(3), "{backend:?}: {problem:?}");
        assert!(problem.reason.contains("removed"), "{problem:?}");
        if backend == Backend::Sqlite {
            let file = app.test_db.dir.path().join("kept.txt");
            std::fs::write(&file, format!("{kept}\n")).unwrap();
            let out = cli(
                &app,
                &["audit", "verify", "--checkpoint", file.to_str().unwrap()],
            );
            assert!(!out.status.success());
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("leaf 3"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_during_load_never_raises_a_false_alarm() {
    for backend in backends() {
        // Arrange: writers recording as fast as they can while the sequencer runs on its own
        // schedule.
        let app = Arc::new(TestApp::spawn(backend).await);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writers = Vec::new();
        for _ in 0..4 {
            let (app, stop) = (app.clone(), stop.clone());
            writers.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    app.state.audit.record(score_event(&app, n)).await.unwrap();
                    n += 1;
                }
                n
            }));
        }

        // Act
        let mut results = Vec::new();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(60)).await;
            results.push(verify(&app, &[]).await);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut recorded = 0;
        for w in writers {
            recorded += w.await.unwrap();
        }

        // Assert
        let alarms: Vec<_> = results.iter().filter(|v| !v.ok).collect();
        assert!(alarms.is_empty(), "{backend:?}: {alarms:?}");
        app.sequence().await;
        let v = verify(&app, &[]).await;
        assert!(v.ok, "{v:?}");
        assert_eq!((v.verified, v.pending), (recorded, 0), "{backend:?}");
    }
}

/// A score-ready app: subjects, a champion, a bank with a consent for the enterprise.
async fn scoring_app(backend: Backend) -> (TestApp, String, Value) {
    let app = TestApp::spawn(backend).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-ledger-1", 3).await;
    let bank = app.partner_key("bank").await;
    let consent = app.consent(&bank, USCC, "loan_application").await;
    let body = json!({ "product": "sme", "subject": USCC, "purpose": "loan_application",
                       "consent_id": consent });
    (app, bank, body)
}

async fn score_with_id(
    app: &TestApp,
    key: &str,
    body: &Value,
    request_id: reqwest::header::HeaderValue,
) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/v1/scores"))
        .bearer_auth(key)
        .header("x-request-id", request_id)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn scores(entries: &[Value]) -> Vec<&Value> {
    entries
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("score."))
        .collect()
}

#[tokio::test]
async fn one_request_id_sent_three_times_gets_three_answers_each_under_its_own_event_id() {
    for backend in backends() {
        // Arrange: what a retrying proxy does.
        let (app, bank, body) = scoring_app(backend).await;

        // Act
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(score_with_id(&app, &bank, &body, "retry-42".parse().unwrap()).await);
        }

        // Assert
        for (status, answer) in &answers {
            assert_eq!(*status, 200, "{backend:?}: {answer}");
        }
        let entries = audit_entries(&app.state.db).await;
        let scored = scores(&entries);
        assert_eq!(scored.len(), 3, "{backend:?}");
        for (e, (_, answer)) in scored.iter().zip(&answers) {
            assert_eq!(e["correlation_id"], "retry-42");
            assert_eq!(e["event_id"], answer["receipt"]["event_id"]);
        }
        let mut ids: Vec<_> = scored.iter().map(|e| e["event_id"].to_string()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 3, "{backend:?}: {ids:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn empty_long_and_non_ascii_request_ids_are_answered_and_audited() {
    for backend in backends() {
        // Arrange
        let (app, bank, body) = scoring_app(backend).await;
        let long = "r".repeat(10 * 1024);
        let odd = reqwest::header::HeaderValue::from_bytes("请求-1".as_bytes()).unwrap();
        let ids = [
            reqwest::header::HeaderValue::from_static(""),
            long.parse().unwrap(),
            odd,
        ];

        // Act
        let mut statuses = Vec::new();
        for id in ids {
            statuses.push(score_with_id(&app, &bank, &body, id).await.0);
        }

        // Assert
        assert_eq!(statuses, [200, 200, 200], "{backend:?}");
        let entries = audit_entries(&app.state.db).await;
        let scored = scores(&entries);
        assert_eq!(scored.len(), 3, "{backend:?}");
        assert!(scored[0]["correlation_id"].is_null(), "{}", scored[0]);
        // Kept as digest and length: neither 10 kB nor bytes that are not plain ASCII go in.
        assert!(
            scored[1]["correlation_id"]
                .as_str()
                .unwrap()
                .ends_with(":10240"),
            "{}",
            scored[1]
        );
        assert!(scored[2]["correlation_id"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        app.sequence().await;
        assert!(verify(&app, &[]).await.ok);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_resident_id_sent_as_the_product_never_reaches_the_ledger() {
    for backend in backends() {
        // Arrange: the fields swapped by a client.
        let (app, bank, mut body) = scoring_app(backend).await;
        body["product"] = json!(RESIDENT);

        // Act
        let (status, answer) = app.post(&bank, "/v1/scores", body).await;

        // Assert
        assert_eq!(status, 422, "{answer}");
        let rows = app.state.db.ledger_entries(0, 1000).await.unwrap();
        assert!(!rows.is_empty());
        for r in &rows {
            let text = format!(
                "{} {} {} {:?} {:?} {:?}",
                r.event_id, r.kind, r.actor, r.subject_key, r.subject_last4, r.correlation_id
            );
            assert!(!text.contains(RESIDENT), "{backend:?}: {text}");
            assert!(
                !r.leaf
                    .windows(RESIDENT.len())
                    .any(|w| w == RESIDENT.as_bytes()),
                "{backend:?}: the id is in a leaf"
            );
        }
        let entries = audit_entries(&app.state.db).await;
        let refused = scores(&entries)[0];
        assert_eq!(refused["refusal"]["code"], "invalid_content");
        assert_eq!(refused["field"], "product");
        assert!(refused["refusal"]["message"]["sha256"].is_string());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_receipt_is_proven_in_a_signed_checkpoint_and_checked_offline() {
    for backend in backends() {
        // Arrange: two scores, each sequenced and signed; another bank and an admin.
        let (app, bank, body) = scoring_app(backend).await;
        let other_bank = app.partner_key("bank").await;
        let admin = app.partner_key("admin").await;
        let (_, first) = app.post(&bank, "/v1/scores", body.clone()).await;
        let small = app.sequence().await.size;
        let (_, second) = app.post(&bank, "/v1/scores", body.clone()).await;
        let large = app.sequence().await.size;
        assert!(large > small);
        let receipt: ledger::receipt::Receipt =
            serde_json::from_value(first["receipt"].clone()).unwrap();

        // Act
        let vkey = app
            .get(&bank, "/v1/audit/public-key")
            .await
            .text()
            .await
            .unwrap();
        let resp = app
            .get(
                &bank,
                &format!("/v1/audit/proofs/inclusion/{}", receipt.event_id),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let proof_text = resp.text().await.unwrap();
        let at_small = app
            .get(
                &bank,
                &format!(
                    "/v1/audit/proofs/inclusion/{}?tree_size={small}",
                    receipt.event_id
                ),
            )
            .await;
        let checkpoint = app
            .get(&bank, "/v1/audit/checkpoint")
            .await
            .text()
            .await
            .unwrap();
        let consistency: Value = app
            .get(
                &bank,
                &format!("/v1/audit/proofs/consistency?from={small}&to={large}"),
            )
            .await
            .json()
            .await
            .unwrap();

        // Assert: the bank checks everything with the public key alone.
        let verifier = ledger::LogVerifier::from_vkey(&vkey).unwrap();
        assert_eq!(verifier, app.verifier());
        let proof = ledger::receipt::TlogProof::parse(&proof_text).unwrap();
        let ok = ledger::receipt::verify_receipt(&verifier, &receipt, &proof, None, None).unwrap();
        assert_eq!(ok.checkpoint.size, large);
        let newest = verifier.verify_checkpoint(&checkpoint).unwrap();
        assert_eq!(newest.size, large);
        assert_eq!(at_small.status(), 200);
        let old = ledger::receipt::TlogProof::parse(&at_small.text().await.unwrap()).unwrap();
        let old_cp = ledger::receipt::verify_receipt(&verifier, &receipt, &old, None, None)
            .unwrap()
            .checkpoint;
        let path: Vec<ledger::Hash> = consistency["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| ledger::Hash::from_base64(h.as_str().unwrap()).unwrap())
            .collect();
        ledger::tree::verify_consistency(small, &old_cp.root, large, &newest.root, &path).unwrap();
        // A forged leaf hash does not check out.
        let mut forged = receipt.clone();
        forged.leaf_hash = second["receipt"]["leaf_hash"].as_str().unwrap().to_owned();
        assert!(ledger::receipt::verify_receipt(&verifier, &forged, &proof, None, None).is_err());
        // Only the bank's own entries, unless admin.
        let path = format!("/v1/audit/proofs/inclusion/{}", receipt.event_id);
        assert_eq!(app.get(&other_bank, &path).await.status(), 404);
        assert_eq!(app.get(&admin, &path).await.status(), 200);
        assert_eq!(
            app.get(
                &bank,
                "/v1/audit/proofs/inclusion/01JZZZZZZZZZZZZZZZZZZZZZZZ"
            )
            .await
            .status(),
            404
        );

        // The CLI a bank runs offline.
        if backend == Backend::Sqlite {
            let dir = tempfile::tempdir().unwrap();
            let write = |name: &str, text: &str| {
                let p = dir.path().join(name);
                std::fs::write(&p, text).unwrap();
                p.to_str().unwrap().to_owned()
            };
            let (key, proof_file) = (write("log.vkey", &vkey), write("proof.txt", &proof_text));
            let good = write("receipt.json", &first["receipt"].to_string());
            let bad = write("forged.json", &serde_json::to_string(&forged).unwrap());
            let run = |receipt: &str| {
                crate::common::process::pinned_binary()
                    .args([
                        "audit",
                        "verify-receipt",
                        "--public-key",
                        &key,
                        "--receipt",
                        receipt,
                        "--proof",
                        &proof_file,
                    ])
                    .current_dir(dir.path())
                    .output()
                    .unwrap()
            };
            let out = run(&good);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(printed["tree_size"], large);
            assert!(!run(&bad).status.success());
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn an_auditor_proves_any_partners_entry_and_may_change_nothing() {
    for backend in backends() {
        // Arrange: a bank's score, sequenced and signed; an auditor partner.
        let (app, bank, body) = scoring_app(backend).await;
        let auditor = app.partner_key("auditor").await;
        let (status, scored) = app.post(&bank, "/v1/scores", body.clone()).await;
        assert_eq!(status, 200, "{scored}");
        app.sequence().await;
        let receipt: ledger::receipt::Receipt =
            serde_json::from_value(scored["receipt"].clone()).unwrap();
        let consent = body["consent_id"].as_str().unwrap().to_owned();

        // Act: the auditor reads the bank's entry and tries what only others may do.
        let proof = app
            .get(
                &auditor,
                &format!("/v1/audit/proofs/inclusion/{}", receipt.event_id),
            )
            .await;
        let proof_status = proof.status();
        let proof_text = proof.text().await.unwrap();
        let verify = app.get(&auditor, "/v1/audit/verify").await;
        let history = app
            .get(&auditor, &format!("/v1/audit/subjects/{USCC}"))
            .await;
        let withdraw = app
            .post(
                &auditor,
                &format!("/v1/consents/{consent}/withdraw"),
                json!({ "evidence_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }),
            )
            .await;
        let rollback = app
            .post(&auditor, "/v1/models/rollback/sme", json!({}))
            .await;
        let score = app.post(&auditor, "/v1/scores", body.clone()).await;

        // Assert: the proof is the bank's entry's and checks out with the public key.
        assert_eq!(proof_status, 200, "{backend:?}: {proof_text}");
        let proof = ledger::receipt::TlogProof::parse(&proof_text).unwrap();
        ledger::receipt::verify_receipt(&app.verifier(), &receipt, &proof, None, None).unwrap();
        assert_eq!(verify.status(), 200);
        assert_eq!(history.status(), 200);
        let history: Vec<Value> = history.json().await.unwrap();
        assert!(
            history.iter().any(|e| e["event_id"] == receipt.event_id),
            "{history:?}"
        );
        for (what, (status, body)) in [
            ("withdraw", withdraw),
            ("rollback", rollback),
            ("score", score),
        ] {
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (403, Some("role_not_allowed")),
                "{backend:?} {what}: {body}"
            );
        }
        // Nothing changed: the consent still serves the bank.
        let (again, answer) = app.post(&bank, "/v1/scores", body.clone()).await;
        assert_eq!(again, 200, "{answer}");
        app.stop().await;
    }
}

/// The normal build (this test binary's, built without the benchmark feature) has no switch that
/// skips the ledger: with the benchmark build's acknowledgement and the settings an insider would
/// try set, the served binary still records every read and verifies.
#[cfg(not(feature = "bench-unaudited"))]
#[tokio::test]
async fn no_setting_of_the_normal_build_switches_the_ledger_off() {
    use crate::common::process::{creditbridge, free_port, partner_key, serve, succeed, wait_live};
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let admin = partner_key(dir.path(), "ops", "admin");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = creditbridge(dir.path());
    cmd.env(
        audit::unaudited::ACKNOWLEDGE_ENV,
        audit::unaudited::ACKNOWLEDGEMENT,
    );
    // (`CREDITBRIDGE_LEDGER` itself would be a settings error: `ledger` is a table of settings.)
    for switch in [
        "CREDITBRIDGE_AUDIT",
        "CREDITBRIDGE_AUDIT__ENABLED",
        "CREDITBRIDGE_LEDGER__ENABLED",
        "CREDITBRIDGE_LEDGER__DISABLED",
        "CREDITBRIDGE_BENCH_UNAUDITED_ACK",
    ] {
        cmd.env(switch, "false");
    }
    let server = serve(cmd, port);
    wait_live(&base).await;
    let client = reqwest::Client::new();

    // Act: three reads of a subject's history, each of which must be an entry.
    for _ in 0..3 {
        let resp = client
            .get(format!("{base}/v1/audit/subjects/{USCC}"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    drop(server);

    // Assert
    const { assert!(!audit::unaudited::ENABLED) };
    let url = format!(
        "sqlite://{}",
        dir.path().join("data/creditbridge.db").display()
    );
    let db = &Db::connect(&url, 1).await.unwrap();
    let reads = creditbridge::with_db!(db, p => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'subject_history.read'")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(reads, 3);
    let out = succeed(creditbridge(dir.path()).args(["audit", "verify"]));
    let verified: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
}

/// Steps `sequencer` until the tree has `size` leaves (on PostgreSQL another test's running
/// transaction may hold the newest entries back for a moment).
async fn step_until(
    sequencer: &mut Sequencer,
    size: u64,
) -> creditbridge::audit::sequencer::StepReport {
    // Up to a minute: on PostgreSQL any older open transaction in the cluster (another test's
    // import, say) holds the sequencer back until it ends.
    for _ in 0..1200 {
        let report = sequencer.step(true).await.unwrap();
        if report.size >= size {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sequencer did not reach {size} leaves");
}

#[tokio::test]
async fn one_sequencer_at_a_time_and_a_stale_one_cannot_write() {
    for backend in backends() {
        // Arrange: the app's own sequencer, and two more over the same database.
        let app = TestApp::spawn(backend).await;
        let signer = app.state.signer.clone().unwrap();
        let config = SequencerConfig {
            interval: Duration::from_secs(3600),
            checkpoint_every: Duration::ZERO,
            witness_file: None,
        };
        let new = || {
            Sequencer::new(
                app.state.db.clone(),
                signer.clone(),
                app.state.clock.clone(),
                config.clone(),
            )
        };
        app.state.audit.record(score_event(&app, 1)).await.unwrap();
        app.sequence().await;
        let (mut a, mut b) = (new(), new());

        match backend {
            Backend::Postgres => {
                // The app's sequencer holds the advisory lock: neither other may run.
                assert!(!a.step(true).await.unwrap().holder);
                // The holder dies (its session ends): the next one to try takes over and carries
                // the same tree on.
                app.state.sequencer.stop().await;
                // The lock goes with the holder's session, which PostgreSQL ends a moment after
                // the task stops: the take-over is tried within a bound.
                let mut took = a.step(true).await.unwrap();
                for _ in 0..200 {
                    if took.holder {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    took = a.step(true).await.unwrap();
                }
                assert!(took.holder);
                assert_eq!(took.size, 1);
                app.state.audit.record(score_event(&app, 2)).await.unwrap();
                assert!(!b.step(true).await.unwrap().holder);
                let report = step_until(&mut a, 2).await;
                assert_eq!((report.size, report.signed), (2, Some(2)));
            }
            Backend::Sqlite => {
                // One process only; a second sequencer on the file takes the lease, and the one
                // it took it from can no longer save anything.
                app.state.sequencer.stop().await;
                assert!(a.step(true).await.unwrap().holder);
                assert!(b.step(true).await.unwrap().holder);
                app.state.audit.record(score_event(&app, 2)).await.unwrap();
                let stale = a.step(true).await.unwrap_err();
                assert!(stale.to_string().contains("took over"), "{stale}");
                let report = step_until(&mut b, 2).await;
                assert_eq!((report.size, report.signed), (2, Some(2)));
            }
        }
        let v = verify(&app, &[]).await;
        assert!(v.ok, "{backend:?}: {v:?}");
        assert_eq!((v.verified, v.pending), (2, 0));
        a.release().await;
        b.release().await;
    }
}

#[tokio::test]
async fn an_admin_reads_who_queried_a_subject_and_the_read_is_audited() {
    for backend in backends() {
        // Arrange: a delivered and a refused query about the household, one about the enterprise.
        let app = quiet_app(backend).await;
        fixtures::seed_subjects(&app.state).await;
        fixtures::install_champion(&app.state, "farmer", "farmer-history-1", 2).await;
        let bank = app.partner_key("bank").await;
        let admin = app.partner_key("admin").await;
        let consent_id = app.consent(&bank, RESIDENT, "loan_application").await;
        let score = |consent_id: &str, subject: &str, product: &str| {
            json!({ "product": product, "subject": subject, "purpose": "loan_application",
                    "consent_id": consent_id })
        };
        let (status, delivered) = app
            .post(&bank, "/v1/scores", score(&consent_id, RESIDENT, "farmer"))
            .await;
        assert_eq!(status, 200, "{delivered}");
        let missing = "01J00000000000000000000000";
        let (status, _) = app
            .post(&bank, "/v1/scores", score(missing, RESIDENT, "farmer"))
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .post(&bank, "/v1/scores", score(missing, USCC, "sme"))
            .await;
        assert_eq!(status, 403);
        // One of them sequenced, the other still in the log's tail: both are found.
        app.sequence().await;
        let (status, _) = app
            .post(&bank, "/v1/scores", score(missing, RESIDENT, "farmer"))
            .await;
        assert_eq!(status, 403);
        let keyed_hash = app.state.pii.subject_key(RESIDENT);

        // Act
        let resp = app
            .get(&admin, &format!("/v1/audit/subjects/{RESIDENT}"))
            .await;

        // Assert
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        assert!(!text.contains(&keyed_hash), "{backend:?}: {text}");
        assert!(!text.contains(RESIDENT), "{backend:?}: {text}");
        let all: Vec<Value> = serde_json::from_str(&text).unwrap();
        // The consent's registration is in the subject's history too.
        assert_eq!(all.last().unwrap()["kind"], "consent.registered", "{text}");
        let entries = scores(&all);
        assert_eq!(entries.len(), 3, "{backend:?}: {text}");
        assert!(
            entries[0]["leaf_index"].is_null(),
            "newest first, not yet sequenced"
        );
        assert_eq!(entries[2]["kind"], "score.delivered");
        assert_eq!(entries[2]["event_id"], delivered["receipt"]["event_id"]);
        assert_eq!(entries[2]["event"]["score"], delivered["score"]);
        for e in entries {
            assert_eq!(e["event"]["subject_masked"], delivered["subject"]);
            assert!(e["actor"].as_str().unwrap().starts_with("partner:"));
        }
        let reads: Vec<Value> = audit_entries(&app.state.db)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "subject_history.read")
            .collect();
        assert_eq!(reads.len(), 1, "{backend:?}");
        assert_eq!(reads[0]["entries"], 4);
        assert_eq!(reads[0]["subject_last4"], "002X");
        app.stop().await;
    }
}

#[tokio::test]
async fn serving_without_a_readable_signing_key_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let loose = dir.path().join("loose.key");
    ledger::keys::generate_file(&loose, "x.test/log").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    for (key_file, expect) in [
        (dir.path().join("nowhere.key"), "no signing key"),
        (loose, "chmod 600"),
    ] {
        let mut cmd = crate::common::process::creditbridge(dir.path());
        cmd.env("CREDITBRIDGE_LEDGER__SIGNING_KEY_FILE", &key_file)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut status = None;
        for _ in 0..300 {
            if let Some(s) = child.try_wait().unwrap() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let Some(status) = status else {
            let _ = child.kill();
            panic!("serve started without a usable signing key ({key_file:?})");
        };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!status.success());
        assert!(stderr.contains("ledger.signing_key_file"), "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
    }
}

/// A database as an earlier version left it: three rows of the old hash chain.
async fn old_chain(db: &Db, break_row_2: bool) {
    use creditbridge::audit::carry_over::chain_hash;
    let bodies = [
        json!({ "event_id": "client-req-1", "recorded_at": "2026-11-01T09:00:00Z", "kind": "score",
                "partner_id": "p-old", "partner_name": "old bank", "subject_key": USCC,
                "subject_masked": "9111************1L", "product": "sme", "score": 640,
                "outcome": "delivered", "reasons": [], "flags": [], "refusal": null }),
        json!({ "event_id": "client-req-1", "recorded_at": "2026-11-01T09:00:01Z", "kind": "score",
                "partner_id": "p-old", "outcome": "refused", "reasons": [], "flags": [],
                "refusal": { "code": "invalid_content",
                             "message": format!("product: unknown product '{RESIDENT}'") } }),
        json!({ "event_id": "model_promotion-01J", "recorded_at": "2026-11-02T09:00:00Z",
                "kind": "model_promotion", "model_id": "sme-1", "outcome": "done",
                "reasons": [], "flags": [], "detail": { "by": "ops", "forced": false } }),
    ];
    let mut prev = "0".repeat(64);
    for (i, body) in bodies.iter().enumerate() {
        let text = body.to_string();
        let hash = chain_hash(&prev, &text);
        let stored = if break_row_2 && i == 1 {
            text.replace("refused", "delivered")
        } else {
            text
        };
        let at: chrono::DateTime<chrono::Utc> =
            body["recorded_at"].as_str().unwrap().parse().unwrap();
        creditbridge::with_db!(db, p => sqlx::query(
            "INSERT INTO audit_log (seq, event_id, recorded_at, kind, partner_id, subject_key, outcome, body, prev_hash, row_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(i as i64 + 1).bind(format!("old-{i}")).bind(at).bind(body["kind"].as_str())
            .bind(body["partner_id"].as_str()).bind(body["subject_key"].as_str())
            .bind(body["outcome"].as_str()).bind(stored).bind(&prev).bind(&hash)
            .execute(p).await.map(|_| ()))
        .unwrap();
        prev = hash;
    }
    exec(
        db,
        &format!("UPDATE audit_chain_head SET last_seq = 3, last_hash = '{prev}' WHERE id = 1"),
    )
    .await;
}

#[tokio::test]
async fn the_old_chain_is_carried_into_the_ledger_in_order_with_no_row_lost() {
    for backend in backends() {
        // Arrange
        let t = crate::common::test_db(backend).await;
        old_chain(&t.db, false).await;

        // Act: the first start carries it over; a second start finds nothing to do.
        let state = crate::common::state_over(&t).await;
        let again = crate::common::state_over(&t).await;

        // Assert
        assert_eq!(state.db.ledger_count().await.unwrap(), 3, "{backend:?}");
        assert_eq!(again.db.ledger_count().await.unwrap(), 3, "carried once");
        let gone = creditbridge::with_db!(&state.db, p => sqlx::query("SELECT 1 FROM audit_log").fetch_all(p).await.map(|r| r.len()));
        assert!(gone.is_err(), "the old table is dropped");
        let entries = audit_entries(&state.db).await;
        let kinds: Vec<_> = entries
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["score.delivered", "score.refused", "model.promoted"]
        );
        assert_eq!(entries[0]["correlation_id"], "old-0");
        assert_eq!(entries[0]["partner_id"], "p-old");
        assert_eq!(entries[0]["subject_last4"], "341L");
        assert_eq!(entries[2]["actor"], "by:ops");
        assert_eq!(entries[1]["refusal"]["message"]["len"], 45);
        for row in state.db.ledger_entries(0, 10).await.unwrap() {
            for clear in [RESIDENT, USCC] {
                assert!(
                    !row.leaf.windows(clear.len()).any(|w| w == clear.as_bytes()),
                    "{backend:?}: {clear} in a carried leaf"
                );
            }
        }
        let mut sequencer = Sequencer::new(
            state.db.clone(),
            state.signer.clone().unwrap(),
            state.clock.clone(),
            SequencerConfig {
                interval: Duration::from_secs(3600),
                checkpoint_every: Duration::ZERO,
                witness_file: None,
            },
        );
        assert_eq!(step_until(&mut sequencer, 3).await.signed, Some(3));
        let verifier = state.signer.as_ref().unwrap().verifier();
        let v = audit::verify(&state.db, &verifier, &[]).await.unwrap();
        assert!(v.ok, "{v:?}");
        assert_eq!((v.verified, v.pending), (3, 0));
        sequencer.release().await;
    }
}

#[tokio::test]
async fn a_broken_old_chain_is_not_carried_over_and_the_start_says_where() {
    for backend in backends() {
        let t = crate::common::test_db(backend).await;
        old_chain(&t.db, true).await;
        let settings = crate::common::test_settings(&t.url, t.dir.path());
        let Err(err) =
            creditbridge::startup::build_state_with(settings, crate::common::test_clock()).await
        else {
            panic!("{backend:?}: started over a broken chain");
        };
        assert!(format!("{err:#}").contains("row 2"), "{err:#}");
        assert_eq!(t.db.ledger_count().await.unwrap(), 0);
    }
}

/// `creditbridge` in `dir` on the PostgreSQL database `url`.
fn on_postgres(dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = crate::common::process::creditbridge(dir);
    cmd.env("CREDITBRIDGE_DATABASE_URL", url)
        .env("CREDITBRIDGE_LEDGER__SEQUENCE_INTERVAL_MS", "100");
    cmd
}

/// Whether the server at `base` is the sequencer, from its metrics.
async fn is_sequencer(base: &str) -> bool {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines().any(|l| l == "creditbridge_ledger_sequencer 1")
}

/// Polls `audit verify` until a checkpoint covers every entry; the printed verification.
async fn verified_all(dir: &std::path::Path, url: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let out = crate::common::process::succeed(on_postgres(dir, url).args(["audit", "verify"]));
        last = serde_json::from_slice(&out.stdout).unwrap();
        if last["pending"] == 0 && last["verified"].as_u64() > Some(0) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint came to cover every entry: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_run_one_sequencer_and_the_other_takes_over_when_it_is_killed() {
    use crate::common::process::{free_port, serve, succeed, wait_ready};
    if !backends().contains(&Backend::Postgres) {
        return; // PostgreSQL only: SQLite has one process.
    }
    // Arrange: two replicas of one database, an admin key, entries through both.
    let t = crate::common::test_db(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let out = succeed(
        on_postgres(dir.path(), &t.url)
            .args(["partners", "add", "--name", "ops", "--role", "admin"]),
    );
    let admin = serde_json::from_slice::<Value>(&out.stdout).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // Ready needs champions, and serve never registers the committed fixtures itself.
    crate::common::process::import_committed_champions_with(|| on_postgres(dir.path(), &t.url));
    let ports = [free_port(), free_port()];
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let mut servers: Vec<Option<crate::common::process::Server>> = Vec::new();
    for (port, base) in ports.iter().zip(&bases) {
        servers.push(Some(serve(on_postgres(dir.path(), &t.url), *port)));
        wait_ready(base).await;
    }
    let client = reqwest::Client::new();
    let read_history = |base: &str| {
        let req = client
            .get(format!("{base}/v1/audit/subjects/{USCC}"))
            .bearer_auth(&admin);
        async move { assert_eq!(req.send().await.unwrap().status(), 200) }
    };
    for i in 0..20 {
        read_history(&bases[i % 2]).await;
    }
    let before = verified_all(dir.path(), &t.url).await;
    let mut holders = Vec::new();
    for base in &bases {
        holders.push(is_sequencer(base).await);
    }
    assert_eq!(
        holders.iter().filter(|h| **h).count(),
        1,
        "exactly one sequencer: {holders:?}"
    );
    let holder = holders.iter().position(|h| *h).unwrap();
    let survivor = 1 - holder;

    // Act: kill -9 the sequencer, keep recording through the survivor.
    let mut killed = servers[holder].take().unwrap();
    killed.0.kill().unwrap();
    killed.0.wait().unwrap();
    for _ in 0..10 {
        read_history(&bases[survivor]).await;
    }

    // Assert: the survivor took over the same tree and signed what came after.
    let after = verified_all(dir.path(), &t.url).await;
    assert!(is_sequencer(&bases[survivor]).await);
    assert_eq!(after["ok"], true);
    assert_eq!(
        after["verified"].as_u64().unwrap(),
        before["verified"].as_u64().unwrap() + 10,
        "{before} then {after}"
    );
    drop(servers);
}
