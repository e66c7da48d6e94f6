//! The audit trail is tamper-evident: rows changed, deleted, reordered or cut off the end in the
//! database itself are caught by `audit::verify`, `GET /v1/audit/verify` and
//! `creditbridge audit verify`; concurrent records share group commits and still form one chain;
//! an admin can read who queried a subject.

use std::process::Command;

use crate::common::fixtures::{self, RESIDENT, USCC};
use crate::common::{backends, Backend, TestApp, TEST_PII_KEY};
use creditbridge::audit::{self, AuditEvent, Verification};
use creditbridge::storage::Db;
use serde_json::{json, Value};

const ROWS: i64 = 5;

async fn exec(db: &Db, sql: &str) {
    let affected = creditbridge::with_db!(db, p => sqlx::query(sql)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(affected, 1, "{sql} should touch one row");
}

async fn count_rows(db: &Db) -> i64 {
    creditbridge::with_db!(db, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log")
        .fetch_one(p)
        .await)
    .unwrap()
}

/// An app whose trail holds `ROWS` score events (seq 1..=5, scores 601..=605), and an admin key.
async fn app_with_trail(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn(backend).await;
    let admin = app.partner_key("admin").await;
    for i in 1..=ROWS {
        let mut event = AuditEvent::new(
            format!("tamper-test-{i}"),
            "score",
            crate::common::test_now(),
        );
        event.partner_id = Some("partner-x".into());
        event.subject_key = Some(USCC.into());
        event.outcome = "delivered".into();
        event.score = Some(600 + i as i32);
        event.grade = Some("B".into());
        let seq = app.state.audit.record(event).await.unwrap();
        assert_eq!(seq, i);
    }
    (app, admin)
}

async fn http_verify(app: &TestApp, admin: &str) -> Value {
    let resp = app
        .client
        .get(app.url("/v1/audit/verify"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn cli_verify(url: &str) -> std::process::Output {
    // A directory of its own: no creditbridge.toml, no models/ to bootstrap from.
    let cwd = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_creditbridge"))
        .args(["audit", "verify", "--database-url", url])
        .env("CREDITBRIDGE_PII_KEY", TEST_PII_KEY)
        .current_dir(cwd.path())
        .output()
        .unwrap()
}

/// Each tampering, as SQL both dialects accept, and the row `verify` must name first.
const TAMPERINGS: &[(&str, &[&str], i64)] = &[
    (
        "a row's score changed in its body",
        &["UPDATE audit_log SET body = replace(body, '\"score\":603', '\"score\":703') WHERE seq = 3"],
        3,
    ),
    (
        "a row's indexed outcome column changed",
        &["UPDATE audit_log SET outcome = 'refused' WHERE seq = 3"],
        3,
    ),
    (
        "a middle row deleted",
        &["DELETE FROM audit_log WHERE seq = 3"],
        3,
    ),
    (
        "the first row deleted",
        &["DELETE FROM audit_log WHERE seq = 1"],
        1,
    ),
    (
        "two rows swapped in order",
        &[
            "UPDATE audit_log SET seq = -2 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = -2",
        ],
        2,
    ),
    (
        "the last row deleted",
        &["DELETE FROM audit_log WHERE seq = 5"],
        5,
    ),
];

#[tokio::test]
async fn an_untouched_trail_verifies_everywhere() {
    for backend in backends() {
        // Arrange
        let (app, admin) = app_with_trail(backend).await;

        // Act
        let v = audit::verify(&app.state.db).await.unwrap();
        let over_http = http_verify(&app, &admin).await;

        // Assert
        assert_eq!(
            v,
            Verification {
                ok: true,
                rows_checked: ROWS,
                first_problem: None
            }
        );
        assert_eq!(over_http, serde_json::to_value(&v).unwrap());
        if backend == Backend::Sqlite {
            let out = cli_verify(&app.test_db.url);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(printed["ok"], true);
            assert_eq!(printed["rows_checked"], ROWS);
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn every_tampering_is_caught_at_the_first_broken_row() {
    for backend in backends() {
        for (what, statements, first_bad) in TAMPERINGS {
            // Arrange
            let (app, admin) = app_with_trail(backend).await;
            assert!(audit::verify(&app.state.db).await.unwrap().ok);

            // Act
            for sql in *statements {
                exec(&app.state.db, sql).await;
            }
            let v = audit::verify(&app.state.db).await.unwrap();
            let over_http = http_verify(&app, &admin).await;

            // Assert
            assert!(!v.ok, "{backend:?}, {what}: {v:?}");
            let problem = v.first_problem.as_ref().unwrap();
            assert_eq!(problem.seq, *first_bad, "{backend:?}, {what}: {v:?}");
            assert_eq!(v.rows_checked, first_bad - 1, "{backend:?}, {what}: {v:?}");
            assert_eq!(
                over_http,
                serde_json::to_value(&v).unwrap(),
                "{backend:?}, {what}"
            );
            if backend == Backend::Sqlite {
                let out = cli_verify(&app.test_db.url);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(!out.status.success(), "{what}: the CLI exited 0");
                let lines: Vec<_> = stderr.trim().lines().collect();
                assert_eq!(lines.len(), 1, "{what}: {stderr}");
                assert!(
                    lines[0].contains(&format!("row {first_bad}"))
                        && lines[0].contains(&problem.reason),
                    "{what}: {stderr}"
                );
            }
            app.stop().await;
        }
    }
}

#[tokio::test]
async fn a_changed_row_with_its_own_hash_recomputed_breaks_the_next_link() {
    for backend in backends() {
        // Arrange
        let (app, admin) = app_with_trail(backend).await;
        let row = app.state.db.audit_rows(1, 1).await.unwrap().remove(0);
        assert_eq!(row.seq, 2);
        let body = row.body.replace("\"score\":602", "\"score\":702");
        assert_ne!(body, row.body);
        let row_hash = audit::chain_hash(&row.prev_hash, &body);

        // Act: the tamperer knows the hash function and fixes row 2 itself up.
        exec(
            &app.state.db,
            &format!("UPDATE audit_log SET body = '{body}', row_hash = '{row_hash}' WHERE seq = 2"),
        )
        .await;
        let v = audit::verify(&app.state.db).await.unwrap();

        // Assert: row 2 is consistent in itself, but row 3 no longer links to it.
        assert!(!v.ok, "{backend:?}");
        assert_eq!(
            v.first_problem.as_ref().unwrap().seq,
            3,
            "{backend:?}: {v:?}"
        );
        assert_eq!(
            http_verify(&app, &admin).await,
            serde_json::to_value(&v).unwrap()
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_records_share_group_commits_and_form_one_chain() {
    for backend in backends() {
        // Arrange
        let app = TestApp::spawn(backend).await;

        // Act
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let writer = app.state.audit.clone();
                tokio::spawn(async move {
                    writer
                        .record(AuditEvent::new(
                            format!("concurrent-{i}"),
                            "score",
                            crate::common::test_now(),
                        ))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap());
        }

        // Assert
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=200).collect::<Vec<i64>>(), "{backend:?}");
        assert_eq!(count_rows(&app.state.db).await, 200, "{backend:?}");
        assert_eq!(
            audit::verify(&app.state.db).await.unwrap(),
            Verification {
                ok: true,
                rows_checked: 200,
                first_problem: None
            },
            "{backend:?}"
        );
        assert_eq!(app.state.audit.queue_depth(), 0);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_admin_reads_who_queried_a_subject_without_its_lookup_key() {
    for backend in backends() {
        // Arrange: a delivered and a refused query about the household, one about the enterprise.
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        fixtures::install_champion(&app.state, "farmer", "farmer-history-1", 2).await;
        let bank = app.partner_key("bank").await;
        let admin = app.partner_key("admin").await;
        let (status, consent) = app.post(&bank,
            "/v1/consents",
            json!({
                "subject": RESIDENT, "purpose": "loan_application", "valid_until": "2027-06-30",
                "evidence_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "signed_at": "2026-11-01T09:00:00Z"
            }),
        )
        .await;
        assert_eq!(status, 201, "{consent}");
        let score = |consent_id: &str, subject: &str, product: &str| {
            json!({ "product": product, "subject": subject, "purpose": "loan_application",
                    "consent_id": consent_id })
        };
        let consent_id = consent["consent_id"].as_str().unwrap();
        let (status, delivered) = app
            .post(&bank, "/v1/scores", score(consent_id, RESIDENT, "farmer"))
            .await;
        assert_eq!(status, 200, "{delivered}");
        let (status, _) = app
            .post(
                &bank,
                "/v1/scores",
                score("01J00000000000000000000000", RESIDENT, "farmer"),
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .post(
                &bank,
                "/v1/scores",
                score("01J00000000000000000000000", USCC, "sme"),
            )
            .await;
        assert_eq!(status, 403);
        let subject_key = creditbridge::domain::SubjectId::parse(RESIDENT).unwrap();
        let subject_key = app.state.pii.subject_ref(&subject_key).key;

        // Act
        let resp = app
            .get(&admin, &format!("/v1/audit/subjects/{RESIDENT}"))
            .await;

        // Assert
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        assert!(!text.contains(&subject_key), "{backend:?}: {text}");
        assert!(!text.contains(RESIDENT), "{backend:?}: {text}");
        let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
        // The consent's registration is part of the subject's history too (issue 17), oldest.
        assert_eq!(entries.len(), 3, "{backend:?}: {text}");
        assert_eq!(entries[2]["event"]["kind"], "consent", "{text}");
        assert_eq!(
            entries[2]["event"]["detail"]["action"], "registered",
            "{text}"
        );
        assert!(
            entries[0]["seq"].as_i64() > entries[1]["seq"].as_i64(),
            "newest first"
        );
        let (refused, delivered_entry) = (&entries[0]["event"], &entries[1]["event"]);
        assert_eq!(delivered_entry["outcome"], "delivered");
        assert_eq!(delivered_entry["event_id"], delivered["request_id"]);
        assert_eq!(delivered_entry["score"], delivered["score"]);
        assert_eq!(refused["outcome"], "refused");
        for e in [refused, delivered_entry] {
            assert!(e.get("subject_key").is_none(), "{e}");
            assert_eq!(e["subject_masked"], delivered["subject"]);
            assert_eq!(e["purpose"], "loan_application");
            assert!(e["partner_id"].as_str().is_some_and(|p| !p.is_empty()));
        }
        app.stop().await;
    }
}
