//! Keys belong to partners (issue 17): a rotation issues a new key to the same partner, so its
//! consents, history and rate limit stay; the old key works until the overlap ends; one key can
//! be revoked while the partner's others go on; existing data is migrated (each partner's key
//! becomes its first key).

use chrono::Duration;
use serde_json::{json, Value};

use crate::common::fixtures::{self, USCC};
use crate::common::{backends, Backend, TestApp};

async fn ready_app(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-test-1", 1).await;
    app
}

fn score_body(consent_id: &str, purpose: &str) -> Value {
    json!({ "product": "sme", "subject": USCC, "purpose": purpose, "consent_id": consent_id })
}

async fn score(app: &TestApp, key: &str, consent: &str, purpose: &str) -> (u16, Value) {
    app.post(key, "/v1/scores", score_body(consent, purpose))
        .await
}

#[tokio::test]
async fn rotation_keeps_every_consent_working_and_the_old_key_stops_after_the_overlap() {
    for backend in backends() {
        // Arrange: a bank with two consents, scored once under its first key.
        let app = ready_app(backend).await;
        let admin = app.partner_key("admin").await;
        let bank = app.partner("bank").await;
        let loan = app.consent(&bank.key, USCC, "loan_application").await;
        let review = app.consent(&bank.key, USCC, "post_loan").await;
        assert_eq!(
            score(&app, &bank.key, &loan, "loan_application").await.0,
            200
        );

        // The attack of the issue: following the old docs (a new key made as a new partner of
        // the same organisation, the old one revoked), the new key is a stranger to every
        // consent. That path still refuses: consents belong to the partner, not to a key.
        let stranger = app.partner_key("bank").await;
        let (status, answer) = score(&app, &stranger, &loan, "loan_application").await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (403, Some("no_consent"))
        );

        // Act: the documented way now, a rotation through the admin API.
        let (status, issued) = app
            .post(
                &admin,
                &format!("/v1/partners/{}/keys/rotate", bank.id),
                json!({ "overlap": "24h" }),
            )
            .await;

        // Assert: the new key belongs to the same partner and every old consent works with it.
        assert_eq!(status, 201, "{issued}");
        assert_eq!(issued["partner_id"], bank.id.as_str());
        let new_key = issued["key"].as_str().unwrap().to_owned();
        assert_ne!(new_key, bank.key);
        assert_eq!(issued["replaced"][0]["id"], bank.key_id.as_str());
        assert_eq!(
            issued["replaced"][0]["retire_at"]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap(),
            crate::common::test_now() + Duration::hours(24)
        );
        for (consent, purpose) in [(&loan, "loan_application"), (&review, "post_loan")] {
            let (status, answer) = score(&app, &new_key, consent, purpose).await;
            assert_eq!(status, 200, "{purpose}: {answer}");
        }
        // During the overlap the old key still works.
        assert_eq!(
            score(&app, &bank.key, &loan, "loan_application").await.0,
            200
        );

        // The new key may revoke a consent the old key registered.
        let (status, answer) = app
            .post(
                &new_key,
                &format!("/v1/consents/{review}/revoke"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");

        // Past the overlap the old key stops, the new one goes on.
        app.clock.advance(Duration::hours(24));
        let (status, answer) = score(&app, &bank.key, &loan, "loan_application").await;
        assert_eq!(status, 401, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("rotation"),
            "{answer}"
        );
        assert_eq!(
            score(&app, &new_key, &loan, "loan_application").await.0,
            200
        );

        // The history stayed with the partner: every score under either key is recorded for it.
        let delivered: Vec<Value> = crate::common::audit_entries(&app.state.db)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "score.delivered" && e["subject_last4"] == USCC[14..])
            .collect();
        assert_eq!(delivered.len(), 5);
        assert!(delivered
            .iter()
            .all(|e| e["partner_id"] == bank.id.as_str()));
        app.stop().await;
    }
}

