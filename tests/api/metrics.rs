//! The operational metrics of issue 18, item 2: ledger lag and checkpoint age, champion
//! reloads, retrain outcomes and feed rejections appear in `/metrics` and move when their event
//! happens. The recorder is one per test process, so counters are compared before and after
//! (other tests may add to them meanwhile, never take away).

use chrono::Duration;

use crate::common::fixtures::USCC;
use crate::common::{backends, Backend, TestApp};

/// The value of the series `name` whose labels include every one of `labels` (`key="value"`).
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .find_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()))
}

async fn scrape(app: &TestApp) -> String {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn ledger_lag_and_checkpoint_age_follow_the_sequencer() {
    for backend in backends() {
        // The sequencer runs only when the test asks (`sequence`), so the lag stays put meanwhile.
        let app = TestApp::spawn_with(backend, |s| {
            s.ledger.sequence_interval_ms = 3_600_000;
            s.ledger.checkpoint_interval_ms = 3_600_000;
        })
        .await;
        let bank = app.partner_key("bank").await;
        // Its first run (at start) is over: from here on only the test's own runs.
        app.sequence().await;
        app.consent(&bank, USCC, "loan_application").await;
        app.consent(&bank, USCC, "post_loan").await;
        let text = scrape(&app).await;
        let lag = value(&text, "creditbridge_ledger_lag_entries", &[]).expect("lag gauge");
        assert_eq!(lag, 2.0, "two entries recorded, none sequenced");

        app.sequence().await;
        app.clock.advance(Duration::seconds(30));
        let text = scrape(&app).await;
        assert_eq!(
            value(&text, "creditbridge_ledger_lag_entries", &[]),
            Some(0.0)
        );
        assert_eq!(
            value(&text, "creditbridge_ledger_checkpoint_age_seconds", &[]),
            Some(30.0),
            "signed at the app's now, scraped 30 s later"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn champion_reloads_and_retrain_outcomes_are_counted() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let reloads = ["outcome=\"ok\""];
    let before = value(
        &scrape(&app).await,
        "creditbridge_champion_reloads_total",
        &reloads,
    )
    .unwrap_or(0.0);
    creditbridge::app::jobs::reload_champions(&app.state).await;
    let text = scrape(&app).await;
    let after = value(&text, "creditbridge_champion_reloads_total", &reloads).unwrap();
    assert!(after >= before + 1.0, "{before} -> {after}");
    let last = value(
        &text,
        "creditbridge_champion_reload_last_success_seconds",
        &[],
    )
    .unwrap();
    assert!(
        last >= crate::common::test_now().timestamp() as f64,
        "{last}"
    );

    // A retraining with no loans to learn from fails, and says so by product.
    let failed = ["product=\"farmer\"", "outcome=\"failed\""];
    let before = value(&scrape(&app).await, "creditbridge_retrains_total", &failed).unwrap_or(0.0);
    let today = crate::common::test_today();
    assert!(app
        .state
        .retrain(creditbridge::domain::Product::Farmer, today)
        .await
        .is_err());
    let after = value(&scrape(&app).await, "creditbridge_retrains_total", &failed).unwrap();
    assert!(after >= before + 1.0, "{before} -> {after}");
    app.stop().await;
}

#[tokio::test]
async fn feed_rejections_are_counted_by_kind_and_reason() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let tax = app.partner_key("tax_bureau").await;
    let invalid = ["kind=\"tax-grades\"", "reason=\"invalid_rows\""];
    let before = value(
        &scrape(&app).await,
        "creditbridge_feed_rejections_total",
        &invalid,
    )
    .unwrap_or(0.0);
    let bad_grade = format!(
        "uscc,year,grade,score,direct_d,effective_from\n{USCC},2024,Z,92,false,2025-04-20\n"
    );
    let (status, _, body) = app
        .feed(
            &tax,
            "tax-grades",
            Some("text/csv"),
            None,
            bad_grade.into_bytes(),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let after = value(
        &scrape(&app).await,
        "creditbridge_feed_rejections_total",
        &invalid,
    )
    .unwrap();
    assert!(after >= before + 1.0, "{before} -> {after}");
    app.stop().await;
}
