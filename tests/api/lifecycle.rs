//! The model lifecycle: point-in-time training sets, promotion gates, hot reload across
//! replicas, rollback and monitoring.

use std::time::Duration;

use crate::common::fixtures::{self, feed, USCC};
use crate::common::{backends, sme_score_body, Backend, TestApp};
use creditbridge::domain::Product;
use creditbridge::feeds::FeedKind;
use creditbridge::lifecycle::dataset;
use creditbridge::lifecycle::monitoring::{self, ScoreBaseline};
use creditbridge::settings::MonitoringThresholds;
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
        let before = dataset::examples(
            &app.state.db,
            Product::Sme,
            as_of,
            "2000-01-01".parse().unwrap(),
        )
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
        let after = dataset::examples(
            &app.state.db,
            Product::Sme,
            as_of,
            "2000-01-01".parse().unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(
            after[0].features, f0,
            "{backend:?}: nothing known only after 2025-06-10 may leak in"
        );

        // The same facts do count for a later date: the planted records are real.
        let later = creditbridge::features::sme::characteristics(
            &creditbridge::storage::facts::sme_facts(
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
    register_as(app, id, "sme", seed, gate_inputs).await
}

async fn register_as(app: &TestApp, id: &str, product: &str, seed: u64, gate_inputs: Value) {
    // A real artifact (a small fitted model) with chosen recorded gate inputs; not promoted.
    let artifact = training::fit(
        &fixtures::synthetic_frame(product, 4000, seed),
        &training::Settings::default(),
    )
    .unwrap()
    .model
    .to_json()
    .unwrap();
    app.state
        .db
        .register_model(
            id,
            &NewModel {
                product,
                artifact: &artifact,
                metrics: &json!({ "gate_inputs": gate_inputs }),
                data_window: &json!({}),
                created_at: app.state.clock.now(),
            },
        )
        .await
        .unwrap();
}

/// Recorded gate inputs: an out-of-time AUC with a DeLong interval of ± 1.96 × `se`, `bads`
/// out-of-time defaults, a signed KS, and the paired comparison with the reference (the
/// champion when `champion` is given, else the tax-grade baseline).
fn inputs_full(auc: f64, se: f64, bads: u64, ks: f64, reference: (&str, f64)) -> Value {
    let (against, ref_auc) = reference;
    let d = auc - ref_auc;
    let cmp = json!({ "against": against, "id": "ref", "test": {
        "auc_a": auc, "auc_b": ref_auc, "difference": d, "std_error": 0.01,
        "lower": d - 0.0196, "upper": d + 0.0196, "p_value": 0.5 } });
    json!({
        "oot_auc": { "auc": auc, "std_error": se, "lower": auc - 1.96 * se, "upper": auc + 1.96 * se,
                     "bads": bads, "goods": bads * 10 },
        "oot_ks": ks,
        "champion": if against == "champion" { cmp.clone() } else { Value::Null },
        "baseline": if against == "baseline" { cmp } else { Value::Null },
        "psi_train_oot": 0.02, "non_monotonic": [], "wrong_sign": [] })
}

fn inputs(auc: f64, ks: f64, champion: Option<f64>) -> Value {
    let reference = match champion {
        Some(c) => ("champion", c),
        None => ("baseline", auc - 0.05),
    };
    inputs_full(auc, 0.02, 120, ks, reference)
}

async fn audit_events(app: &TestApp) -> Vec<Value> {
    crate::common::audit_entries(&app.state.db).await
}

async fn promotions(app: &TestApp) -> i64 {
    app.state
        .db
        .models(None)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.status == "champion")
        .count() as i64
        * 1000
        + audit_events(app)
            .await
            .iter()
            .filter(|e| e["kind"] == "model.promoted")
            .count() as i64
}

#[tokio::test]
async fn gates_refuse_a_worse_model_and_a_forced_promotion_needs_a_reason_and_a_second_admin() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.partner_key("admin").await;
        let second = app.partner_key("admin").await;
        fixtures::install_champion(&app.state, "sme", "sme-old", 2).await;
        register(&app, "sme-worse", 3, inputs(0.70, 0.35, Some(0.75))).await;
        let post = |id: String, key: String, body: Value| {
            app.client
                .post(app.url(&format!(
                    "/v1/models/{id}/{}",
                    if body.is_null() { "approve" } else { "promote" }
                )))
                .bearer_auth(key)
                .json(&body)
                .send()
        };
        let promote = |id: &str, body: Value| post(id.into(), admin.clone(), body);
        let resp = promote("sme-worse", json!({})).await.unwrap();
        assert_eq!(resp.status(), 422);
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["code"], "gates_failed");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("against the champion"),
            "{err}"
        );

        let before = promotions(&app).await;
        for body in [
            json!({ "force": true }),
            json!({ "force": true, "reason": "   " }),
        ] {
            let resp = promote("sme-worse", body).await.unwrap();
            assert_eq!(resp.status(), 422, "{backend:?}: forcing needs a reason");
        }
        let resp = promote("sme-nope", json!({})).await.unwrap();
        assert_eq!(resp.status(), 404);
        assert!(resp
            .text()
            .await
            .unwrap()
            .contains("model sme-nope not found"));
        let resp = promote(
            "sme-worse",
            json!({ "product": "farmer", "force": true, "reason": "x" }),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 409);
        assert!(resp
            .text()
            .await
            .unwrap()
            .contains("is a sme model, not farmer"));
        assert_eq!(
            promotions(&app).await,
            before,
            "{backend:?}: bad input changed nothing"
        );
        assert!(app
            .state
            .db
            .open_approval("sme-worse")
            .await
            .unwrap()
            .is_none());

        // A reasoned forced promotion is a request, not a promotion.
        let resp = promote(
            "sme-worse",
            json!({ "force": true, "reason": "regulator asked for the simpler card" }),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 202);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "awaiting_approval");
        assert_eq!(app.state.champions.get(Product::Sme).unwrap().id, "sme-old");
        // The requester cannot approve it; an unknown model has nothing to approve.
        let resp = post("sme-worse".into(), admin.clone(), Value::Null)
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        let resp = post("sme-old".into(), second.clone(), Value::Null)
            .await
            .unwrap();
        assert_eq!(resp.status(), 409);
        assert_eq!(app.state.champions.get(Product::Sme).unwrap().id, "sme-old");
        // A second admin does.
        let resp = post("sme-worse".into(), second.clone(), Value::Null)
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        assert_eq!(
            app.state.champions.get(Product::Sme).unwrap().id,
            "sme-worse"
        );
        let events = audit_events(&app).await;
        let requested = events
            .iter()
            .find(|e| e["kind"] == "model.forced" && e["model_id"] == "sme-worse")
            .unwrap();
        assert_eq!(
            requested["detail"]["reason"],
            "regulator asked for the simpler card"
        );
        let forced = events
            .iter()
            .find(|e| e["kind"] == "model.promoted" && e["model_id"] == "sme-worse")
            .unwrap();
        assert_eq!(forced["detail"]["forced"], true);
        assert_eq!(
            forced["detail"]["reason"],
            "regulator asked for the simpler card"
        );
        assert_ne!(forced["detail"]["approved_by"], forced["detail"]["by"]);
        assert!(forced["detail"]["approved_by"].is_string());
        // Approving twice does not promote twice.
        let resp = post("sme-worse".into(), second.clone(), Value::Null)
            .await
            .unwrap();
        assert_eq!(resp.status(), 409);

        register(&app, "sme-good", 4, inputs(0.80, 0.45, Some(0.74))).await;
        let resp = promote("sme-good", json!({ "product": "sme" }))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        app.stop().await;
    }
}

