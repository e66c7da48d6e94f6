//! Reliability of the audit ledger under load: every delivered score has its entry, also when
//! the server is killed with SIGKILL mid-load, and after a restart a signed checkpoint covers it. The request count of the in-process test is
//! `CB_RELIABILITY_REQUESTS` (default 2,000 so CI stays quick; docs/benchmarks.md records a
//! 100,000-request run in release mode).

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::fixtures::{self, USCC};
use crate::common::process::{
    creditbridge, free_port, import_committed_champions, partner_key, serve, succeed, wait_ready,
};
use crate::common::{Backend, TestApp};
use serde_json::{json, Value};

async fn consent(client: &reqwest::Client, base: &str, key: &str) -> String {
    let c: Value = client
        .post(format!("{base}/v1/consents"))
        .bearer_auth(key)
        .json(
            &json!({ "subject": USCC, "purpose": "loan_application", "valid_until": "2027-06-30",
                       "evidence_sha256": "e".repeat(64), "signed_at": "2026-11-01T00:00:00Z" }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c["consent_id"].as_str().expect("consent id").to_owned()
}

/// Fires `n` score requests with `concurrency` in flight; returns the receipts' event ids of the
/// 200s.
async fn load(
    base: &str,
    key: &str,
    consent_id: &str,
    n: usize,
    concurrency: usize,
) -> Vec<String> {
    let client = reqwest::Client::new();
    let body = json!({ "product": "sme", "subject": USCC, "purpose": "loan_application", "consent_id": consent_id });
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, body, base, key, next) = (
            client.clone(),
            body.clone(),
            base.to_owned(),
            key.to_owned(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                let Ok(resp) = client
                    .post(format!("{base}/v1/scores"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                else {
                    break; // the server is gone
                };
                if resp.status() == 200 {
                    if let Ok(v) = resp.json::<Value>().await {
                        ids.push(
                            v["receipt"]["event_id"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        );
                    }
                }
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_concurrent_load_every_response_has_its_entry_and_the_ledger_verifies() {
    let n: usize = std::env::var("CB_RELIABILITY_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.rate_limit_per_minute = 100_000_000).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-load-1", 21).await;
    let bank = app.partner_key("bank").await;
    let c = consent(&app.client, &app.address, &bank).await;
    let ids = load(&app.address, &bank, &c, n, 32).await;
    assert_eq!(ids.len(), n, "every request answered 200");
    let entries = crate::common::audit_entries(&app.state.db).await;
    let scored = entries
        .iter()
        .filter(|e| e["kind"] == "score.delivered")
        .count();
    assert_eq!(scored, n, "one entry per response");
    let distinct: HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), n, "each under its own event id");
    app.sequence().await;
    let v = creditbridge::audit::verify(&app.state.db, &app.verifier(), &[])
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(
        (v.verified as usize, v.pending),
        (entries.len(), 0),
        "the scores and the consent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_load_keeps_every_delivered_score_and_a_checkpoint_covers_it_after_restart(
) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // Arrange: data through the real CLI feed path, a partner key, the committed champions.
    for (kind, csv) in fixtures::subject_feeds() {
        let file = dir.path().join(format!("{kind}.csv"));
        std::fs::write(&file, csv).unwrap();
        succeed(creditbridge(dir.path()).args(["import", kind, file.to_str().unwrap(), "--quiet"]));
    }
    let key = partner_key(dir.path(), "kill test", "bank");
    import_committed_champions(dir.path());

    let mut server = serve(creditbridge(dir.path()), port);
    wait_ready(&base).await;
    let client = reqwest::Client::new();
    let c = consent(&client, &base, &key).await;

    // Act: load, and SIGKILL the server while requests are in flight.
    let loader = {
        let (base, key, c) = (base.clone(), key.clone(), c.clone());
        tokio::spawn(async move { load(&base, &key, &c, 1_000_000, 16).await })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.0.kill().unwrap(); // SIGKILL on Unix
    server.0.wait().unwrap();
    let delivered = loader.await.unwrap();
    assert!(
        !delivered.is_empty(),
        "some scores were delivered before the kill"
    );

    // Assert: after a restart the restarted sequencer signs a checkpoint covering every entry
    // (polled: it runs on its own schedule), the ledger verifies, and it holds every delivered
    // score below that checkpoint's size.
    let _restarted = serve(creditbridge(dir.path()), port);
    wait_ready(&base).await;
    let mut verified = Value::Null;
    for _ in 0..100 {
        let out = creditbridge(dir.path())
            .args(["audit", "verify"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        verified = serde_json::from_slice(&out.stdout).unwrap();
        if verified["pending"] == 0 && verified["verified"].as_u64() > Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(verified["pending"], 0, "{verified}");
    let covered = verified["checkpoint_size"].as_i64().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("data/creditbridge.db").display()
    );
    let db = creditbridge::storage::Db::connect(&url, 1).await.unwrap();
    let mut recorded = HashSet::new();
    let mut after = 0;
    loop {
        let rows = db.ledger_entries(after, 10_000).await.unwrap();
        let Some(last) = rows.last() else { break };
        after = last.entry_no;
        recorded.extend(
            rows.into_iter()
                .filter(|r| r.leaf_index.is_some_and(|i| i < covered))
                .map(|r| r.event_id),
        );
    }
    let missing: Vec<_> = delivered
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} delivered scores have no entry covered by the checkpoint",
        missing.len(),
        delivered.len()
    );
}

/// Issue 18: the real binary on SIGTERM turns readiness off while it still listens, then exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_readiness_off_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    import_committed_champions(dir.path());
    let mut delayed = creditbridge(dir.path());
    delayed.env("CREDITBRIDGE_SHUTDOWN_DELAY_MS", "3000");
    let mut server = serve(delayed, port);
    wait_ready(&base).await;
    let pid = server.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    // Until the listener closes, /readyz answers; it must answer 503.
    let mut seen = Vec::new();
    for _ in 0..200 {
        match reqwest::get(format!("{base}/readyz")).await {
            Ok(r) => seen.push(r.status().as_u16()),
            Err(_) => break, // the listener has closed
        }
        if seen.last() == Some(&503) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen.last(), Some(&503), "{seen:?}");
    let status = tokio::task::spawn_blocking(move || server.0.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}
