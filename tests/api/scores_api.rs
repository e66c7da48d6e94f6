//! End to end over HTTP: consents, scores with reasons and flags, every refusal, the batch,
//! and the audit trail each of them leaves.

use crate::common::fixtures::{self, RESIDENT, RESIDENT_OTHER, USCC, USCC_UNKNOWN};
use crate::common::{backends, score_body, Backend, TestApp, EVIDENCE};
use serde_json::{json, Value};

async fn ready_app(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-test-1", 1).await;
    fixtures::install_champion(&app.state, "farmer", "farmer-test-1", 2).await;
    app
}

#[tokio::test]
async fn a_bank_scores_an_enterprise_with_reasons_flags_and_an_audit_record() {
    for backend in backends() {
        let app = ready_app(backend).await;
        let bank = app.partner_key("bank").await;
        let c = app.consent(&bank, USCC, "loan_application").await;
        let (status, s) = app
            .score(&bank, score_body("sme", USCC, "loan_application", &c))
            .await;
        assert_eq!(status, 200, "{backend:?} {s}");
        assert_eq!(s["product"], "sme");
        assert_eq!(s["subject"], "9111************1L");
        assert!(
            s["score"].as_i64().unwrap() > 300 && s["score"].as_i64().unwrap() < 900,
            "{s}"
        );
        assert!(s["pd"].as_f64().unwrap() > 0.0 && s["pd"].as_f64().unwrap() < 1.0);
        assert!(!s["grade"].as_str().unwrap().is_empty());
        let reasons = s["reasons"].as_array().unwrap();
        assert!(!reasons.is_empty() && reasons.len() <= 4, "{s}");
        let late = reasons
            .iter()
            .find(|r| r["characteristic"] == "late_filing_months_24m")
            .expect("late filings cost points");
        assert_eq!(late["code"], "SME-TAX-03");
        assert_eq!(late["text_zh"], "近24个月存在逾期申报");
        assert!(late["points_lost"].as_i64().unwrap() > 0);
        assert_eq!(s["flags"], json!(["dishonest_debtor_active"]));
        assert_eq!(s["model"]["id"], "sme-test-1");
        assert_eq!(s["data_as_of"]["tax_grade_year"], 2025);
        assert!(s["request_id"].as_str().unwrap().len() >= 26);

        let rows: Vec<Value> = crate::common::audit_entries(&app.state.db)
            .await
            .into_iter()
            .filter(|e| e["kind"] != "consent.registered")
            .collect();
        assert_eq!(rows.len(), 1);
        let event = &rows[0];
        assert_eq!(event["kind"], "score.delivered");
        assert_eq!(event["outcome"], "delivered");
        assert_eq!(event["score"], s["score"]);
        assert_eq!(event["consent"]["id"], c);
        assert_eq!(event["consent"]["evidence_sha256"], EVIDENCE);
        assert_eq!(event["model_id"], "sme-test-1");
        assert_eq!(event["event_id"], s["receipt"]["event_id"]);
        assert_ne!(
            event["event_id"], s["request_id"],
            "a server id, not the client's"
        );
        assert_eq!(event["correlation_id"], s["request_id"]);
        assert_eq!(event["subject_last4"], "341L");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_insurer_scores_a_household_and_the_identity_number_is_never_stored() {
    let app = ready_app(Backend::Sqlite).await;
    let insurer = app.partner_key("insurer").await;
    let c = app.consent(&insurer, RESIDENT, "underwriting").await;
    let (status, s) = app
        .score(&insurer, score_body("farmer", RESIDENT, "underwriting", &c))
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        s["subject"], "**************002X",
        "only the last 4 characters are shown"
    );
    assert_eq!(s["data_as_of"]["assessment_year"], 2026);
    assert_eq!(s["flags"], json!([]));
    app.state.db.close().await;
    // Every file of the database (main, WAL) is searched for the clear number.
    for entry in std::fs::read_dir(app.test_db.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(RESIDENT.len())
                    .any(|w| w == RESIDENT.as_bytes()),
                "clear id in {}",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn every_refusal_has_its_status_and_code_and_is_audited() {
    let app = ready_app(Backend::Sqlite).await;
    let bank = app.partner_key("bank").await;
    let other_bank = app.partner_key("bank").await;
    let insurer = app.partner_key("insurer").await;
    let c = app.consent(&bank, USCC, "loan_application").await;
    let others = app.consent(&other_bank, USCC, "loan_application").await;
    let revoked = app.consent(&bank, USCC, "post_loan").await;
    let (status, _) = app.revoke_consent(&bank, &revoked).await;
    assert_eq!(status, 200);
    let unknown_subject = app.consent(&bank, USCC_UNKNOWN, "loan_application").await;
    // An expired consent cannot be registered through the API, so it is planted.
    let (partner, _) = app.state.db.partner_by_key(&bank).await.unwrap().unwrap();
    let subject = app.state.pii.subject_ref(
        &creditbridge::domain::SubjectId::parse(USCC, crate::common::test_today()).unwrap(),
    );
    let expired = app
        .state
        .db
        .add_consent(&creditbridge::storage::consents::NewConsent {
            partner_id: &partner.id,
            subject_type: subject.subject_type,
            subject_key: &subject.key,
            subject_masked: &subject.masked,
            purpose: creditbridge::domain::Purpose::LoanApplication,
            valid_until: "2020-01-01".parse().unwrap(),
            evidence_sha256: EVIDENCE,
            signed_at: "2019-06-01T00:00:00Z".parse().unwrap(),
            created_at: crate::common::test_now(),
        })
        .await
        .unwrap();

    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "no consent",
            &bank,
            score_body("sme", USCC, "loan_application", "c_nope"),
            403,
            "no_consent",
        ),
        (
            "expired",
            &bank,
            score_body("sme", USCC, "loan_application", &expired),
            403,
            "consent_expired",
        ),
        (
            "revoked",
            &bank,
            score_body("sme", USCC, "post_loan", &revoked),
            403,
            "consent_revoked",
        ),
        (
            "other partner's",
            &bank,
            score_body("sme", USCC, "loan_application", &others),
            403,
            "no_consent",
        ),
        (
            "purpose differs",
            &bank,
            score_body("sme", USCC, "post_loan", &c),
            403,
            "consent_purpose_mismatch",
        ),
        (
            "wrong purpose for role",
            &insurer,
            score_body("sme", USCC, "loan_application", &c),
            403,
            "purpose_not_allowed",
        ),
        (
            "unknown subject",
            &bank,
            score_body("sme", USCC_UNKNOWN, "loan_application", &unknown_subject),
            404,
            "not_found",
        ),
        (
            "malformed id",
            &bank,
            score_body("sme", "91110000600037341X", "loan_application", &c),
            422,
            "invalid_content",
        ),
        (
            "id of the wrong kind",
            &bank,
            score_body("sme", RESIDENT, "loan_application", &c),
            422,
            "invalid_content",
        ),
        (
            "unknown product",
            &bank,
            score_body("car", USCC, "loan_application", &c),
            422,
            "invalid_content",
        ),
    ];
    for (name, key, body, status, code) in &cases {
        let (got, err) = app.score(key, body.clone()).await;
        assert_eq!(
            (got, err["error"]["code"].as_str().unwrap_or("")),
            (*status, *code),
            "{name}: {err}"
        );
    }
    // Refused before the body could be read as a request: still audited, under the caller.
    let mut unknown_field = score_body("sme", USCC, "loan_application", &c);
    unknown_field["limit"] = json!(100);
    let (got, err) = app.score(&bank, unknown_field).await;
    assert_eq!(got, 422, "unknown fields are refused: {err}");
    // A number where the subject's text belongs (serde's message quotes it), then bad JSON.
    for (body, status) in [
        (r#"{"product": "sme", "subject": 914408000000000007}"#, 422),
        (r#"{"product": "sme",, }"#, 400),
    ] {
        let resp = app.post_raw(&bank, "/v1/scores", body).await;
        assert_eq!(resp.status(), status, "{body}");
    }
    let bureau = app.partner_key("tax_bureau").await;
    let (got, err) = app.score(&bureau, json!({ "not": "read" })).await;
    assert_eq!(
        (got, err["error"]["code"].as_str().unwrap_or("")),
        (403, "role_not_allowed"),
        "{err}"
    );

    let refused: Vec<Value> = crate::common::audit_entries(&app.state.db)
        .await
        .into_iter()
        .filter(|e| e["kind"] != "consent.registered" && e["kind"] != "consent.revoked")
        .collect();
    assert_eq!(refused.len(), cases.len() + 4, "every refusal is audited");
    assert!(refused
        .iter()
        .all(|e| e["outcome"] == "refused" && e["refusal"]["code"].is_string()));
    let bureau_id = app
        .state
        .db
        .partner_by_key(&bureau)
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let unread: Vec<(&str, &str, Value)> = refused[cases.len()..]
        .iter()
        .map(|e| {
            (
                e["partner_id"].as_str().unwrap(),
                e["refusal"]["code"].as_str().unwrap(),
                e["refusal"]["message"].clone(),
            )
        })
        .collect();
    // The body refusals keep a fixed text (serde's own may quote the body), and every text is
    // kept only as its digest and length.
    let digest = creditbridge::audit::digest_of;
    assert_eq!(
        unread,
        vec![
            (
                partner.id.as_str(),
                "invalid_body",
                digest("the body is not a valid request")
            ),
            (
                partner.id.as_str(),
                "invalid_body",
                digest("the body is not a valid request")
            ),
            (
                partner.id.as_str(),
                "malformed_json",
                digest("the body is not a valid request")
            ),
            (
                bureau_id.as_str(),
                "role_not_allowed",
                digest("role tax_bureau may not use this endpoint")
            ),
        ]
    );
    assert!(refused[cases.len()..]
        .iter()
        .all(|e| e["subject_last4"].is_null() && e["product"].is_null()));
    assert!(!refused
        .iter()
        .any(|e| e.to_string().contains("914408000000000007")));
    app.sequence().await;
    let v = creditbridge::audit::verify(&app.state.db, &app.verifier(), &[])
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
}

#[tokio::test]
async fn keys_are_checked_before_anything_else() {
    let app = ready_app(Backend::Sqlite).await;
    let body = score_body("sme", USCC, "loan_application", "c_x");
    let resp = app
        .client
        .post(app.url("/v1/scores"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (status, err) = app.score("cbk_not_a_key", body.clone()).await;
    assert_eq!(
        (status, err["error"]["code"].as_str().unwrap()),
        (401, "unauthorized")
    );
    let bank = app
        .state
        .db
        .add_partner(
            "old bank",
            "bank".parse().unwrap(),
            crate::common::test_now(),
        )
        .await
        .unwrap();
    app.state
        .db
        .revoke_partner(&bank.id, crate::common::test_now())
        .await
        .unwrap();
    let (status, err) = app.score(&bank.key, body).await;
    assert_eq!(status, 401);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("revoked"));
}

#[tokio::test]
async fn a_batch_answers_each_item_in_order_and_audits_each() {
    let app = ready_app(Backend::Sqlite).await;
    let bank = app.partner_key("bank").await;
    let c = app.consent(&bank, USCC, "loan_application").await;
    let mut items: Vec<Value> = (0..5)
        .map(|_| score_body("sme", USCC, "loan_application", &c))
        .collect();
    items.insert(2, score_body("sme", USCC, "loan_application", "c_missing"));
    let (status, body) = app
        .post(&bank, "/v1/scores/batch", json!({ "requests": items }))
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(results[2]["error"]["code"], "no_consent");
    assert_eq!(results[2]["error"]["status"], 403);
    for (i, r) in results.iter().enumerate().filter(|(i, _)| *i != 2) {
        assert!(r["score"].is_i64(), "item {i}: {r}");
    }
    let entries = crate::common::audit_entries(&app.state.db).await;
    let scored: Vec<_> = entries
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("score."))
        .collect();
    assert_eq!(scored.len(), 6);
    // Each item carries the receipt of its own entry.
    for r in results.iter().filter(|r| r["score"].is_i64()) {
        assert!(
            scored
                .iter()
                .any(|e| e["event_id"] == r["receipt"]["event_id"]),
            "{r}"
        );
    }

    let too_many: Vec<Value> = (0..1001)
        .map(|_| score_body("sme", USCC, "loan_application", &c))
        .collect();
    let (status, _) = app
        .post(&bank, "/v1/scores/batch", json!({ "requests": too_many }))
        .await;
    assert_eq!(status, 413);
    let (status, _) = app
        .post(&bank, "/v1/scores/batch", json!({ "requests": [] }))
        .await;
    assert_eq!(status, 422);
    // Each refused batch is one record under the batch's request id.
    let codes: Vec<Value> = crate::common::audit_entries(&app.state.db)
        .await
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("score."))
        .skip(6)
        .map(|e| e["refusal"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec![json!("payload_too_large"), json!("invalid_content")]
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.rate_limit_per_minute = 2).await;
    let bank = app.partner_key("bank").await;
    let body = score_body("sme", USCC, "loan_application", "c_x");
    for _ in 0..2 {
        let (status, _) = app.score(&bank, body.clone()).await;
        assert_ne!(status, 429);
    }
    let resp = app
        .client
        .post(app.url("/v1/scores"))
        .bearer_auth(&bank)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
    let _ = RESIDENT_OTHER;
}

#[tokio::test]
async fn a_pilot_credit_code_is_accepted_with_a_warning() {
    // Arrange: a second enterprise, fed like the first, under a code that fails its check
    // character yet is legal (an early pilot code, domain.md §5).
    let app = ready_app(Backend::Sqlite).await;
    for (kind, csv) in fixtures::subject_feeds() {
        if ["enterprises", "tax-grades", "tax-payments"].contains(&kind) {
            fixtures::feed_named(&app.state, kind, &csv.replace(USCC, USCC_UNKNOWN)).await;
        }
    }
    let bank = app.partner_key("bank").await;
    let consent_body = |subject: &str| {
        json!({ "subject": subject, "purpose": "loan_application", "valid_until": "2027-06-30",
                "evidence_sha256": EVIDENCE, "signed_at": "2026-11-01T09:00:00Z" })
    };

    for (subject, warnings) in [
        (USCC_UNKNOWN, json!(["pilot_credit_code"])),
        (USCC, json!([])),
    ] {
        // Act
        let (status, consent) = app.register_consent(&bank, consent_body(subject)).await;
        assert_eq!(status, 201, "{consent}");
        let consent_id = consent["consent_id"].as_str().unwrap();
        let (status, score) = app
            .score(
                &bank,
                score_body("sme", subject, "loan_application", consent_id),
            )
            .await;

        // Assert
        assert_eq!(consent["warnings"], warnings, "{consent}");
        assert_eq!(status, 200, "{score}");
        assert_eq!(score["warnings"], warnings, "{score}");
    }
}