/// The farmer champion (AUC 0.303, unsigned KS 0.39, one out-of-time bad, no champion to
/// compare with) and its kin: none is promoted without a forced, approved request.
#[tokio::test]
async fn a_backwards_or_thinly_evidenced_first_champion_is_not_promoted() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.partner_key("admin").await;
        let cases = [
            (
                "farmer-backwards",
                inputs_full(0.303, 0.15, 1, -0.39, ("baseline", 0.6)),
                "insufficient_evidence",
            ),
            (
                "farmer-backwards-many",
                inputs_full(0.303, 0.02, 200, -0.39, ("baseline", 0.6)),
                "gates_failed",
            ),
            (
                "farmer-thin",
                inputs_full(0.85, 0.02, 12, 0.5, ("baseline", 0.7)),
                "insufficient_evidence",
            ),
            (
                "farmer-below-baseline",
                inputs_full(0.70, 0.02, 120, 0.3, ("baseline", 0.74)),
                "gates_failed",
            ),
            (
                "farmer-wide",
                inputs_full(0.62, 0.04, 35, 0.25, ("baseline", 0.55)),
                "gates_failed",
            ),
        ];
        for (i, (id, gate_inputs, code)) in cases.into_iter().enumerate() {
            register_as(&app, id, "farmer", 20 + i as u64, gate_inputs).await;
            let resp = app
                .client
                .post(app.url(&format!("/v1/models/{id}/promote")))
                .bearer_auth(&admin)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 422, "{backend:?} {id}");
            let err: Value = resp.json().await.unwrap();
            assert_eq!(err["error"]["code"], code, "{backend:?} {id}: {err}");
            assert_ne!(
                app.state
                    .champions
                    .get(Product::Farmer)
                    .map(|c| c.id.clone())
                    .as_deref(),
                Some(id)
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn a_promotion_made_on_another_replica_is_served_without_a_restart_and_can_be_rolled_back() {
    for backend in backends() {
        let a = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&a.state).await;
        fixtures::install_champion(&a.state, "sme", "sme-old", 5).await;
        // Replica B shares A's database.
        let settings = crate::common::test_settings(&a.test_db.url, a.test_db.dir.path());
        let b = creditbridge::startup::build_state_with(settings, crate::common::test_clock())
            .await
            .unwrap();
        register(&a, "sme-new", 6, inputs(0.8, 0.4, None)).await;
        let registry = b.registry();
        registry
            .promote("sme-new", "replica-b", false, None, Some(Product::Sme))
            .await
            .unwrap();

        let bank = a.partner_key("bank").await;
        let consent_id = a.consent(&bank, USCC, "loan_application").await;
        let mut served = String::new();
        for _ in 0..50 {
            let (_, s) = a.score(&bank, sme_score_body(&consent_id)).await;
            served = s["model"]["id"].as_str().unwrap_or_default().to_owned();
            if served == "sme-new" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(served, "sme-new", "{backend:?}: A picked up B's promotion");

        let rolled = registry.rollback(Product::Sme, "replica-b").await.unwrap();
        assert_eq!(rolled, "sme-old");
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

/// Rollback walks the champion history back one step at a time, audited, instead of toggling
/// between the last two champions (the second rollback re-promoted what it had left).
#[tokio::test]
async fn rollback_walks_the_champion_history_back_and_is_audited() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        fixtures::install_champion(&app.state, "sme", "sme-1", 5).await;
        let registry = app.state.registry();
        for (i, id) in ["sme-2", "sme-3"].into_iter().enumerate() {
            register(&app, id, 30 + i as u64, inputs(0.8, 0.4, Some(0.78))).await;
            registry
                .promote(id, "ops", false, None, Some(Product::Sme))
                .await
                .unwrap();
        }
        assert_eq!(app.state.champions.get(Product::Sme).unwrap().id, "sme-3");
        assert_eq!(
            registry.rollback(Product::Sme, "ops").await.unwrap(),
            "sme-2"
        );
        assert_eq!(app.state.champions.get(Product::Sme).unwrap().id, "sme-2");
        assert_eq!(
            registry.rollback(Product::Sme, "ops").await.unwrap(),
            "sme-1"
        );
        assert_eq!(app.state.champions.get(Product::Sme).unwrap().id, "sme-1");
        let err = registry.rollback(Product::Sme, "ops").await.unwrap_err();
        assert!(
            err.to_string().contains("no earlier champion of sme"),
            "{err}"
        );
        assert_eq!(app.state.champions.get(Product::Sme).unwrap().id, "sme-1");
        // A new promotion after the rollbacks starts the walk from there.
        registry
            .promote("sme-3", "ops", false, None, None)
            .await
            .unwrap();
        assert_eq!(
            registry.rollback(Product::Sme, "ops").await.unwrap(),
            "sme-1"
        );
        let rollbacks: Vec<Value> = audit_events(&app)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "model.rolled_back")
            .collect();
        assert_eq!(rollbacks.len(), 3, "{backend:?}");
        assert_eq!(rollbacks[0]["model_id"], "sme-2");
        assert_eq!(rollbacks[0]["detail"]["previous_champion"], "sme-3");
        assert_eq!(rollbacks[0]["detail"]["by"], "ops");
        app.stop().await;
    }
}

