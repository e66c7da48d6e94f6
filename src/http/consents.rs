//! `POST /v1/consents` and `POST /v1/consents/{id}/revoke`: a subject's recorded authorization,
//! without which no score is given.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::Lender;
use super::{ApiError, AppJson, AppState};
use crate::consent::{ConsentError, Registration};
use crate::domain::SubjectId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/consents", post(register))
        .route("/v1/consents/{id}/revoke", post(revoke))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// Unified social credit code of an enterprise, or the resident id of a household head.
    pub subject: String,
    /// `loan_application`, `post_loan` (banks) or `underwriting` (insurers).
    pub purpose: String,
    /// Last day the authorization is valid (inclusive): not before the day of `signed_at`, and at
    /// most `consent.max_term_days` (default 366) days after it.
    pub valid_until: NaiveDate,
    /// SHA-256 (hex) of the signed authorization document kept by the partner.
    pub evidence_sha256: String,
    /// When the subject signed: not in the future, not before `consent.earliest_signed_at`
    /// (default 2013-03-15).
    pub signed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentCreated {
    pub consent_id: String,
    pub subject: String,
    pub purpose: String,
    pub valid_until: NaiveDate,
    /// About the subject's identifier: `pilot_credit_code` for a credit code accepted although
    /// it fails its check character (a possible early pilot code: worth a second look).
    pub warnings: Vec<String>,
}

/// Parsing the request's identifiers into domain types as of `today` (the clock's day: a birth
/// date after it is refused); the rules follow in `consent`.
fn registration(
    req: &ConsentRequest,
    today: chrono::NaiveDate,
) -> Result<Registration, ConsentError> {
    let invalid = |field, e: &dyn std::fmt::Display| ConsentError::Invalid {
        field,
        message: e.to_string(),
    };
    Ok(Registration {
        subject: SubjectId::parse(&req.subject, today).map_err(|e| invalid("subject", &e))?,
        purpose: req.purpose.parse().map_err(|e| invalid("purpose", &e))?,
        valid_until: req.valid_until,
        evidence_sha256: req.evidence_sha256.clone(),
        signed_at: req.signed_at,
    })
}

impl From<ConsentError> for ApiError {
    fn from(err: ConsentError) -> Self {
        match err {
            ConsentError::Invalid { field, message } => {
                ApiError::invalid(format!("{field}: {message}"), json!({ "field": field }))
            }
            ConsentError::Forbidden { code, message } => ApiError::forbidden(code, message),
            ConsentError::Store(e) => e.into(),
        }
    }
}

#[utoipa::path(post, path = "/v1/consents", request_body = ConsentRequest,
    responses((status = 201, body = ConsentCreated), (status = 401), (status = 403), (status = 422)),
    security(("partner_key" = [])), tag = "consents")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn register(
    State(state): State<AppState>,
    caller: Lender,
    AppJson(req): AppJson<ConsentRequest>,
) -> Result<(StatusCode, Json<ConsentCreated>), ApiError> {
    let registration = registration(&req, state.clock.today())?;
    let registered = state
        .register_consent(&caller.partner, &registration)
        .await?;
    let created = ConsentCreated {
        consent_id: registered.consent_id,
        subject: registered.subject.masked,
        purpose: registration.purpose.as_str().to_owned(),
        valid_until: req.valid_until,
        warnings: registered.subject.warnings,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(post, path = "/v1/consents/{id}/revoke", params(("id" = String, Path)),
    responses((status = 200), (status = 403), (status = 404), (status = 409)),
    security(("partner_key" = [])), tag = "consents")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Lender,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let now = state.clock.now();
    state.revoke_consent(&caller.partner, &id, now).await?;
    Ok(Json(json!({ "consent_id": id, "revoked_at": now })))
}
