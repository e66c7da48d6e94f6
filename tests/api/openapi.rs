//! The self-description of the service: `/openapi.json` documents every routed `/v1` operation,
//! `/docs` is served from the binary with no CDN, and `/metrics` counts requests and scores.

use std::collections::BTreeSet;

use crate::common::fixtures::{self, USCC};
use crate::common::{sme_score_body, Backend, TestApp};
use serde_json::{json, Value};

/// Every `(METHOD, /v1 path)` the router serves, read from the `.route(...)` calls in
/// `src/http`, so that a route added later without documentation fails this test.
fn routed_v1_operations() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut ops = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for call in source.split(".route(\"").skip(1) {
            let (path, rest) = call.split_once('"').unwrap();
            if !path.starts_with("/v1") {
                continue;
            }
            // The method routers of this call: everything up to the end of the `.route(...)`.
            let handlers = rest.split("\n").next().unwrap();
            let mut found = false;
            for method in ["get", "post", "put", "patch", "delete"] {
                if handlers.contains(&format!("{method}(")) {
                    ops.insert((method.to_uppercase(), path.to_owned()));
                    found = true;
                }
            }
            assert!(found, "no method router found for {path}: {handlers}");
        }
    }
    ops
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

/// Every `$ref` string anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_json_documents_every_routed_v1_operation_with_the_bearer_scheme() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let routed = routed_v1_operations();
    assert!(
        routed.len() >= 13,
        "the source scan found too few routes: {routed:?}"
    );

    // Act
    let doc: Value = app.openapi().await;

    // Assert
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let documented = documented_operations(&doc);
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(missing.is_empty(), "routed but not documented: {missing:?}");
    let phantom: Vec<_> = documented.difference(&routed).collect();
    assert!(phantom.is_empty(), "documented but not routed: {phantom:?}");
    assert_eq!(
        doc["components"]["securitySchemes"]["partner_key"],
        json!({ "type": "http", "scheme": "bearer" })
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert_eq!(
                op["security"],
                json!([{ "partner_key": [] }]),
                "{method} {path} does not declare the partner key"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
        }
    }
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    assert!(all_refs.iter().any(|r| r.ends_with("/ScoreResponse")));
    for r in all_refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "$ref {r} points at no schema"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn docs_are_html_served_from_the_binary_with_no_external_scripts_or_styles() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;

    // Act: reqwest follows the redirect from /docs to /docs/.
    let resp = app.client.get(app.url("/docs")).send().await.unwrap();

    // Assert
    assert_eq!(resp.status(), 200);
    let base = resp.url().clone();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = resp.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let target = part.split('"').next().unwrap();
            assert!(
                !target.starts_with("http:")
                    && !target.starts_with("https:")
                    && !target.starts_with("//"),
                "external asset {target} in /docs"
            );
            assets.push(target.to_owned());
        }
    }
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "{assets:?}"
    );
    for asset in assets {
        let url = base.join(&asset).unwrap();
        let resp = app.client.get(url.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        if asset.ends_with("swagger-initializer.js") {
            let js = resp.text().await.unwrap();
            assert!(js.contains("/openapi.json"), "{js}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn docs_serve_the_page_its_script_and_stylesheet_with_their_types_and_404_otherwise() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let expected = [
        ("/docs/", "text/html"),
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-initializer.js", "text/javascript"),
        ("/docs/swagger-ui.css", "text/css"),
    ];

    for (path, content_type) in expected {
        // Act
        let resp = app.client.get(app.url(path)).send().await.unwrap();

        // Assert
        assert_eq!(resp.status(), 200, "{path}");
        let got = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(got.starts_with(content_type), "{path}: {got}");
        let body = resp.bytes().await.unwrap();
        assert!(!body.is_empty(), "{path} is empty");
    }
    // The bundle is Swagger UI itself, not a placeholder.
    let bundle = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        bundle.contains("SwaggerUIBundle"),
        "the bundle lacks SwaggerUIBundle"
    );

    // Files of Swagger UI's dist folder that are no longer embedded, and made-up names.
    for path in [
        "/docs/swagger-ui-bundle.js.map",
        "/docs/swagger-ui-es-bundle.js",
        "/docs/no-such-file.js",
        "/docs/..%2Fopenapi.json",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    app.stop().await;
}

/// The value of the first sample of `name` whose labels include all of `labels`, or 0.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|lab| l.contains(lab)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_scores_by_product_and_grade() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-metrics-1", 1).await;
    fixtures::install_champion(&app.state, "farmer", "farmer-metrics-1", 2).await;
    let bank = app.partner_key("bank").await;
    let metrics = || async {
        let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/plain"), "{ct}");
        resp.text().await.unwrap()
    };
    let before = metrics().await;
    let ready = &["route=\"/readyz\"", "status=\"200\""];

    // Act
    for _ in 0..3 {
        let r = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let consent = app.consent(&bank, USCC, "loan_application").await;
    let (status, scored) = app.score(&bank, sme_score_body(&consent)).await;
    assert_eq!(status, 200);
    let after = metrics().await;

    // Assert
    assert!(
        after.contains("# TYPE creditbridge_http_requests_total counter"),
        "{after}"
    );
    assert!(
        sample(&after, "creditbridge_http_requests_total", ready)
            >= sample(&before, "creditbridge_http_requests_total", ready) + 3.0,
        "{after}"
    );
    assert!(
        sample(
            &after,
            "creditbridge_http_requests_total",
            &["route=\"/v1/scores\"", "method=\"POST\"", "status=\"200\""]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        after.contains("creditbridge_http_request_duration_seconds_bucket"),
        "{after}"
    );
    let grade = format!("grade=\"{}\"", scored["grade"].as_str().unwrap());
    let score_labels = &["product=\"sme\"", grade.as_str()];
    assert_eq!(
        sample(&after, "creditbridge_scores_total", score_labels),
        sample(&before, "creditbridge_scores_total", score_labels) + 1.0,
        "{after}"
    );
    assert!(after.contains("creditbridge_audit_queue_depth"), "{after}");
    // The group commit's size is counted in rows, not in the latency buckets.
    assert!(
        after.contains("creditbridge_audit_group_rows_bucket{le=\"64\"}"),
        "{after}"
    );
    assert!(sample(&after, "creditbridge_audit_commit_seconds_count", &[]) >= 1.0);
    app.stop().await;
}

/// Issue 18, item 7: every operation says what it does and every error it can answer, in the
/// error shape; the vocabulary of the fields is spelled out; the catalogues are served.
#[tokio::test]
async fn every_operation_is_described_with_its_errors_and_its_fields_vocabulary() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc: Value = app.openapi().await;
    let mut undescribed = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let said = |k: &str| op[k].as_str().is_some_and(|s| !s.trim().is_empty());
            if !said("summary") && !said("description") {
                undescribed.push(format!("{method} {path}"));
            }
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "429"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            for (status, answer) in responses {
                if status.as_str() >= "400" {
                    assert_eq!(
                        answer["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
            assert!(responses["429"]["headers"]["Retry-After"].is_object());
        }
    }
    assert!(
        undescribed.is_empty(),
        "operations without a description: {undescribed:?}"
    );
    let score = &doc["components"]["schemas"]["ScoreRequest"]["properties"];
    assert_eq!(score["product"]["enum"], json!(["sme", "farmer"]));
    assert_eq!(
        score["purpose"]["enum"],
        json!(["loan_application", "post_loan", "underwriting"])
    );
    assert!(score["subject"]["pattern"].is_string());
    let kind = &doc["paths"]["/v1/feeds/{kind}"]["post"]["parameters"][0]["schema"]["enum"];
    assert!(
        kind.as_array()
            .is_some_and(|k| k.contains(&json!("tax-grades"))),
        "{kind}"
    );

    // The catalogues, for any partner's key.
    let insurer = app.partner_key("insurer").await;
    let (status, errors) = app.get_json(&insurer, "/v1/catalogue/errors").await;
    assert_eq!(status, 200);
    let limited = errors
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "rate_limited")
        .expect("rate_limited listed");
    assert_eq!(limited["status"], 429);
    assert!(!limited["meaning_zh"].as_str().unwrap().is_empty());
    let (status, reasons) = app.get_json(&insurer, "/v1/catalogue/reasons").await;
    assert_eq!(status, 200);
    let late = reasons
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "SME-TAX-03")
        .expect("SME-TAX-03 listed");
    assert_eq!(late["text_zh"], "近24个月存在逾期申报");
    assert!(reasons
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["product"] == "farmer"));
    let (status, _) = app.get_json("cbk_unknown", "/v1/catalogue/reasons").await;
    assert_eq!(status, 401);
    app.stop().await;
}