#[tokio::test]
async fn monitoring_reports_live_scores_against_the_champion() {
    // Three scores: the minimum sample is lowered to them so that CSI is computed.
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.monitoring.min_sample = 3).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-mon", 7).await;
    let bank = app.partner_key("bank").await;
    let admin = app.partner_key("admin").await;
    let consent_id = app.consent(&bank, USCC, "loan_application").await;
    for _ in 0..3 {
        let (status, _) = app.score(&bank, sme_score_body(&consent_id)).await;
        assert_eq!(status, 200);
    }
    let (_, r) = app.get_json(&admin, "/v1/monitoring/sme").await;
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

/// A training baseline spread evenly over 300..900: any handful of live scores lands in one or
/// two of its deciles.
fn wide_baseline() -> ScoreBaseline {
    let training: Vec<f64> = (300..900).map(f64::from).collect();
    ScoreBaseline::from_scores(&training, 10)
}

/// A champion with `wide_baseline` recorded, a bank with consent for `USCC`, and an admin key.
async fn monitored_champion(app: &TestApp) -> (String, String, String) {
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion_with(
        &app.state,
        "sme",
        "sme-mon",
        7,
        json!({ "baseline": wide_baseline() }),
    )
    .await;
    let bank = app.partner_key("bank").await;
    let admin = app.partner_key("admin").await;
    let consent_id = app.consent(&bank, USCC, "loan_application").await;
    (bank, admin, consent_id)
}

