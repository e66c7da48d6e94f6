//! The analyst's console pages in a real browser (part B of issue 19): the Monitoring page's
//! charts with their figures, a candidate's card inline, and a retraining started from the form
//! and followed by the page's own refresh (no script) to the new candidate. SQLite only, like
//! `console_browser`; CREDITBRIDGE_SCREENSHOTS=1 saves the pages to docs/console/.

use std::time::Duration;

use creditbridge::demo::{self, DemoSize};
use creditbridge::lifecycle::monitoring::ScoreBaseline;
use serde_json::json;

use crate::common::browser;
use crate::common::console::{add_user, PASSWORD};
use crate::common::{fixtures, sme_score_body, Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_analyst_reads_monitoring_opens_a_card_and_follows_a_retraining() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.monitoring.min_sample = 3).await;
    let Some(b) = browser::start(&app).await else {
        return;
    };
    let size = DemoSize {
        enterprises: 1200,
        households: 1200,
        seed: 11,
    };
    demo::import_city(&app.state, &app.test_db.dir.path().join("city"), &size)
        .await
        .unwrap();
    fixtures::seed_subjects(&app.state).await;
    let baseline = ScoreBaseline::from_scores(&(300..900).map(f64::from).collect::<Vec<_>>(), 10);
    fixtures::install_champion_with(
        &app.state,
        "sme",
        "sme-mon",
        7,
        json!({ "baseline": baseline }),
    )
    .await;
    fixtures::register_candidate(&app.state, "sme", "sme-shadow", 8, json!({})).await;
    app.state.champions.refresh(&app.state.db).await.unwrap();
    let bank = app.partner_key("bank").await;
    let consent = app.consent(&bank, fixtures::USCC, "loan_application").await;
    for _ in 0..4 {
        let (status, s) = app.score(&bank, sme_score_body(&consent)).await;
        assert_eq!(status, 200, "{s}");
    }
    add_user(&app.state, "an", "analyst").await;
    b.sign_in("an", PASSWORD).await;
    b.wait_path("/console").await;
    b.click("#lang-toggle").await;
    assert_eq!(b.text_once("h1", "Overview").await, "Overview");

    // Monitoring: the month's four scores beside the charts, and the shadow candidate.
    b.goto("/console/monitoring").await;
    assert_eq!(b.text("#observations-sme-2026-11").await, "4");
    assert!(b.exists("svg#mix-sme").await && b.exists("svg#shadow-sme").await);
    assert_eq!(b.text("#shadow-model-sme").await, "sme-shadow");
    assert!(b.exists("#no-champion-farmer").await);
    b.shot("monitoring").await;

    // The candidate's card inline, reached from the shadow comparison.
    b.click("#shadow-model-sme").await;
    assert_eq!(
        b.wait_path("/console/models/sme-shadow").await,
        "/console/models/sme-shadow"
    );
    assert_eq!(b.text("#model-card h1").await, "Model card sme-shadow");
    assert!(b.exists("#changes-sme-shadow").await);
    b.shot("model-card").await;

    // A retraining as of today (the form's default date), followed to its end by the page's
    // own refresh.
    b.goto("/console/retrain").await;
    b.click("#retrain-start").await;
    let at = b.wait_path("/console/retrain/").await;
    let mut page = String::new();
    for _ in 0..1200 {
        page = b.source().await;
        if !page.contains("data-state=\"running\"") && page.contains("id=\"retrain-run\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(page.contains("data-state=\"finished\""), "{page}");
    assert_eq!(b.path().await, at, "the page refreshed itself in place");
    let retrained: Vec<String> = app
        .state
        .db
        .models(Some("sme"))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .filter(|id| id != "sme-mon" && id != "sme-shadow")
        .collect();
    assert_eq!(retrained.len(), 1, "{retrained:?}");
    assert_eq!(b.text("#run-model").await, retrained[0]);
    b.shot("retrain").await;
    b.close().await;
    app.stop().await;
}