#[tokio::test]
async fn one_key_is_revoked_at_once_while_the_partners_other_keys_go_on() {
    for backend in backends() {
        // Arrange
        let app = ready_app(backend).await;
        let admin = app.partner_key("admin").await;
        let bank = app.partner("bank").await;
        let loan = app.consent(&bank.key, USCC, "loan_application").await;
        let issued = app
            .state
            .rotate_partner_key(
                &bank.id,
                Duration::hours(1),
                creditbridge::audit::Actor::operator(),
            )
            .await
            .unwrap();

        // Act: the new key turns out leaked and is revoked.
        let path = format!("/v1/partner-keys/{}/revoke", issued.key_id);
        let (status, revoked) = app.post(&admin, &path, json!({})).await;

        // Assert
        assert_eq!(status, 200, "{revoked}");
        assert_eq!(revoked["id"], issued.key_id.as_str());
        let (status, answer) = score(&app, &issued.key, &loan, "loan_application").await;
        assert_eq!(status, 401, "{answer}");
        assert!(answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"));
        assert_eq!(
            score(&app, &bank.key, &loan, "loan_application").await.0,
            200
        );
        // Twice is a conflict; a bank may not revoke keys; an unknown key is 404.
        assert_eq!(app.post(&admin, &path, json!({})).await.0, 409);
        assert_eq!(app.post(&bank.key, &path, json!({})).await.0, 403);
        let unknown = app
            .post(&admin, "/v1/partner-keys/k_nope/revoke", json!({}))
            .await;
        assert_eq!(unknown.0, 404);

        // The key list shows both keys, never a key or its digest.
        let listed: Value = app
            .get(&admin, &format!("/v1/partners/{}/keys", bank.id))
            .await
            .json()
            .await
            .unwrap();
        let keys = listed["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2, "{listed}");
        assert!(keys[1]["revoked_at"].is_string() && keys[0]["retire_at"].is_string());
        assert!(!listed.to_string().contains("cbk_"));
        assert!(!listed
            .to_string()
            .contains(&creditbridge::storage::partners::key_digest(&bank.key)));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_rotation_is_refused_for_bad_overlaps_and_revoked_partners_and_audited() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.partner_key("admin").await;
        let bank = app.partner("bank").await;
        let path = format!("/v1/partners/{}/keys/rotate", bank.id);

        for overlap in ["forever", "31d", "-1h"] {
            let (status, answer) = app.post(&admin, &path, json!({ "overlap": overlap })).await;
            assert_eq!(status, 422, "{overlap}: {answer}");
            assert_eq!(answer["error"]["details"]["field"], "overlap");
        }
        let (status, _) = app
            .post(&admin, "/v1/partners/p_nope/keys/rotate", json!({}))
            .await;
        assert_eq!(status, 404);

        // Overlap 0: the old key stops at once.
        let (status, issued) = app.post(&admin, &path, json!({ "overlap": "0" })).await;
        assert_eq!(status, 201, "{issued}");
        let (status, _) = app.post(&bank.key, "/v1/consents", json!({})).await;
        assert_eq!(status, 401);

        app.state
            .revoke_partner(&bank.id, creditbridge::audit::Actor::operator())
            .await
            .unwrap();
        let (status, _) = app.post(&admin, &path, json!({})).await;
        assert_eq!(status, 409);

        // Every step is in the audit trail, by key id: never a key.
        let steps: Vec<Value> = crate::common::audit_entries(&app.state.db)
            .await
            .into_iter()
            .filter(|e| {
                e["kind"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("key.") || k.starts_with("partner."))
            })
            .collect();
        let kinds: Vec<&str> = steps.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["key.rotated", "partner.revoked"]);
        let issued_key = issued["key"].as_str().unwrap();
        assert!(steps.iter().all(|e| {
            let text = e.to_string();
            !text.contains(issued_key) && !text.contains(&bank.key)
        }));
        assert!(app.ledger_verifies().await);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_rate_limit_stays_with_the_partner_across_a_rotation() {
    // Two requests a minute (one token per 30 s): the third request of the test is refused
    // whichever key sends it.
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.rate_limit_per_minute = 2).await;
    let bank = app.partner("bank").await;
    let issued = app
        .state
        .rotate_partner_key(
            &bank.id,
            Duration::hours(1),
            creditbridge::audit::Actor::operator(),
        )
        .await
        .unwrap();
    assert_eq!(app.post(&bank.key, "/v1/consents", json!({})).await.0, 422);
    assert_eq!(
        app.post(&issued.key, "/v1/consents", json!({})).await.0,
        422
    );
    assert_eq!(
        app.post(&issued.key, "/v1/consents", json!({})).await.0,
        429
    );
    app.stop().await;
}

#[tokio::test]
async fn each_existing_partners_key_becomes_its_first_key_on_migration() {
    for backend in backends() {
        // Arrange: a database at the schema before keys had a table of their own, holding a
        // partner the old way (its key's digest in `partners.key_sha256`).
        let key = "cbk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let seed = format!(
            "INSERT INTO partners (id, name, role, key_sha256, status, created_at) \
             VALUES ('p_old', 'old bank', 'bank', '{}', 'active', '2025-01-02T03:04:05Z')",
            creditbridge::storage::partners::key_digest(key)
        );
        let (url, _dir) = crate::common::db_before_migration(backend, 7, &seed).await;

        // Act: the service's migrations run.
        let db = creditbridge::storage::Db::connect(&url, 2).await.unwrap();

        // Assert: the old key still authenticates the same partner, now as its first key.
        let (partner, first) = db.partner_by_key(key).await.unwrap().expect("old key");
        assert_eq!(
            (partner.id.as_str(), first.partner_id.as_str()),
            ("p_old", "p_old")
        );
        assert!(first.in_force(crate::common::test_now()));
        assert_eq!(db.partner_keys("p_old").await.unwrap().len(), 1);
        // And no digest is kept twice.
        let legacy: String = creditbridge::with_db!(&db, p => sqlx::query_scalar(
            "SELECT key_sha256 FROM partners WHERE id = 'p_old'").fetch_one(p).await)
        .unwrap();
        assert_eq!(legacy, "keys:p_old");
        db.close().await;
    }
}