/// Scores `USCC` `n` times and returns the scores given.
async fn score_n(app: &TestApp, bank: &str, consent_id: &str, n: usize) -> Vec<f64> {
    let mut scores = Vec::new();
    for _ in 0..n {
        let (status, s) = app.score(bank, sme_score_body(consent_id)).await;
        assert_eq!(status, 200);
        scores.push(s["score"].as_f64().unwrap());
    }
    scores
}

async fn fetch_monitoring(app: &TestApp, admin: &str) -> Value {
    let (status, r) = app.get_json(admin, "/v1/monitoring/sme").await;
    assert_eq!(status, 200);
    r
}

#[tokio::test]
async fn one_live_score_is_an_insufficient_sample_not_a_significant_shift() {
    // Issue 15: "After one score, PSI was 8.33 and every characteristic significant_shift".
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let (bank, admin, consent_id) = monitored_champion(&app).await;
        score_n(&app, &bank, &consent_id, 1).await;

        let r = fetch_monitoring(&app, &admin).await;
        assert_eq!(r["observations"], 1, "{backend:?}: {r}");
        assert_eq!(r["min_sample"], 500, "the default minimum: {r}");
        assert_eq!(r["status"], "insufficient_sample", "{backend:?}: {r}");
        assert!(r["score_psi"].is_null(), "{backend:?}: {r}");
        let chars = r["characteristics"].as_array().unwrap();
        assert!(!chars.is_empty(), "{r}");
        for c in chars {
            assert_eq!(c["status"], "insufficient_sample", "{backend:?}: {c}");
            assert!(c["csi"].is_null(), "{backend:?}: {c}");
            assert_eq!(c["observations"], 1, "{backend:?}: {c}");
        }
        assert!(
            !r.to_string().contains("significant_shift"),
            "{backend:?}: {r}"
        );

        // The same observations with no minimum give the figure the attack saw: only the
        // minimum sample stands between one score and a significant_shift.
        let unguarded = monitoring::report(
            &app.state.db,
            &app.state.champions,
            &MonitoringThresholds {
                min_sample: 1,
                ..Default::default()
            },
            Product::Sme,
            app.state.clock.now(),
            30,
        )
        .await
        .unwrap();
        assert_eq!(unguarded.status, "significant_shift", "{backend:?}");
        assert!(unguarded.score_psi.unwrap() > 8.0, "{unguarded:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn at_the_minimum_sample_psi_and_csi_are_computed_as_before() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |s| s.monitoring.min_sample = 20).await;
        let (bank, admin, consent_id) = monitored_champion(&app).await;
        let mut scores = score_n(&app, &bank, &consent_id, 19).await;

        let r = fetch_monitoring(&app, &admin).await;
        assert_eq!(r["observations"], 19, "{backend:?}: {r}");
        assert_eq!(r["min_sample"], 20, "{r}");
        assert_eq!(r["status"], "insufficient_sample", "one short: {r}");
        assert!(r["score_psi"].is_null(), "{r}");

        scores.extend(score_n(&app, &bank, &consent_id, 1).await);
        let r = fetch_monitoring(&app, &admin).await;
        assert_eq!(r["observations"], 20, "{backend:?}: {r}");
        let psi = r["score_psi"].as_f64().expect("a PSI at the minimum");
        let expected = wide_baseline().psi(&scores);
        assert!(
            (psi - expected).abs() < 1e-9,
            "{backend:?}: {psi} vs {expected}"
        );
        assert_eq!(r["status"], monitoring::status_of(expected), "{r}");
        let chars = r["characteristics"].as_array().unwrap();
        assert!(!chars.is_empty(), "{r}");
        for c in chars {
            assert_eq!(c["observations"], 20, "{c}");
            let csi = c["csi"].as_f64().expect("a CSI at the minimum");
            assert!(csi >= 0.0, "{c}");
            assert_eq!(c["status"], monitoring::status_of(csi), "{c}");
        }
        app.stop().await;
    }
}

