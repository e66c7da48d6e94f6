//! The first-run pipeline end to end at a small size: generate, import through the feeds,
//! retrain and promote both products, issue keys, then score one enterprise and one household
//! over HTTP.

use crate::common::{Backend, TestApp};
use creditbridge::demo::{self, DemoSize};
use creditbridge::domain::Role;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_pipeline_serves_scores_for_both_products() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let data_dir = app.test_db.dir.path().join("demo");
    let size = DemoSize {
        enterprises: 1200,
        households: 1200,
        seed: 11,
    };
    let prepared = demo::prepare(&app.state, &data_dir, &size)
        .await
        .expect("demo pipeline");

    assert_eq!(
        prepared.partners.len(),
        Role::ALL.len(),
        "one partner of each role"
    );
    assert_eq!(prepared.champions.len(), 2, "both products have a champion");
    let text = demo::instructions(&prepared, &app.address);
    assert!(text.contains(&prepared.sample_enterprise) && text.contains("/v1/scores"));

    let key = |role: Role| {
        prepared
            .partners
            .iter()
            .find(|p| p.role == role)
            .unwrap()
            .key
            .clone()
    };
    for (product, subject, role, purpose) in [
        (
            "sme",
            prepared.sample_enterprise.clone(),
            Role::Bank,
            "loan_application",
        ),
        (
            "farmer",
            prepared.sample_household.clone(),
            Role::Insurer,
            "underwriting",
        ),
    ] {
        let key = key(role);
        let consent: Value = app
            .client
            .post(app.url("/v1/consents"))
            .bearer_auth(&key)
            .json(&json!({
                "subject": subject, "purpose": purpose, "valid_until": "2099-12-31",
                "evidence_sha256": "c".repeat(64), "signed_at": "2026-01-01T00:00:00Z"
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resp = app.client.post(app.url("/v1/scores")).bearer_auth(&key).json(&json!({
            "product": product, "subject": subject, "purpose": purpose, "consent_id": consent["consent_id"]
        })).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{product}");
        let s: Value = resp.json().await.unwrap();
        assert_eq!(s["product"], product);
        assert!(
            s["model"]["id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{product}-")),
            "{s}"
        );
        assert!(s["score"].is_i64() && s["reasons"].is_array(), "{s}");
    }

    // Run again on the same data directory: the city is reused, old demo keys are revoked.
    let again = demo::prepare(&app.state, &data_dir, &size).await.unwrap();
    let old_bank = key(Role::Bank);
    assert!(app
        .state
        .db
        .partner_by_key(&old_bank)
        .await
        .unwrap()
        .is_some_and(|p| !p.active));
    assert_ne!(again.partners[0].key, prepared.partners[0].key);
    assert!(creditbridge::audit::verify(&app.state.db).await.unwrap().ok);
}
