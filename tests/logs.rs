//! Identity numbers never reach the logs in clear (domain.md §5), even where a route takes one in
//! its path and at the most verbose level: spans name the route template, not the path.

#[path = "api/common/mod.rs"]
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::fixtures::RESIDENT;
use common::{Backend, TestApp};
use serde_json::json;

/// Everything the subscriber writes, kept for the assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn identity_numbers_stay_out_of_the_logs_at_debug_level() {
    // Arrange: every event at debug level, with its spans' fields, into a buffer. This is the
    // only test in this binary, so the global subscriber is its own.
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.partner_key("admin").await;
    let bank = app.partner_key("bank").await;
    // The same person with an impossible birth date (30 February), check character recomputed.
    let body = format!("{}0230{}", &RESIDENT[..10], &RESIDENT[14..17]);
    let bad_date = format!(
        "{body}{}",
        creditbridge::domain::ResidentId::check_character(&body).unwrap()
    );

    // Act: the subject history route (an identity number in the path), a path that matches no
    // route, and a consent and a score refused for the bad birth date.
    let history = app
        .get(&admin, &format!("/v1/audit/subjects/{RESIDENT}"))
        .await;
    let unmatched = app
        .get(&admin, &format!("/v1/audit/subject/{RESIDENT}"))
        .await;
    let (consent_status, consent) = app
        .post(
            &bank,
            "/v1/consents",
            json!({ "subject": bad_date, "purpose": "loan_application", "valid_until": "2027-06-30",
                    "evidence_sha256": common::EVIDENCE, "signed_at": "2026-11-01T09:00:00Z" }),
        )
        .await;
    let (score_status, score) = app
        .post(
            &bank,
            "/v1/scores",
            json!({ "product": "farmer", "subject": bad_date, "purpose": "loan_application",
                    "consent_id": "01J00000000000000000000000" }),
        )
        .await;
    app.stop().await;

    // Assert
    assert_eq!(history.status(), 200);
    assert_eq!(unmatched.status(), 404);
    assert_eq!(consent_status, 422, "{consent}");
    assert_eq!(score_status, 422, "{score}");
    for answer in [&consent, &score] {
        assert!(!answer.to_string().contains("19490230"), "{answer}");
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("route=/v1/audit/subjects/{subject}"),
        "the requests were logged with their route: {logs}"
    );
    assert!(logs.contains("route=unmatched"), "{logs}");
    for secret in [RESIDENT, bad_date.as_str(), "19491231", "19490230"] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
}
