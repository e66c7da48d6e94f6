//! Issue 15, model governance: one identity per model (ids allocated with the insert), the
//! committed models/ as fixtures that serve never promotes on its own, one scheduler across
//! replicas (a lease per product and quarter), and samples that respect the retention purge.

use std::collections::HashSet;

use creditbridge::app::jobs::{self, QuarterRun};
use creditbridge::clock::Clock;
use creditbridge::demo::{self, DemoSize};
use creditbridge::domain::Product;
use creditbridge::lifecycle::retrain;
use creditbridge::settings::GateThresholds;
use creditbridge::storage::models::NewModel;
use serde_json::{json, Value};

use crate::common::process::{creditbridge, free_port, partner_key, serve, succeed, wait_live};
use crate::common::{
    self, backends, fixtures, test_clock, test_db, test_settings, Backend, TestDb,
};

fn new_model<'a>(
    artifact: &'a str,
    metrics: &'a Value,
    at: chrono::DateTime<chrono::Utc>,
) -> NewModel<'a> {
    NewModel {
        product: "sme",
        artifact,
        metrics,
        data_window: metrics,
        created_at: at,
    }
}

#[tokio::test]
async fn concurrent_registrations_for_one_product_and_quarter_get_distinct_ids() {
    for backend in backends() {
        let (a, b) = (test_db(backend).await, test_db(backend).await);
        let at = common::test_now();
        let m = json!({});
        // The same instant on two databases and twice at once on one: three ids, no conflict.
        let (first, second) = (
            new_model("{\"x\":1}", &m, at),
            new_model("{\"x\":2}", &m, at),
        );
        let (x, y) = tokio::join!(
            a.db.register_candidate("sme-2026Q4-", &first),
            a.db.register_candidate("sme-2026Q4-", &second),
        );
        let z =
            b.db.register_candidate("sme-2026Q4-", &new_model("{\"x\":1}", &m, at))
                .await
                .unwrap();
        let (x, y) = (x.unwrap(), y.unwrap());
        let ids: HashSet<&String> = [&x, &y, &z].into_iter().collect();
        assert_eq!(ids.len(), 3, "{backend:?}: {x} {y} {z}");
        for id in [&x, &y, &z] {
            assert!(id.starts_with("sme-2026Q4-"), "{id}");
            let suffix = id.trim_start_matches("sme-2026Q4-");
            assert!(
                ulid::Ulid::from_string(suffix).is_ok(),
                "a ULID suffix: {id}"
            );
        }
        assert_eq!(a.db.models(Some("sme")).await.unwrap().len(), 2);
    }
}

/// The issue: "A fresh `serve` silently promotes the committed synthetic champions (no gates, no
/// audit record)". Now serve registers nothing; `models import` registers them as candidates,
/// audited, once; promoting them goes through the gates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_never_promotes_the_committed_fixtures_and_an_import_is_gated_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = serve(creditbridge(d), port);
    wait_live(&base).await;
    let admin = partner_key(d, "admin", "admin");
    let client = reqwest::Client::new();
    // Not ready: no champion, since nothing was promoted.
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready
        .text()
        .await
        .unwrap()
        .contains("no champion model loaded"));
    let models: Value = client
        .get(format!("{base}/v1/models"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models, json!([]), "serve registered nothing on its own");
    drop(server);

    let models_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
    let out = succeed(creditbridge(d).args(["models", "import", models_dir]));
    let imported: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported.len(), 2);
    for m in &imported {
        assert_eq!(m["registered"], true);
        assert!(m["promotion"].is_null(), "not promoted unless asked: {m}");
    }
    // Once: the same files again find the same models.
    let again = succeed(creditbridge(d).args(["models", "import", models_dir]));
    let again: Vec<Value> = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        again.iter().map(|m| &m["id"]).collect::<Vec<_>>(),
        imported.iter().map(|m| &m["id"]).collect::<Vec<_>>()
    );
    assert!(again.iter().all(|m| m["registered"] == false));
    // Gated: the fixtures carry no out-of-time evaluation, so a plain promotion is refused.
    let refused = creditbridge(d)
        .args(["models", "import", models_dir, "--promote"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("no recorded out-of-time evaluation"), "{why}");
    let list = succeed(creditbridge(d).args(["models", "list"]));
    let list: Vec<Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|m| m["status"] == "candidate"), "{list:?}");
    // Audited once per model; the chain still verifies.
    succeed(creditbridge(d).args(["audit", "verify"]));
    let db = creditbridge::storage::Db::connect(
        &format!("sqlite://{}", d.join("data/creditbridge.db").display()),
        1,
    )
    .await
    .unwrap();
    let kinds: Vec<String> = common::audit_entries(&db)
        .await
        .into_iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "model.imported").count(),
        2,
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k == "model.promoted"), "{kinds:?}");
    db.close().await;
    // The artifacts went to the data directory's store.
    let store = d.join("data/models/sha256");
    assert_eq!(
        std::fs::read_dir(&store).unwrap().count(),
        2,
        "in the store"
    );
}

