//! The HTTP skeleton: health, readiness, request ids, the error shape, the body limit, shutdown.

use crate::common::{backends, TestApp};
use serde_json::Value;

async fn error_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "errors are JSON"
    );
    let body: Value = resp.json().await.unwrap();
    (status, body["error"].clone())
}

#[tokio::test]
async fn health_and_readiness_answer_200_on_every_backend() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        crate::common::fixtures::install_champion(&app.state, "sme", "sme-ready-1", 1).await;
        crate::common::fixtures::install_champion(&app.state, "farmer", "farmer-ready-1", 2).await;
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200, "{backend:?}");
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{backend:?}");
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        app.stop().await;
    }
}

#[tokio::test]
async fn readiness_is_503_until_every_product_has_a_champion() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    crate::common::fixtures::install_champion(&app.state, "sme", "sme-ready-2", 1).await;
    let (status, err) = error_of(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(status, 503);
    assert!(err["message"].as_str().unwrap().contains("farmer"), "{err}");
}

#[tokio::test]
async fn readiness_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    app.state.db.close().await;
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    let (status, err) = error_of(resp).await;
    assert_eq!(status, 503);
    assert_eq!(err["code"], "unavailable");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_given_one_is_echoed() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 26, "a ULID: {id}");

    let resp = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["x-request-id"],
        "abc-123",
        "echoed on errors too"
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let (status, err) = error_of(
        app.client
            .get(app.url("/v1/nothing-here"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(err["code"], "not_found");
    assert!(err["message"].as_str().unwrap().contains("route"));
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let (status, err) =
        error_of(app.client.delete(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, 405);
    assert_eq!(err["code"], "method_not_allowed");
}

#[tokio::test]
async fn malformed_json_is_a_json_400_naming_the_problem() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let key = app.partner_key("bank").await;
    let resp = app
        .client
        .post(app.url("/v1/consents"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"subject\": ")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(resp).await;
    assert_eq!(status, 400);
    assert_eq!(err["code"], "malformed_json");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("eof"),
        "{err}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_json_413() {
    let app = TestApp::spawn_with(crate::common::Backend::Sqlite, |s| {
        s.body_limit_bytes = 1024
    })
    .await;
    let key = app.partner_key("bank").await;
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(4096));
    let resp = app.post_raw(&key, "/v1/consents", big).await;
    let (status, err) = error_of(resp).await;
    assert_eq!(status, 413);
    assert_eq!(err["code"], "payload_too_large");
}

#[tokio::test]
async fn graceful_shutdown_returns_once_the_signal_fires() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let address = app.address.clone();
    tokio::time::timeout(std::time::Duration::from_secs(10), app.stop())
        .await
        .expect("stops within 10 s");
    assert!(
        reqwest::get(format!("{address}/healthz")).await.is_err(),
        "no longer listening"
    );
}
