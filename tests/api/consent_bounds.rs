//! The bounds on a consent's dates (issue 17): `signed_at` not in the future nor before
//! `consent.earliest_signed_at`, `valid_until` not past `consent.max_term_days` after it. Each
//! refusal is a 422 naming the field and the setting.

use chrono::{Days, NaiveDate};
use serde_json::{json, Value};

use crate::common::fixtures::USCC;
use crate::common::{backends, test_now, test_today, Backend, TestApp, EVIDENCE};

fn body(signed_at: &str, valid_until: &str) -> Value {
    json!({ "subject": USCC, "purpose": "loan_application", "valid_until": valid_until,
            "evidence_sha256": EVIDENCE, "signed_at": signed_at })
}

fn day(d: NaiveDate) -> String {
    d.to_string()
}

/// Asserts a 422 whose message names `field` and contains `says`.
fn assert_refused(status: u16, answer: &Value, field: &str, says: &str) {
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_content", "{answer}");
    assert_eq!(answer["error"]["details"]["field"], field, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{field}: ")), "{message}");
    assert!(message.contains(says), "{message}");
}

#[tokio::test]
async fn the_absurd_consents_of_the_issue_are_refused_naming_the_field() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let bank = app.partner_key("bank").await;

        let (status, answer) = app
            .register_consent(&bank, body("2026-11-01T09:00:00Z", "9999-12-31"))
            .await;
        assert_refused(status, &answer, "valid_until", "consent.max_term_days");

        let (status, answer) = app
            .register_consent(&bank, body("0001-01-01T00:00:00Z", "2026-12-31"))
            .await;
        assert_refused(status, &answer, "signed_at", "consent.earliest_signed_at");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("2013-03-15"),
            "{answer}"
        );

        // Still refused: signed tomorrow.
        let tomorrow = (test_now() + chrono::Duration::days(1)).to_rfc3339();
        let (status, answer) = app
            .register_consent(&bank, body(&tomorrow, "2026-12-31"))
            .await;
        assert_refused(status, &answer, "signed_at", "is in the future");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_consent_of_exactly_the_maximum_term_is_accepted_and_one_day_more_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bank = app.partner_key("bank").await;
    let signed = test_now().to_rfc3339();

    // The default term: one year, 366 days from the day of signing.
    let last = test_today().checked_add_days(Days::new(366)).unwrap();
    let (status, answer) = app.register_consent(&bank, body(&signed, &day(last))).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["valid_until"], day(last));

    let over = last.succ_opt().unwrap();
    let (status, answer) = app.register_consent(&bank, body(&signed, &day(over))).await;
    assert_refused(status, &answer, "valid_until", "more than 366 days");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&day(last)),
        "the latest allowed day is named: {answer}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_term_and_the_earliest_day_are_settings() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.consent.max_term_days = 30;
        s.consent.earliest_signed_at = "2026-11-01".parse().unwrap();
    })
    .await;
    let bank = app.partner_key("bank").await;

    // Term: 30 days from a signature on the earliest day allowed.
    let (status, answer) = app
        .register_consent(&bank, body("2026-11-01T00:00:00Z", "2026-12-01"))
        .await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = app
        .register_consent(&bank, body("2026-11-01T00:00:00Z", "2026-12-02"))
        .await;
    assert_refused(status, &answer, "valid_until", "more than 30 days");

    // Earliest day: one second before it is refused, whatever the term.
    let (status, answer) = app
        .register_consent(&bank, body("2026-10-31T23:59:59Z", "2026-11-30"))
        .await;
    assert_refused(status, &answer, "signed_at", "is before 2026-11-01");
    app.stop().await;
}
