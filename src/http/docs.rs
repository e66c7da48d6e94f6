//! `GET /openapi.json` (generated from the handlers' annotations) and `GET /docs` (Swagger UI
//! embedded in the binary: no CDN, so it works on a bank's closed network).

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;

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
        (name = "audit", description = "The audit ledger: a signed Merkle log with receipts and proofs (verify and subject history: admin)"),
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
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
