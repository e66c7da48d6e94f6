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
    ),
    modifiers(&PartnerKey),
    tags(
        (name = "consents", description = "Subjects' authorizations"),
        (name = "partners", description = "Partners' keys: rotation and revocation (admin)"),
        (name = "scores", description = "Credit scores with reasons, one at a time or in batches"),
        (name = "feeds", description = "Data owners' feed files"),
        (name = "models", description = "Model registry, retraining and monitoring (admin)"),
        (name = "audit", description = "The audit ledger: a signed Merkle log with receipts and proofs (verify, subject history and every entry's proofs: admin and auditor)"),
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

pub fn router() -> Router<AppState> {
    // Serialised once: the document is fixed at compile time.
    let openapi = Bytes::from(
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises"),
    );
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
