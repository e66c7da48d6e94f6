//! Roles on every route: a table of every `/v1` operation with the roles product.md lets use
//! it, tried with a key of each role; every operation refuses a request without a valid key; the
//! operational endpoints need none.

use std::collections::BTreeSet;

use crate::common::fixtures::{self, USCC};
use crate::common::{backends, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const ROLES: [&str; 7] = [
    "bank",
    "insurer",
    "tax_bureau",
    "assessor",
    "public_records",
    "admin",
    "auditor",
];

const EVIDENCE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

enum Body {
    None,
    Json(Value),
    Csv(&'static str),
}

/// One operation: the path template (as documented), the path actually called, the body sent,
/// and the roles allowed to use it.
struct Route {
    method: Method,
    template: String,
    path: String,
    body: Body,
    allowed: &'static [&'static str],
}

fn route(
    method: Method,
    template: &str,
    path: &str,
    body: Body,
    allowed: &'static [&'static str],
) -> Route {
    Route {
        method,
        template: template.to_owned(),
        path: path.to_owned(),
        body,
        allowed,
    }
}

const PARTNERS: &[&str] = &["bank", "insurer"];
const ADMIN: &[&str] = &["admin"];
/// The whole audit ledger is read by administrators and auditors; auditors change nothing.
const LEDGER_READERS: &[&str] = &["admin", "auditor"];
const ALL: &[&str] = &ROLES;

/// The table, from product.md and docs/feeds.md. Bodies are well formed so that an allowed role
/// gets past parsing; what it gets then (200, 201, 403 for want of consent, 404, 409, 422) is not
/// this test's business.
fn table() -> Vec<Route> {
    let score = json!({ "product": "sme", "subject": USCC, "purpose": "loan_application",
                        "consent_id": "01J00000000000000000000000" });
    let mut t = vec![
        route(
            Method::POST,
            "/v1/consents",
            "/v1/consents",
            Body::Json(json!({
                "subject": USCC, "purpose": "loan_application", "valid_until": "2027-06-30",
                "evidence_sha256": EVIDENCE, "signed_at": "2026-11-01T09:00:00Z"
            })),
            PARTNERS,
        ),
        route(
            Method::POST,
            "/v1/consents/{id}/revoke",
            "/v1/consents/01J00000000000000000000000/revoke",
            Body::None,
            PARTNERS,
        ),
        route(
            Method::POST,
            "/v1/consents/{id}/withdraw",
            "/v1/consents/01J00000000000000000000000/withdraw",
            Body::Json(json!({ "evidence_sha256": EVIDENCE })),
            ADMIN,
        ),
        route(
            Method::GET,
            "/v1/consents/subjects/{subject}",
            &format!("/v1/consents/subjects/{USCC}"),
            Body::None,
            ADMIN,
        ),
        route(
            Method::GET,
            "/v1/partners/{id}/keys",
            "/v1/partners/p_nope/keys",
            Body::None,
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/partners/{id}/keys/rotate",
            "/v1/partners/p_nope/keys/rotate",
            Body::Json(json!({})),
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/partner-keys/{key_id}/revoke",
            "/v1/partner-keys/k_nope/revoke",
            Body::None,
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/scores",
            "/v1/scores",
            Body::Json(score.clone()),
            PARTNERS,
        ),
        route(
            Method::POST,
            "/v1/scores/batch",
            "/v1/scores/batch",
            Body::Json(json!({ "requests": [score] })),
            PARTNERS,
        ),
    ];
    let feeds: [(&str, &'static [&'static str]); 7] = [
        ("enterprises", &["tax_bureau", "admin"]),
        ("tax-grades", &["tax_bureau", "admin"]),
        ("tax-payments", &["tax_bureau", "admin"]),
        ("households", &["assessor", "admin"]),
        ("farmer-assessments", &["assessor", "admin"]),
        ("public-records", &["public_records", "admin"]),
        ("loan-outcomes", &["bank", "admin"]),
    ];
    for (kind, allowed) in feeds {
        // A header-only file with a column nobody knows: refused as invalid, nothing stored.
        t.push(route(
            Method::POST,
            "/v1/feeds/{kind}",
            &format!("/v1/feeds/{kind}"),
            Body::Csv("no_such_column\n"),
            allowed,
        ));
    }
    t.extend([
        route(Method::GET, "/v1/models", "/v1/models", Body::None, ADMIN),
        route(
            Method::GET,
            "/v1/models/{id}",
            "/v1/models/no-such-model",
            Body::None,
            ADMIN,
        ),
        route(
            Method::GET,
            "/v1/models/{id}/card",
            "/v1/models/no-such-model/card",
            Body::None,
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/models/{id}/promote",
            "/v1/models/no-such-model/promote",
            Body::None,
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/models/{id}/approve",
            "/v1/models/no-such-model/approve",
            Body::None,
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/models/rollback/{product}",
            "/v1/models/rollback/sme",
            Body::None,
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/models/retrain",
            "/v1/models/retrain",
            Body::Json(json!({ "product": "sme" })),
            ADMIN,
        ),
        route(
            Method::GET,
            "/v1/monitoring/{product}",
            "/v1/monitoring/sme",
            Body::None,
            ADMIN,
        ),
        route(
            Method::GET,
            "/v1/audit/verify",
            "/v1/audit/verify",
            Body::None,
            LEDGER_READERS,
        ),
        route(
            Method::GET,
            "/v1/audit/subjects/{subject}",
            &format!("/v1/audit/subjects/{USCC}"),
            Body::None,
            LEDGER_READERS,
        ),
        // The log's key, checkpoint and proofs are every partner's: a bank checks its own
        // receipts (another partner's entry answers 404 but an auditor's 200, in
        // tests/api/audit_trail.rs).
        route(
            Method::GET,
            "/v1/audit/public-key",
            "/v1/audit/public-key",
            Body::None,
            ALL,
        ),
        route(
            Method::GET,
            "/v1/audit/checkpoint",
            "/v1/audit/checkpoint",
            Body::None,
            ALL,
        ),
        route(
            Method::GET,
            "/v1/audit/proofs/inclusion/{event_id}",
            "/v1/audit/proofs/inclusion/01JXXXXXXXXXXXXXXXXXXXXXXX",
            Body::None,
            ALL,
        ),
        route(
            Method::GET,
            "/v1/audit/proofs/consistency",
            "/v1/audit/proofs/consistency?from=0&to=0",
            Body::None,
            ALL,
        ),
        route(
            Method::GET,
            "/v1/catalogue/errors",
            "/v1/catalogue/errors",
            Body::None,
            ALL,
        ),
        route(
            Method::GET,
            "/v1/catalogue/reasons",
            "/v1/catalogue/reasons",
            Body::None,
            ALL,
        ),
    ]);
    t
}