/// The settings of a replica in the two-replica test: the schedule's promotion on, and gates
/// loose enough that the small city's candidates pass them (what is under test is how many
/// candidates and promotions the replicas make, not the gates).
fn replica_settings(t: &TestDb) -> creditbridge::settings::Settings {
    let mut s = test_settings(&t.url, t.dir.path());
    s.auto_promote = true;
    s.gates = GateThresholds {
        min_oot_ks: -1.0,
        auc_margin: -1.0,
        min_oot_bads: 1,
        max_auc_drop: 1.0,
        max_psi: 1000.0,
    };
    s
}

/// The issue: "Across a quarter boundary (faketime, `auto_promote=true`) both replicas
/// retrained: 4 candidates and 4 promotions 90 ms apart".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_through_a_quarter_boundary_make_one_candidate_and_one_promotion_per_product()
{
    // PostgreSQL when the suite has it (the deployment with replicas), else SQLite.
    let backend = *backends().last().unwrap();
    let t = test_db(backend).await;
    let clock = test_clock();
    let a = creditbridge::startup::build_state_with(replica_settings(&t), clock.clone())
        .await
        .unwrap();
    let b = creditbridge::startup::build_state_with(replica_settings(&t), clock.clone())
        .await
        .unwrap();
    let size = DemoSize {
        enterprises: 1200,
        households: 1200,
        seed: 11,
    };
    // The city's months run to the end of 2026, so the out-of-time quarter of a retrain as of
    // 2027-01-01 (October to December 2025) is whole.
    clock.set("2027-01-01T00:00:00Z".parse().unwrap());
    demo::import_city(&a, &t.dir.path().join("city"), &size)
        .await
        .unwrap();
    // Each product has a champion to replace (a model fitted on unrelated synthetic data).
    fixtures::install_champion(&a, "sme", "sme-before", 3).await;
    fixtures::install_champion(&a, "farmer", "farmer-before", 4).await;
    b.champions.refresh(&b.db).await.unwrap();

    clock.set("2027-01-01T03:00:00Z".parse().unwrap());
    let now = clock.now();
    let (ra, rb) = tokio::join!(
        jobs::run_quarter(&a, "replica-a", now),
        jobs::run_quarter(&b, "replica-b", now)
    );
    for product in [Product::Sme, Product::Farmer] {
        let runs: Vec<&QuarterRun> = ra
            .iter()
            .chain(&rb)
            .filter(|(p, _)| *p == product)
            .map(|(_, r)| r)
            .collect();
        let retrained = runs
            .iter()
            .filter(|r| matches!(r, QuarterRun::Retrained { .. }))
            .count();
        assert_eq!(retrained, 1, "{backend:?} {product:?}: {runs:?}");
        assert!(runs.iter().any(|r| **r == QuarterRun::Skipped), "{runs:?}");
        let models: Vec<_> =
            a.db.models(Some(product.as_str()))
                .await
                .unwrap()
                .into_iter()
                .filter(|m| !m.id.ends_with("-before"))
                .collect();
        assert_eq!(
            models.len(),
            1,
            "{backend:?}: one candidate for {product:?}"
        );
        assert!(models[0]
            .id
            .starts_with(&format!("{}-2027Q1-", product.as_str())));
        assert_eq!(models[0].status, "champion", "{:?}", models[0].metrics);

        // The retrained model's card: data window, samples with digests, grade bands.
        let card = a.registry().card(&models[0].id).await.unwrap();
        let metrics: Value = serde_json::from_str(&models[0].metrics).unwrap();
        assert_eq!(card.as_of.as_deref(), Some("2027-01-01"));
        assert_eq!(
            card.samples["train"]["rows"],
            metrics["retrain"]["rows_train"]
        );
        assert_eq!(card.samples["oot"]["rows"], metrics["retrain"]["rows_oot"]);
        for key in ["train", "oot"] {
            let digest = card.samples[key]["sha256"].as_str().unwrap();
            assert_eq!(digest.len(), 64, "{digest}");
        }
        assert!(!card.grade_bands.is_empty());
        assert_eq!(
            card.grade_bands.iter().map(|g| g.oot_loans).sum::<usize>() as u64,
            metrics["retrain"]["rows_oot"].as_u64().unwrap(),
            "every out-of-time loan falls in one band"
        );
        assert_eq!(
            card.grade_bands.iter().map(|g| g.oot_bads).sum::<usize>() as u64,
            metrics["retrain"]["oot_bads"].as_u64().unwrap()
        );
        assert_eq!(card.promotions.len(), 1);
        assert_eq!(card.promotions[0].promoted_by, "schedule");
    }
    let promotions = common::audit_entries(&a.db)
        .await
        .iter()
        .filter(|e| e["kind"] == "model.promoted")
        .count();
    assert_eq!(promotions, 2, "one promotion per product");
    // Later checks in the same quarter, on either replica, do nothing.
    clock.set("2027-02-15T03:00:00Z".parse().unwrap());
    let later = jobs::run_quarter(&b, "replica-b", clock.now()).await;
    assert!(
        later.iter().all(|(_, r)| *r == QuarterRun::Skipped),
        "{later:?}"
    );
    assert_eq!(
        a.db.models(None).await.unwrap().len(),
        4,
        "two fixtures, two candidates"
    );
    let runs = a.db.scheduled_runs().await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.finished_at.is_some()));
}

