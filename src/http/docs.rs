//! `GET /openapi.json` (generated from the handlers' annotations) and `GET /docs` (Swagger UI
//! embedded in the binary: no CDN, so it works on a bank's closed network).
//!
//! Only the files the page needs are embedded: our own `index.html` and initializer (in
//! `assets/docs/`, outside `src/http`, whose files the route-scanning test reads), and Swagger
//! UI's bundle, stylesheet and icon, which `build.rs` extracts from the vendored archive
//! (issue 20: the whole `dist` folder was 11 MB of the binary).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{ApiError, AppState};

/// Where the OpenAPI document is served; `assets/docs/swagger-initializer.js` points Swagger UI
/// here (a unit test below checks it).
const OPENAPI_PATH: &str = "/openapi.json";

/// One file of the `/docs` page, served from the binary.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Extracted by `build.rs` from the vendored Swagger UI archive.
macro_rules! swagger_ui_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui/", $name))
    };
}

const INDEX: &str = "index.html";

const ASSETS: [Asset; 5] = [
    Asset {
        name: INDEX,
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../../assets/docs/index.html"),
    },
    Asset {
        name: "swagger-initializer.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/docs/swagger-initializer.js"),
    },
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: swagger_ui_file!("swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: swagger_ui_file!("swagger-ui.css"),
    },
    Asset {
        name: "favicon-32x32.png",
        content_type: "image/png",
        bytes: swagger_ui_file!("favicon-32x32.png"),
    },
];

/// Every `/v1` handler is listed here; `tests/openapi.rs` fails if a routed path is missing.
/// Request and response schemas are collected from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "creditbridge", description = "Credit scores with reasons for bank–tax interaction and farmer credit ratings"),
    paths(
        super::consents::register,
        super::consents::revoke,
        super::consents::withdraw,
        super::consents::of_subject,
        super::partners::rotate_key,
        super::partners::revoke_key,
        super::partners::keys,
        super::scores::score,
        super::scores::batch,
        super::feeds::upload,
        super::models::list,
        super::models::show,
        super::models::card,
        super::models::promote,
        super::models::approve,
        super::models::rollback,
        super::models::retrain,
        super::models::monitoring,
        super::audit::verify,
        super::audit::subject_history,
        super::audit::public_key,
        super::audit::checkpoint,
        super::audit::inclusion,
        super::audit::consistency,
        super::catalogue::errors,
        super::catalogue::reason_codes,
    ),
    components(schemas(super::error::ErrorBody)),
    modifiers(&PartnerKey),
    tags(
        (name = "consents", description = "Subjects' authorizations"),
        (name = "partners", description = "Partners' keys: rotation and revocation (admin)"),
        (name = "scores", description = "Credit scores with reasons, one at a time or in batches"),
        (name = "feeds", description = "Data owners' feed files"),
        (name = "models", description = "Model registry, retraining and monitoring (admin)"),
        (name = "audit", description = "The audit ledger: a signed Merkle log with receipts and proofs (verify, subject history and every entry's proofs: admin and auditor)"),
        (name = "catalogue", description = "The error codes and the reason codes, in English and Chinese"),
    )
)]
pub struct ApiDoc;

struct PartnerKey;

impl Modify for PartnerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "partner_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Operations any partner's key may call: no role, so no 403.
const ANY_PARTNER: &[&str] = &[
    "public_key",
    "checkpoint",
    "inclusion",
    "consistency",
    "catalogue_errors",
    "catalogue_reasons",
];

/// The document as served: the handlers' annotations, then what holds for every operation alike
/// (the error answers each can give, in the error shape) and the vocabulary of the fields, taken
/// from the domain's own lists so that it cannot drift from what the service accepts.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    describe_errors(&mut doc);
    constrain_fields(&mut doc);
    doc
}

/// What a status means for any operation, where its annotation says nothing more precise.
fn status_description(status: u16) -> &'static str {
    match status {
        200 => "done",
        201 => "created",
        202 => "accepted: waits for a second administrator's approval",
        400 => {
            "malformed: JSON that does not parse, or a query string or header that cannot be read"
        }
        401 => "no partner key, or an unknown, retired or revoked one",
        403 => "the partner's role, purpose or consent does not allow this",
        404 => "no such resource (or not the caller's)",
        409 => "the resource's state does not allow this",
        413 => {
            "the body is over the body limit, or the batch over its size or the partner's allowance"
        }
        415 => "the body is not labelled with a content type this operation reads",
        422 => "well-formed but invalid: `details` names the field",
        429 => "over the rate limit: retry after `Retry-After` seconds",
        503 => "no champion model for the product yet, or the service is shutting down",
        _ => "see the error code",
    }
}