/// The issue's bad input: "A corrupted artifact (digest mismatch): refused at load with a message
/// naming the file; the previous champion keeps serving."
#[tokio::test]
async fn a_corrupted_artifact_is_refused_naming_the_file_and_the_champion_keeps_serving() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        fixtures::install_champion(&app.state, "sme", "sme-good", 5).await;
        register(&app, "sme-tampered", 6, inputs(0.8, 0.4, Some(0.78))).await;
        let row = app.state.db.model("sme-tampered").await.unwrap();
        let path = app.state.champions.store().path(&row.artifact_sha256);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // One digit changed: still a valid model, no longer the registered one.
        let at = row.artifact.find(|c: char| c.is_ascii_digit()).unwrap();
        let mut tampered = row.artifact.clone();
        let digit = if &row.artifact[at..=at] == "9" {
            "8"
        } else {
            "9"
        };
        tampered.replace_range(at..=at, digit);
        std::fs::write(&path, &tampered).unwrap();

        let admin = app.partner_key("admin").await;
        let before = promotions(&app).await;
        let (status, body) = app
            .post(&admin, "/v1/models/sme-tampered/promote", json!({}))
            .await;
        assert_eq!(status, 409, "{backend:?}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&path.display().to_string()),
            "{backend:?}: names the file: {message}"
        );
        assert!(
            message.contains("does not match its registered SHA-256"),
            "{message}"
        );
        assert_eq!(
            promotions(&app).await,
            before,
            "{backend:?}: nothing changed"
        );
        assert_eq!(
            app.state.champions.get(Product::Sme).unwrap().id,
            "sme-good"
        );

        // Promoted elsewhere (a replica whose copy is sound): this replica refuses to load it
        // and keeps serving the champion it has.
        app.state
            .db
            .promote_model(
                "sme-tampered",
                &creditbridge::storage::models::Promotion {
                    by: "replica-b",
                    forced: false,
                    reason: None,
                    approved_by: None,
                    kind: "promotion",
                    at: app.state.clock.now(),
                },
            )
            .await
            .unwrap();
        let err = app
            .state
            .champions
            .refresh(&app.state.db)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert_eq!(
            app.state.champions.get(Product::Sme).unwrap().id,
            "sme-good"
        );
        let bank = app.partner_key("bank").await;
        let consent_id = app.consent(&bank, USCC, "loan_application").await;
        let (status, s) = app
            .post(
                &bank,
                "/v1/scores",
                json!({ "product": "sme", "subject": USCC,
                "purpose": "loan_application", "consent_id": consent_id }),
            )
            .await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(s["model"]["id"], "sme-good", "{s}");
        app.stop().await;
    }
}