fn bad_rate(samples: &retrain::Samples) -> (usize, f64) {
    let train = samples.train();
    let bads = train.iter().filter(|e| e.bad).count();
    (train.len(), bads as f64 / train.len() as f64)
}

/// The issue: "after a purge dated 2031 the training bad rate fell from 6.8 % to 0.2 %": the
/// purge deletes old defaults and keeps the goods of the same vintages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_years_later_leaves_the_training_bad_rate_unchanged() {
    let t = test_db(Backend::Sqlite).await;
    let clock = test_clock();
    let state =
        creditbridge::startup::build_state_with(test_settings(&t.url, t.dir.path()), clock.clone())
            .await
            .unwrap();
    let size = DemoSize {
        enterprises: 1500,
        households: 1500,
        seed: 5,
    };
    demo::import_city(&state, &t.dir.path().join("city"), &size)
        .await
        .unwrap();
    let settings = training::Settings::default();
    let as_of = common::test_today();
    let before = retrain::samples(&state.retraining(&settings), Product::Sme, as_of)
        .await
        .unwrap();
    let (n_before, rate_before) = bad_rate(&before);

    // Years later: the purge deletes the defaults that ended more than five years before.
    clock.set("2029-06-01T00:00:00Z".parse().unwrap());
    let purged =
        creditbridge::feeds::maintenance::purge(&state.db, &state.audit, clock.now(), None, false)
            .await
            .unwrap();
    assert!(
        purged.loan_defaults > 0,
        "the purge deleted defaults: {purged:?}"
    );
    let after = retrain::samples(&state.retraining(&settings), Product::Sme, as_of)
        .await
        .unwrap();
    let (n_after, rate_after) = bad_rate(&after);
    assert_eq!(after.complete_from.to_string(), "2024-06-01");
    assert!(after
        .train()
        .iter()
        .all(|e| e.disbursed_on >= after.complete_from));
    eprintln!(
        "sme training sample: bad rate {rate_before:.4} on {n_before} loans before the purge, \
         {rate_after:.4} on {n_after} after (complete vintages from {})",
        after.complete_from
    );
    // Within noise: three standard errors of the smaller sample's bad rate.
    let se = (rate_before * (1.0 - rate_before) / n_after as f64).sqrt();
    assert!(
        (rate_after - rate_before).abs() <= 3.0 * se,
        "bad rate {rate_before:.4} on {n_before} loans before the purge, {rate_after:.4} on {n_after} after (3 SE = {:.4})",
        3.0 * se
    );
    // And exactly: the complete vintages lost nothing to the purge.
    let same: Vec<_> = before
        .train()
        .into_iter()
        .filter(|e| e.disbursed_on >= after.complete_from)
        .map(|e| (e.loan_id.clone(), e.bad))
        .collect();
    let kept: Vec<_> = after
        .train()
        .into_iter()
        .map(|e| (e.loan_id.clone(), e.bad))
        .collect();
    assert_eq!(same, kept);
}

/// Time is an input: a resident id's birth date is checked against the service's clock, not the
/// machine's. Born 2026-11-30, two days after the app's pinned day: refused until its clock
/// reaches that day, whatever the wall clock says.
#[tokio::test]
async fn a_birth_date_is_in_the_future_by_the_services_clock_not_the_machines() {
    for backend in backends() {
        let app = crate::common::TestApp::spawn(backend).await;
        let bank = app.partner_key("bank").await;
        let body = json!({
            "subject": "44082520261130001X", "purpose": "loan_application",
            "valid_until": "2027-06-30", "evidence_sha256": crate::common::EVIDENCE,
            "signed_at": "2026-11-01T09:00:00Z"
        });
        let (status, answer) = app.post(&bank, "/v1/consents", body.clone()).await;
        assert_eq!(status, 422, "{backend:?}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("is in the future"), "{message}");
        assert!(
            !message.contains("44082520261130001X"),
            "never echoed: {message}"
        );

        app.clock.set("2026-12-01T09:00:00Z".parse().unwrap());
        let (status, answer) = app.post(&bank, "/v1/consents", body).await;
        assert_eq!(status, 201, "{backend:?}: {answer}");
        app.stop().await;
    }
}
