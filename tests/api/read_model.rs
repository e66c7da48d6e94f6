//! The serving read model: scores come from partners, consents and facts held in memory, and
//! whatever changes them elsewhere — a feed imported by the CLI, a consent or key revoked on
//! another replica, a purge — reaches the scores within the refresh interval, counted by the
//! database's triggers.

use std::time::{Duration, Instant};

use crate::common::fixtures::{self, USCC};
use crate::common::{backends, sme_score_body, Backend, TestApp};
use creditbridge::feeds::FeedKind;
use creditbridge::storage::revisions::Revised;
use serde_json::Value;

async fn ready_app(backend: Backend) -> TestApp {
    let app = TestApp::spawn_with(backend, |s| s.read_model_refresh_ms = 50).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-test-1", 1).await;
    app
}

/// Scores until `done` holds for the answer, or fails after 5 s (the refresh runs every 50 ms).
async fn eventually(app: &TestApp, key: &str, consent: &str, done: impl Fn(u16, &Value) -> bool) {
    let start = Instant::now();
    loop {
        let (status, body) = app.score(key, sme_score_body(consent)).await;
        if done(status, &body) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still {status} {body} after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn flags(body: &Value) -> Vec<String> {
    body["flags"]
        .as_array()
        .map(|a| a.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_feed_imported_elsewhere_reaches_the_next_scores() {
    for backend in backends() {
        // Arrange: the listing is cached by a first score.
        let app = ready_app(backend).await;
        let bank = app.partner_key("bank").await;
        let consent = app.consent(&bank, USCC, "loan_application").await;
        let (status, first) = app.score(&bank, sme_score_body(&consent)).await;
        assert_eq!(status, 200, "{first}");
        assert!(flags(&first).contains(&"dishonest_debtor_active".to_owned()));

        // Act: the public credit platform's repair arrives by the import path (as from the CLI),
        // not through this server.
        let today = crate::common::test_now().date_naive();
        let listed = today - chrono::Days::new(30);
        let until = today + chrono::Days::new(700);
        fixtures::feed(&app.state, FeedKind::ALL.into_iter().find(|k| k.as_str() == "public-records").unwrap(),
            &format!("record_id,subject_type,subject_id,kind,severity,listed_at,display_until,repaired_at\n\
                      DD-1,enterprise,{USCC},dishonest_debtor,normal,{listed},{until},{today}\n")).await;

        // Assert
        eventually(&app, &bank, &consent, |status, body| {
            status == 200 && !flags(body).contains(&"dishonest_debtor_active".to_owned())
        })
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_consent_or_key_revoked_on_another_replica_stops_scores() {
    for backend in backends() {
        // Arrange: key and consent are cached by a first score.
        let app = ready_app(backend).await;
        let bank = app.partner_key("bank").await;
        let consent = app.consent(&bank, USCC, "loan_application").await;
        let (status, _) = app.score(&bank, sme_score_body(&consent)).await;
        assert_eq!(status, 200);

        // Act / Assert: revoked in the database directly, as another replica or the CLI would.
        app.state
            .db
            .revoke_consent(&consent, crate::common::test_now())
            .await
            .unwrap();
        eventually(&app, &bank, &consent, |status, body| {
            status == 403 && body["error"]["code"] == "consent_revoked"
        })
        .await;

        let partner = app.state.db.list_partners().await.unwrap();
        let bank_id = &partner.iter().find(|p| p.name.contains("Bank")).unwrap().id;
        app.state
            .db
            .revoke_partner(bank_id, crate::common::test_now())
            .await
            .unwrap();
        eventually(&app, &bank, &consent, |status, body| {
            status == 401
                && body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("revoked")
        })
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn triggers_count_every_change_the_cache_holds() {
    for backend in backends() {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let at = |r: [i64; 3], what: Revised| r[what as usize];
        let bank = app.partner_key("bank").await;
        let consent = app.consent(&bank, USCC, "loan_application").await;
        let before = db.data_revisions().await.unwrap();

        // Act / Assert: a feed batch counts as a change of facts, once.
        fixtures::seed_subjects(&app.state).await;
        let fed = db.data_revisions().await.unwrap();
        assert!(at(fed, Revised::Facts) > at(before, Revised::Facts));
        assert_eq!(at(fed, Revised::Consents), at(before, Revised::Consents));
        assert_eq!(at(fed, Revised::Partners), at(before, Revised::Partners));

        db.revoke_consent(&consent, crate::common::test_now())
            .await
            .unwrap();
        let revoked = db.data_revisions().await.unwrap();
        assert!(at(revoked, Revised::Consents) > at(fed, Revised::Consents));

        let p = db.list_partners().await.unwrap();
        db.revoke_partner(&p[0].id, crate::common::test_now())
            .await
            .unwrap();
        let gone = db.data_revisions().await.unwrap();
        assert!(at(gone, Revised::Partners) > at(revoked, Revised::Partners));

        // A purge deletes facts without a feed batch.
        creditbridge::with_db!(db, p => sqlx::query("DELETE FROM public_records").execute(p).await.map(|_| ()))
            .unwrap();
        let purged = db.data_revisions().await.unwrap();
        assert!(at(purged, Revised::Facts) > at(gone, Revised::Facts));
        app.stop().await;
    }
}
