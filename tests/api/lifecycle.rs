//! The model lifecycle: point-in-time training sets, promotion gates, hot reload across
//! replicas, rollback and monitoring.

use std::time::Duration;

use crate::common::fixtures::{self, feed, USCC};
use crate::common::{backends, Backend, TestApp};
use creditbridge::domain::Product;
use creditbridge::feeds::FeedKind;
use creditbridge::lifecycle::dataset;
use creditbridge::storage::models::NewModel;
use serde_json::{json, Value};
use training::Value as V;

#[tokio::test]
async fn a_record_dated_after_a_loans_disbursement_does_not_change_its_features() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        feed(&app.state, FeedKind::LoanOutcomes, &format!(
            "loan_id,product,subject_id,disbursed_on,amount,term_months,defaulted,defaulted_on\nL-1,sme,{USCC},2025-06-10,500000,12,false,\n"
        )).await;
        let as_of = "2026-11-01".parse().unwrap();
        let before = dataset::examples(&app.state.db, Product::Sme, as_of)
            .await
            .unwrap();
        assert_eq!(before.len(), 1);
        let f0 = before[0].features.clone();
        assert_eq!(
            f0.get("tax_grade"),
            Some(V::Category("A".into())),
            "the 2024 grade was in force in June 2025"
        );

        // Planted after the disbursement: a direct D, a penalty and a late filing for May 2025.
        feed(
            &app.state,
            FeedKind::TaxGrades,
            &format!(
                "uscc,year,grade,score,direct_d,effective_from\n{USCC},2024,D,,true,2025-07-01\n"
            ),
        )
        .await;
        feed(&app.state, FeedKind::PublicRecords, &format!(
            "record_id,subject_type,subject_id,kind,severity,listed_at,display_until,repaired_at\nP-9,enterprise,{USCC},admin_penalty,serious,2025-06-11,2027-06-11,\n"
        )).await;
        let after = dataset::examples(&app.state.db, Product::Sme, as_of)
            .await
            .unwrap();
        assert_eq!(
            after[0].features, f0,
            "{backend:?}: nothing known only after 2025-06-10 may leak in"
        );

        // The same facts do count for a later date: the planted records are real.
        let later = creditbridge::features::sme::characteristics(
            &creditbridge::features::load::sme_facts(
                &app.state.db,
                USCC,
                "2025-08-01".parse().unwrap(),
            )
            .await
            .unwrap(),
            "2025-08-01".parse().unwrap(),
        );
        assert_eq!(later.get("tax_grade"), Some(V::Category("D".into())));
        assert_eq!(later.get("penalties_3y"), Some(V::Number(1.0)));
        app.stop().await;
    }
}

async fn register(app: &TestApp, id: &str, seed: u64, gate_inputs: Value) {
    // A real artifact (from the fixture model) with chosen recorded gate inputs.
    fixtures::install_champion(&app.state, "sme", &format!("{id}-tmp"), seed).await;
    let artifact = app
        .state
        .db
        .model(&format!("{id}-tmp"))
        .await
        .unwrap()
        .artifact;
    app.state
        .db
        .register_model(&NewModel {
            id,
            product: "sme",
            artifact: &artifact,
            metrics: &json!({ "gate_inputs": gate_inputs }),
            data_window: &json!({}),
        })
        .await
        .unwrap();
}

fn inputs(auc: f64, ks: f64, champion: Option<f64>) -> Value {
    json!({ "oot_auc": auc, "oot_ks": ks, "champion_oot_auc": champion, "psi_train_oot": 0.02,
            "non_monotonic": [], "wrong_sign": [] })
}

#[tokio::test]
async fn gates_refuse_a_worse_model_and_a_forced_promotion_needs_a_reason_and_is_audited() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.partner_key("admin").await;
    register(&app, "sme-worse", 3, inputs(0.70, 0.35, Some(0.75))).await;
    let promote = |id: &str, body: Value| {
        app.client
            .post(app.url(&format!("/v1/models/{id}/promote")))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let resp = promote("sme-worse", json!({})).await.unwrap();
    assert_eq!(resp.status(), 422);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "gates_failed");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("worse than the champion"),
        "{err}"
    );

    let resp = promote("sme-worse", json!({ "force": true }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 422, "forcing needs a reason");

    let resp = promote(
        "sme-worse",
        json!({ "force": true, "reason": "regulator asked for the simpler card" }),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.state.champions.get(Product::Sme).unwrap().id,
        "sme-worse"
    );
    let events: Vec<Value> = app
        .state
        .db
        .audit_rows(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let forced = events
        .iter()
        .find(|e| e["kind"] == "model_promotion" && e["model_id"] == "sme-worse")
        .unwrap();
    assert_eq!(forced["detail"]["forced"], true);
    assert_eq!(
        forced["detail"]["reason"],
        "regulator asked for the simpler card"
    );

    register(&app, "sme-good", 4, inputs(0.80, 0.45, Some(0.74))).await;
    let resp = promote("sme-good", json!({})).await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

#[tokio::test]
async fn a_promotion_made_on_another_replica_is_served_without_a_restart_and_can_be_rolled_back() {
    for backend in backends() {
        let a = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&a.state).await;
        fixtures::install_champion(&a.state, "sme", "sme-old", 5).await;
        // Replica B shares A's database.
        let settings = crate::common::test_settings(&a.test_db.url, a.test_db.dir.path());
        let b = creditbridge::startup::build_state(settings).await.unwrap();
        register(&a, "sme-new", 6, inputs(0.8, 0.4, None)).await;
        // `register` installs helper models too; make sure A currently serves something else.
        let registry = b.registry();
        registry
            .promote("sme-new", "replica-b", false, None)
            .await
            .unwrap();

        let bank = a.partner_key("bank").await;
        let consent_id = a.consent(&bank, USCC, "loan_application").await;
        let body = json!({ "product": "sme", "subject": USCC, "purpose": "loan_application",
                           "consent_id": consent_id });
        let mut served = String::new();
        for _ in 0..50 {
            let s: Value = a
                .client
                .post(a.url("/v1/scores"))
                .bearer_auth(&bank)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            served = s["model"]["id"].as_str().unwrap_or_default().to_owned();
            if served == "sme-new" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(served, "sme-new", "{backend:?}: A picked up B's promotion");

        let rolled = registry.rollback(Product::Sme, "replica-b").await.unwrap();
        assert_ne!(rolled, "sme-new");
        for _ in 0..50 {
            if a.state.champions.get(Product::Sme).unwrap().id == rolled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(a.state.champions.get(Product::Sme).unwrap().id, rolled);
        a.stop().await;
    }
}

#[tokio::test]
async fn monitoring_reports_live_scores_against_the_champion() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-mon", 7).await;
    let bank = app.partner_key("bank").await;
    let admin = app.partner_key("admin").await;
    let consent_id = app.consent(&bank, USCC, "loan_application").await;
    for _ in 0..3 {
        let resp = app.client.post(app.url("/v1/scores")).bearer_auth(&bank).json(&json!({
            "product": "sme", "subject": USCC, "purpose": "loan_application", "consent_id": consent_id
        })).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    let r: Value = app
        .client
        .get(app.url("/v1/monitoring/sme"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["model_id"], "sme-mon");
    assert_eq!(r["observations"], 3);
    assert_eq!(
        r["status"], "no_baseline",
        "fixture models carry no training baseline: {r}"
    );
    let chars = r["characteristics"].as_array().unwrap();
    assert!(!chars.is_empty());
    assert!(chars.iter().all(|c| c["csi"].as_f64().unwrap() >= 0.0));
}