async fn call(app: &TestApp, r: &Route, key: Option<&str>) -> (u16, Value) {
    let mut req = app.client.request(r.method.clone(), app.url(&r.path));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req = match &r.body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::Csv(text) => req.header("content-type", "text/csv").body(*text),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_table_covers_every_documented_v1_operation() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let in_table: BTreeSet<(String, String)> = table()
        .iter()
        .map(|r| (r.method.to_string(), r.template.clone()))
        .collect();

    // Act
    let doc: Value = app.openapi().await;

    // Assert
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    assert_eq!(in_table, documented);
    app.stop().await;
}

#[tokio::test]
async fn each_role_is_refused_exactly_on_the_routes_it_may_not_use() {
    for backend in backends() {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let mut keys = Vec::new();
        for role in ROLES {
            keys.push((role, app.partner_key(role).await));
        }
        let mut wrong = Vec::new();

        // Act
        for r in table() {
            for (role, key) in &keys {
                let (status, body) = call(&app, &r, Some(key)).await;
                let refused_for_role = status == 403 && body["error"]["code"] == "role_not_allowed";
                let allowed = r.allowed.contains(role);
                if refused_for_role == allowed {
                    wrong.push(format!(
                        "{} {} as {role}: {status} {body} (allowed: {allowed})",
                        r.method, r.path
                    ));
                }
                if refused_for_role {
                    assert!(
                        body["error"]["message"].as_str().unwrap().contains(role),
                        "{body}"
                    );
                }
            }
        }

        // Assert
        assert!(wrong.is_empty(), "{backend:?}:\n{}", wrong.join("\n"));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_wrong_role_is_refused_before_its_body_is_judged() {
    // Arrange: bodies that no handler could parse.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut keys = Vec::new();
    for role in ROLES {
        keys.push((role, app.partner_key(role).await));
    }
    let mut wrong = Vec::new();

    // Act
    for mut r in table() {
        r.body = match r.body {
            Body::None => Body::None,
            Body::Json(_) => Body::Csv("{\"product\": oops"),
            Body::Csv(_) => Body::Csv("not,a\n\"broken"),
        };
        for (role, key) in &keys {
            if r.allowed.contains(role) {
                continue;
            }
            let (status, body) = call(&app, &r, Some(key)).await;
            if status != 403 || body["error"]["code"] != "role_not_allowed" {
                wrong.push(format!(
                    "{} {} as {role}: {status} {body}",
                    r.method, r.path
                ));
            }
        }
    }

    // Assert
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn every_v1_route_wants_a_valid_partner_key() {
    // Arrange: many refusals from one address, which would soon be answered 429 instead
    // (tests/api/rate_limits.rs); here each must be a 401.
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.unauthenticated_rate_limit_per_minute = 100_000
    })
    .await;
    let revoked = app
        .state
        .db
        .add_partner("gone", "admin".parse().unwrap(), crate::common::test_now())
        .await
        .unwrap();
    app.state
        .db
        .revoke_partner(&revoked.id, crate::common::test_now())
        .await
        .unwrap();

    for r in table() {
        for key in [None, Some("not-a-key"), Some(revoked.key.as_str())] {
            // Act
            let (status, body) = call(&app, &r, key).await;

            // Assert
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("unauthorized")),
                "{} {} with key {key:?}: {body}",
                r.method,
                r.path
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn health_metrics_and_docs_need_no_key() {
    // Arrange: champions loaded, so /readyz is ready.
    let app = TestApp::spawn(Backend::Sqlite).await;
    fixtures::install_champion(&app.state, "sme", "sme-open-1", 1).await;
    fixtures::install_champion(&app.state, "farmer", "farmer-open-1", 2).await;

    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"] {
        // Act: no Authorization header; redirects (/docs → /docs/) are followed.
        let resp = app.client.get(app.url(path)).send().await.unwrap();

        // Assert
        assert_eq!(resp.status(), 200, "{path}");
        assert!(!resp.text().await.unwrap().is_empty(), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn partners_keys_and_consents_survive_the_migration_that_admits_auditors() {
    for backend in backends() {
        // Arrange: a database at the schema before the auditor role, with a bank, its key and a
        // consent pointing at it.
        let key = "cbk_fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        let seed = format!(
            "INSERT INTO partners (id, name, role, key_sha256, status, created_at) \
               VALUES ('p_bank', 'old bank', 'bank', 'keys:p_bank', 'active', '2025-01-02T03:04:05Z'); \
             INSERT INTO partner_keys (id, partner_id, key_sha256, created_at) \
               VALUES ('k_bank', 'p_bank', '{}', '2025-01-02T03:04:05Z'); \
             INSERT INTO consents (id, partner_id, subject_type, subject_key, subject_masked, purpose, \
               valid_until, evidence_sha256, signed_at, created_at) \
               VALUES ('c_old', 'p_bank', 'enterprise', 'k', '9144****341L', 'loan_application', \
               '2026-12-31', '{EVIDENCE}', '2025-01-02T00:00:00Z', '2025-01-02T03:04:05Z')",
            creditbridge::storage::partners::key_digest(key)
        );
        let (url, _dir) = crate::common::db_before_migration(backend, 12, &seed).await;

        // Act: the service's migrations run; an auditor is added.
        let db = creditbridge::storage::Db::connect(&url, 2).await.unwrap();
        let auditor = db
            .add_partner(
                "regulator",
                "auditor".parse().unwrap(),
                crate::common::test_now(),
            )
            .await;

        // Assert: the bank, its key and its consent are as they were, the keys still point at
        // partners, and the new role is accepted.
        let (partner, first) = db.partner_by_key(key).await.unwrap().expect("old key");
        assert_eq!(
            (partner.id.as_str(), partner.role.as_str()),
            ("p_bank", "bank")
        );
        assert_eq!(first.id, "k_bank");
        let consent_partner: String = creditbridge::with_db!(&db, p => sqlx::query_scalar(
            "SELECT partner_id FROM consents WHERE id = 'c_old'").fetch_one(p).await)
        .unwrap();
        assert_eq!(consent_partner, "p_bank");
        let orphan = creditbridge::with_db!(&db, p => sqlx::query(
            "INSERT INTO partner_keys (id, partner_id, key_sha256, created_at) \
             VALUES ('k_x', 'p_nobody', 'x', '2025-01-02T03:04:05Z')").execute(p).await.map(|_| ()));
        assert!(
            orphan.is_err(),
            "{backend:?}: a key of no partner was stored"
        );
        assert_eq!(auditor.unwrap().role.as_str(), "auditor");
        db.close().await;
    }
}