/// The issue: "Shadow scoring recorded 0 of 62,287 observations". The newest candidate now
/// scores beside the champion on every request, and monitoring compares the two.
#[tokio::test]
async fn the_newest_candidate_is_scored_in_the_shadows_and_compared_with_the_champion() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |s| s.monitoring.min_sample = 5).await;
        let (bank, admin, consent_id) = monitored_champion(&app).await;
        register(&app, "sme-next", 8, inputs(0.8, 0.4, Some(0.78))).await;
        app.state.champions.refresh(&app.state.db).await.unwrap();
        assert_eq!(
            app.state.champions.shadow(Product::Sme).unwrap().id,
            "sme-next"
        );
        let given = score_n(&app, &bank, &consent_id, 6).await;

        let rows = app
            .state
            .db
            .observations(
                "sme",
                "sme-mon",
                app.state.clock.now() - chrono::Duration::days(1),
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 6);
        assert!(
            rows.iter()
                .all(|r| r.2.as_deref() == Some("sme-next") && r.3.is_some()),
            "{backend:?}: every score recorded its shadow: {rows:?}"
        );
        let difference = rows
            .iter()
            .map(|r| (r.3.unwrap() - r.0) as f64)
            .sum::<f64>()
            / 6.0;

        let r = fetch_monitoring(&app, &admin).await;
        let shadow = &r["shadow"];
        assert_eq!(shadow["model_id"], "sme-next", "{r}");
        assert_eq!(shadow["observations"], 6, "{r}");
        assert!((shadow["mean_difference"].as_f64().unwrap() - difference).abs() < 1e-9);
        // One subject scored six times: both models agree with themselves, so the grades agree
        // all the time or never, and the rank correlation of constant scores is undefined.
        let agreement = shadow["grade_agreement"].as_f64().unwrap();
        assert!(agreement == 0.0 || agreement == 1.0, "{shadow}");
        assert!(shadow["rank_correlation"].is_null(), "{shadow}");
        let psi = shadow["psi"].as_f64().expect("a PSI at the minimum sample");
        let champion_scores: Vec<f64> = given.clone();
        let shadow_scores: Vec<f64> = rows.iter().map(|r| r.3.unwrap() as f64).collect();
        let expected = ScoreBaseline::from_scores(&champion_scores, 10).psi(&shadow_scores);
        assert!((psi - expected).abs() < 1e-9, "{psi} vs {expected}");
        assert_eq!(shadow["status"], monitoring::status_of(expected));
        app.stop().await;
    }
}

/// The model card over HTTP: HTML (English or Chinese), text and JSON from the same
/// `lifecycle::card` functions; bad parameters and unknown ids are clear 4xx.
#[tokio::test]
async fn the_model_card_is_served_in_english_and_chinese_html_text_and_json() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        fixtures::install_champion(&app.state, "sme", "sme-card", 5).await;
        let admin = app.partner_key("admin").await;
        let get = |path: &'static str| app.get(&admin, path);

        let resp = get("/v1/models/sme-card/card?format=json").await;
        assert_eq!(resp.status(), 200);
        let card: Value = resp.json().await.unwrap();
        assert_eq!(card["product"], "sme");
        assert_eq!(card["status"], "champion");
        let chars = card["characteristics"].as_array().unwrap();
        assert!(!chars.is_empty());
        let model = app.state.champions.get(Product::Sme).unwrap();
        for (c, sc) in chars.iter().zip(&model.model.scorecard().characteristics) {
            assert_eq!(c["name"], sc.name.as_str());
            let (b, se) = (sc.coefficient, sc.std_error.unwrap());
            let ci = c["ci95"].as_array().unwrap();
            assert!(
                (ci[0].as_f64().unwrap() - (b - 1.96 * se)).abs() < 1e-9,
                "{c}"
            );
            assert!(
                (ci[1].as_f64().unwrap() - (b + 1.96 * se)).abs() < 1e-9,
                "{c}"
            );
            assert_eq!(c["flagged"], sc.p_value.is_none_or(|p| p > 0.05), "{c}");
            assert_eq!(c["bins"].as_array().unwrap().len(), sc.bins.len());
        }
        assert_eq!(card["promotions"].as_array().unwrap().len(), 1, "{card}");

        let resp = get("/v1/models/sme-card/card").await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let en = resp.text().await.unwrap();
        assert!(en.starts_with("<!doctype html>") && en.contains("Model card sme-card"));
        assert!(en.contains("@media print") && !en.contains("<script"));
        let zh = get("/v1/models/sme-card/card?lang=zh")
            .await
            .text()
            .await
            .unwrap();
        assert!(zh.contains("模型卡") && zh.contains("p 值") && zh.contains("lang=\"zh-CN\""));
        for c in chars {
            assert!(en.contains(c["name"].as_str().unwrap()));
        }
        let text = get("/v1/models/sme-card/card?format=text")
            .await
            .text()
            .await
            .unwrap();
        assert!(text.starts_with("Model card sme-card"), "{text}");

        let resp = get("/v1/models/sme-card/card?lang=fr").await;
        assert_eq!(resp.status(), 422);
        assert!(resp.text().await.unwrap().contains("use en or zh"));
        assert_eq!(
            get("/v1/models/sme-card/card?format=pdf").await.status(),
            422
        );
        assert_eq!(get("/v1/models/nope/card").await.status(), 404);
        let bank = app.partner_key("bank").await;
        assert_eq!(
            app.get(&bank, "/v1/models/sme-card/card").await.status(),
            403
        );
        app.stop().await;
    }
}