/// Adds the error answers every operation can give (authentication, rate limit, role, body,
/// parameters) and puts the error shape on every error answer, with `Retry-After` on 429.
fn describe_errors(doc: &mut Value) {
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (path, item) in paths.iter_mut() {
        for op in item.as_object_mut().expect("a path item").values_mut() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let located = |place: &str| params.iter().any(|p| p["in"] == place);
            let mut statuses = vec![401, 429];
            if !ANY_PARTNER.contains(&id.as_str()) {
                statuses.push(403);
            }
            if op.get("requestBody").is_some() {
                statuses.extend([400, 413, 415, 422]);
            }
            if located("query") || located("header") {
                statuses.extend([400, 422]);
            }
            if located("path") {
                statuses.extend([404, 422]);
            }
            if path.starts_with("/v1/scores") {
                statuses.push(503);
            }
            let responses = op["responses"].as_object_mut().expect("responses");
            for status in statuses {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| json!({}));
            }
            for (status, answer) in responses.iter_mut() {
                let status: u16 = status.parse().expect("a numeric status");
                if answer["description"].as_str().is_none_or(str::is_empty) {
                    answer["description"] = json!(status_description(status));
                }
                if status >= 400 {
                    answer["content"] = json!({ "application/json": {
                        "schema": { "$ref": "#/components/schemas/ErrorBody" } } });
                }
                if status == 429 {
                    answer["headers"] = json!({ "Retry-After": {
                        "description": "whole seconds until the request can be made again",
                        "schema": { "type": "integer", "minimum": 1 } } });
                }
            }
        }
    }
}

/// An overlap of at most 30 days: minutes to 43200, hours to 720, days to 30, or 0.
const OVERLAP_PATTERN: &str = "^(0|([1-9][0-9]{0,3}|[1-3][0-9]{4}|4[0-2][0-9]{3}|43[01][0-9]{2}|43200)m|([1-9][0-9]?|[1-6][0-9]{2}|7[01][0-9]|720)h|([1-9]|[12][0-9]|30)d)$";
/// A credit code's shape: 18 characters of its set, positions 3–8 the region's digits.
const USCC_PATTERN: &str = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$";
/// A resident id's shape: 17 digits and a check digit or X.
const RESIDENT_ID_PATTERN: &str = "^[0-9]{17}[0-9X]$";

/// A credit code (18 characters of its set, positions 3–8 the region's digits; a failed check
/// character is accepted as a possible pilot code) or a resident id (17 digits and a check
/// character, a real birth date). `format` names which rules JSON Schema cannot say.
fn subject_schema() -> Value {
    json!({
        "type": "string",
        "format": "subject-id",
        "description": "a unified social credit code (18 characters: 0-9 and A-Y without I, O, S, V, Z; positions 3-8 digits) or a resident id (17 digits and a check digit or X, with a real birth date); the resident id's check digit is verified",
        "pattern": format!("{USCC_PATTERN}|{RESIDENT_ID_PATTERN}"),
        "example": "91440800MA4UJ3341L"
    })
}

fn words<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Value {
    json!(all.iter().map(|v| name(*v)).collect::<Vec<_>>())
}

