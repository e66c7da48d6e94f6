//! A consent's whole life (issue 17): registered by a lender, revoked by that lender, withdrawn by
//! the subject (recorded by an admin, with the evidence's digest), expired; a subject's consents
//! listed for admins; every step in the audit trail, at the application's clock; the same from
//! the command line.

use chrono::Duration;
use serde_json::{json, Value};

use crate::common::fixtures::{self, RESIDENT, USCC};
use crate::common::process::{creditbridge, succeed};
use crate::common::{backends, test_now, Backend, TestApp, EVIDENCE};

const WITHDRAWAL: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

async fn ready_app(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-test-1", 1).await;
    app
}

fn score_body(consent_id: &str) -> Value {
    json!({ "product": "sme", "subject": USCC, "purpose": "loan_application", "consent_id": consent_id })
}

/// The bodies of the audit trail's `consent` records, in order.
async fn consent_records(app: &TestApp) -> Vec<Value> {
    crate::common::audit_entries(&app.state.db)
        .await
        .into_iter()
        .filter(|e| {
            e["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("consent."))
        })
        .collect()
}

#[tokio::test]
async fn a_withdrawal_refuses_the_next_score_with_its_own_reason() {
    for backend in backends() {
        // Arrange: a consent in use.
        let app = ready_app(backend).await;
        let admin = app.partner_key("admin").await;
        let bank = app.partner_key("bank").await;
        let consent = app.consent(&bank, USCC, "loan_application").await;
        assert_eq!(
            app.post(&bank, "/v1/scores", score_body(&consent)).await.0,
            200
        );

        // Act: the subject's written withdrawal reaches the operator, who records it.
        let path = format!("/v1/consents/{consent}/withdraw");
        let (status, withdrawn) = app
            .post(
                &admin,
                &path,
                json!({ "evidence_sha256": WITHDRAWAL.to_uppercase() }),
            )
            .await;

        // Assert
        assert_eq!(status, 200, "{withdrawn}");
        assert_eq!(withdrawn["status"], "withdrawn");
        assert_eq!(withdrawn["withdrawal_evidence_sha256"], WITHDRAWAL);
        assert_eq!(
            withdrawn["withdrawn_at"]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap(),
            test_now()
        );
        let (status, answer) = app.post(&bank, "/v1/scores", score_body(&consent)).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["error"]["code"], "consent_withdrawn");

        // Recording it twice is a conflict; a bank cannot record one; the evidence must be a
        // digest; an unknown consent is 404.
        assert_eq!(
            app.post(&admin, &path, json!({ "evidence_sha256": WITHDRAWAL }))
                .await
                .0,
            409
        );
        assert_eq!(
            app.post(&bank, &path, json!({ "evidence_sha256": WITHDRAWAL }))
                .await
                .0,
            403
        );
        let other = app.consent(&bank, USCC, "post_loan").await;
        let (status, answer) = app
            .post(
                &admin,
                &format!("/v1/consents/{other}/withdraw"),
                json!({ "evidence_sha256": "abc" }),
            )
            .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["details"]["field"], "evidence_sha256");
        let (status, _) = app
            .post(
                &admin,
                "/v1/consents/c_nope/withdraw",
                json!({ "evidence_sha256": WITHDRAWAL }),
            )
            .await;
        assert_eq!(status, 404);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_subjects_consents_are_listed_for_admins_with_where_each_stands() {
    for backend in backends() {
        // Arrange: four consents for one household head, one in each state.
        let app = TestApp::spawn(backend).await;
        let admin = app.partner_key("admin").await;
        let bank = app.partner_key("bank").await;
        let insurer = app.partner_key("insurer").await;
        let active = app.consent(&bank, RESIDENT, "loan_application").await;
        let revoked = app.consent(&bank, RESIDENT, "post_loan").await;
        let withdrawn = app.consent(&insurer, RESIDENT, "underwriting").await;
        let short = json!({
            "subject": RESIDENT, "purpose": "loan_application", "valid_until": "2026-12-01",
            "evidence_sha256": EVIDENCE, "signed_at": "2026-11-01T09:00:00Z"
        });
        let (status, expiring) = app.post(&bank, "/v1/consents", short).await;
        assert_eq!(status, 201, "{expiring}");
        let expiring = expiring["consent_id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.post(&bank, &format!("/v1/consents/{revoked}/revoke"), json!({}))
                .await
                .0,
            200
        );
        let path = format!("/v1/consents/{withdrawn}/withdraw");
        assert_eq!(
            app.post(&admin, &path, json!({ "evidence_sha256": WITHDRAWAL }))
                .await
                .0,
            200
        );
        app.clock.advance(Duration::days(10));

        // Act
        let resp = app
            .get(&admin, &format!("/v1/consents/subjects/{RESIDENT}"))
            .await;

        // Assert
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains(RESIDENT),
            "the identity number is never echoed"
        );
        let listed: Vec<Value> = serde_json::from_str(&text).unwrap();
        let status_of = |id: &str| {
            listed.iter().find(|c| c["consent_id"] == id).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(listed.len(), 4, "{text}");
        assert_eq!(status_of(&active), "active");
        assert_eq!(status_of(&revoked), "revoked");
        assert_eq!(status_of(&withdrawn), "withdrawn");
        assert_eq!(status_of(&expiring), "expired");
        assert!(listed.iter().all(|c| {
            c["subject"].as_str().unwrap().ends_with("002X") && c.get("subject_key").is_none()
        }));

        // Banks may not list; a bad identity number is 422 without echoing it.
        assert_eq!(
            app.get(&bank, &format!("/v1/consents/subjects/{RESIDENT}"))
                .await
                .status(),
            403
        );
        let bad = app
            .get(&admin, "/v1/consents/subjects/110105194912310021")
            .await;
        assert_eq!(bad.status(), 422);
        assert!(!bad.text().await.unwrap().contains("110105194912310021"));
        app.stop().await;
    }
}

#[tokio::test]
async fn every_step_is_in_the_audit_trail_at_the_applications_clock() {
    for backend in backends() {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.partner("admin").await;
        let bank = app.partner("bank").await;

        // Act: registered, an hour later revoked; another registered and withdrawn.
        let first = app.consent(&bank.key, RESIDENT, "loan_application").await;
        app.clock.advance(Duration::hours(1));
        app.post(
            &bank.key,
            &format!("/v1/consents/{first}/revoke"),
            json!({}),
        )
        .await;
        let second = app.consent(&bank.key, RESIDENT, "post_loan").await;
        let path = format!("/v1/consents/{second}/withdraw");
        app.post(&admin.key, &path, json!({ "evidence_sha256": WITHDRAWAL }))
            .await;

        // Assert: the records, each with its actor, the subject only as keyed hash and mask.
        let records = consent_records(&app).await;
        let steps: Vec<(&str, &str, &str)> = records
            .iter()
            .map(|r| {
                (
                    r["consent"]["id"].as_str().unwrap(),
                    r["kind"].as_str().unwrap(),
                    r["actor"].as_str().unwrap(),
                )
            })
            .collect();
        let (by_bank, by_admin) = (
            format!("partner:{}", bank.id),
            format!("partner:{}", admin.id),
        );
        assert_eq!(
            steps,
            [
                (first.as_str(), "consent.registered", by_bank.as_str()),
                (first.as_str(), "consent.revoked", by_bank.as_str()),
                (second.as_str(), "consent.registered", by_bank.as_str()),
                (second.as_str(), "consent.withdrawn", by_admin.as_str()),
            ]
        );
        assert_eq!(records[3]["withdrawal_evidence_sha256"], WITHDRAWAL);
        assert!(records
            .iter()
            .all(|r| r["consent_partner_id"] == bank.id.as_str()));
        let later = test_now() + Duration::hours(1);
        let at = |r: &Value| {
            r["recorded_at"]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
        };
        assert_eq!(at(&records[0]), test_now());
        assert!(records[1..].iter().all(|r| at(r) == later));
        assert!(records.iter().all(|r| !r.to_string().contains(RESIDENT)));

        // The stored times are the clock's too, not the wall clock's.
        let first = app.state.db.consent(&first).await.unwrap();
        assert_eq!(
            (first.created_at, first.revoked_at),
            (test_now(), Some(later))
        );
        let partner = app.state.db.partner(&bank.id).await.unwrap();
        assert_eq!(partner.created_at, test_now());
        assert!(app.ledger_verifies().await);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_command_line_registers_lists_revokes_and_withdraws() {
    // Arrange: the real binary on its own data directory.
    let dir = tempfile::tempdir().unwrap();
    let add = succeed(
        creditbridge(dir.path()).args(["partners", "add", "--name", "bank", "--role", "bank"]),
    );
    let bank: Value = serde_json::from_slice(&add.stdout).unwrap();
    let bank_id = bank["id"].as_str().unwrap();
    let register = |purpose: &str| {
        let out = succeed(creditbridge(dir.path()).args([
            "consents",
            "register",
            "--partner",
            bank_id,
            "--subject",
            RESIDENT,
            "--purpose",
            purpose,
            "--valid-until",
            "2027-06-30",
            "--evidence-sha256",
            EVIDENCE,
            "--signed-at",
            "2026-11-01T09:00:00Z",
        ]));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains(RESIDENT));
        serde_json::from_str::<Value>(&text).unwrap()["consent_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // Act
    let loan = register("loan_application");
    let review = register("post_loan");
    succeed(creditbridge(dir.path()).args(["consents", "revoke", &loan]));
    succeed(creditbridge(dir.path()).args([
        "consents",
        "withdraw",
        &review,
        "--evidence-sha256",
        WITHDRAWAL,
    ]));
    let out = succeed(creditbridge(dir.path()).args(["consents", "list", "--subject", RESIDENT]));

    // Assert: each process's clock starts at TEST_NOW afresh, so the steps' times are checked,
    // not the status as of a later process's "now".
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(RESIDENT), "{text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    let consents = listed["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 2);
    let find = |id: &str| consents.iter().find(|c| c["id"] == id).unwrap();
    assert!(find(&loan)["revoked_at"].is_string() && find(&loan)["withdrawn_at"].is_null());
    assert!(find(&review)["withdrawn_at"].is_string());
    assert_eq!(find(&review)["withdrawal_evidence_sha256"], WITHDRAWAL);

    // A second withdrawal fails with a one-line error.
    let again = creditbridge(dir.path())
        .args([
            "consents",
            "withdraw",
            &review,
            "--evidence-sha256",
            WITHDRAWAL,
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already withdrawn"));

    // Keys from the command line: a rotation prints the new key once; the old key is listed
    // with its retirement.
    let rotated = succeed(creditbridge(dir.path()).args([
        "partners",
        "rotate-key",
        bank_id,
        "--overlap",
        "2h",
    ]));
    let rotated: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert!(rotated["key"].as_str().unwrap().starts_with("cbk_"));
    let keys = succeed(creditbridge(dir.path()).args(["partners", "keys", bank_id]));
    let keys: Value = serde_json::from_slice(&keys.stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    let old_key = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == bank["key_id"])
        .unwrap();
    assert!(old_key["retire_at"].is_string());
    succeed(creditbridge(dir.path()).args([
        "partners",
        "revoke-key",
        rotated["key_id"].as_str().unwrap(),
    ]));
    let bad = creditbridge(dir.path())
        .args(["partners", "rotate-key", bank_id, "--overlap", "1y"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("overlap"));
}