/// Enums, patterns and examples of the fields, from the domain's lists.
fn constrain_fields(doc: &mut Value) {
    use crate::domain::{FeedKind, Product, Purpose};
    let products = words(Product::ALL, Product::as_str);
    let purposes = words(Purpose::ALL, Purpose::as_str);
    let kinds = words(&FeedKind::ALL, FeedKind::as_str);
    let digest = json!({ "type": "string", "pattern": "^[0-9a-fA-F]{64}$",
        "description": "SHA-256, 64 hexadecimal digits",
        "example": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" });
    let schemas = &mut doc["components"]["schemas"];
    let mut set = |schema: &str, field: &str, patch: Value| {
        let property = &mut schemas[schema]["properties"][field];
        if let (Some(target), Some(patch)) = (property.as_object_mut(), patch.as_object()) {
            for (k, v) in patch {
                target.insert(k.clone(), v.clone());
            }
        }
    };
    set(
        "ScoreRequest",
        "product",
        json!({ "enum": products, "example": "sme" }),
    );
    set(
        "ScoreRequest",
        "purpose",
        json!({ "enum": purposes, "example": "loan_application" }),
    );
    set("ScoreRequest", "subject", subject_schema());
    set(
        "ScoreRequest",
        "consent_id",
        json!({ "pattern": "^c_[0-9a-z]{26}$", "example": "c_01jdx3k9v8m2f4t6q1w5e7r9y0" }),
    );
    set("ConsentRequest", "subject", subject_schema());
    set(
        "ConsentRequest",
        "purpose",
        json!({ "enum": purposes, "example": "loan_application" }),
    );
    set("ConsentRequest", "evidence_sha256", digest.clone());
    set("WithdrawalRequest", "evidence_sha256", digest);
    set(
        "RetrainRequest",
        "product",
        json!({ "enum": products, "example": "sme" }),
    );
    set(
        "PromoteRequest",
        "product",
        json!({ "enum": products, "example": "sme" }),
    );
    set(
        "RotationRequest",
        "overlap",
        json!({ "pattern": OVERLAP_PATTERN, "example": "24h" }),
    );
    // A product is scored for its kind of subject: sme for enterprises (credit codes), farmer
    // for households (the head's resident id).
    schemas["ScoreRequest"]["anyOf"] = json!([
        { "properties": { "product": { "const": "sme" },
                          "subject": { "pattern": USCC_PATTERN } } },
        { "properties": { "product": { "const": "farmer" },
                          "subject": { "pattern": RESIDENT_ID_PATTERN } } }
    ]);
    // A batch's items are judged one by one, each answered in its place as `POST /v1/scores`
    // would answer it alone (a value it refuses is an error item in a 200): the batch itself
    // needs only their shape.
    schemas["BatchRequest"]["properties"]["requests"]["items"] = json!({
        "type": "object",
        "description": "a score request (ScoreRequest); its values are judged as POST /v1/scores judges them, and a refused one is answered as an error item",
        "required": ["product", "subject", "purpose", "consent_id"],
        "additionalProperties": false,
        "properties": {
            "product": { "type": "string" }, "subject": { "type": "string" },
            "purpose": { "type": "string" }, "consent_id": { "type": "string" }
        }
    });
    schemas["BatchRequest"]["properties"]["requests"]["minItems"] = json!(1);
    schemas["BatchRequest"]["properties"]["requests"]["maxItems"] = json!(super::scores::MAX_BATCH);
    // A forced promotion needs a reason: a rule between two fields, which only a schema of the
    // whole object can say.
    schemas["PromoteRequest"]["anyOf"] = json!([
        { "properties": { "force": { "const": false } } },
        { "required": ["force", "reason"],
          "properties": { "force": { "const": true },
                          "reason": { "type": "string", "pattern": "\\S" } } }
    ]);
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (path, item) in paths.iter_mut() {
        for op in item.as_object_mut().expect("a path item").values_mut() {
            // `get_mut`: indexing would add a null `parameters` to operations without any.
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in params {
                let name = p["name"].as_str().unwrap_or_default();
                let schema = match (name, p["in"].as_str()) {
                    ("product", Some("path")) => json!({ "type": "string", "enum": products }),
                    ("kind", Some("path")) => json!({ "type": "string", "enum": kinds }),
                    ("subject", Some("path")) => subject_schema(),
                    ("lang", Some("query")) => json!({ "type": "string", "enum": ["en", "zh"] }),
                    ("Idempotency-Key", Some("header")) => json!({ "type": "string",
                        "pattern": "^[!-~]{1,255}$", "example": "tax-grades-2026-11-28" }),
                    ("format", Some("query")) if path.ends_with("/card") => {
                        json!({ "type": "string", "enum": ["html", "text", "json"] })
                    }
                    _ => continue,
                };
                p["schema"] = schema;
            }
        }
    }
}

pub fn router() -> Router<AppState> {
    // Serialised once: the document is fixed at compile time.
    let openapi =
        Bytes::from(serde_json::to_vec(&document()).expect("the OpenAPI document serialises"));
    Router::new()
        .route(
            OPENAPI_PATH,
            get(move || async move { ([(CONTENT_TYPE, "application/json")], openapi) }),
        )
        // Relative asset links in index.html resolve against `/docs/`, so `/docs` redirects there.
        .route("/docs", get(|| async { Redirect::to("/docs/") }))
        .route("/docs/", get(|| async { serve(INDEX) }))
        .route(
            "/docs/{asset}",
            get(|Path(asset): Path<String>| async move { serve(&asset) }),
        )
}

fn serve(name: &str) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => ([(CONTENT_TYPE, asset.content_type)], asset.bytes).into_response(),
        None => ApiError::NotFound("no such documentation file".into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initializer_points_swagger_ui_at_the_served_openapi_document() {
        let initializer = ASSETS
            .iter()
            .find(|a| a.name == "swagger-initializer.js")
            .unwrap();
        let js = std::str::from_utf8(initializer.bytes).unwrap();
        assert!(js.contains(&format!("url: \"{OPENAPI_PATH}\"")), "{js}");
    }
}
