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
use crate::domain::{Purpose, Role, SubjectId};
use crate::storage::consents::NewConsent;
use crate::storage::revisions::Revised;

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
    /// Last day the authorization is valid (inclusive).
    pub valid_until: NaiveDate,
    /// SHA-256 (hex) of the signed authorization document kept by the partner.
    pub evidence_sha256: String,
    /// When the subject signed.
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

/// The checks a consent must pass before it is stored, each with a message naming the field.
pub(crate) fn validate(
    req: &ConsentRequest,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(SubjectId, Purpose), ApiError> {
    let today = now.date_naive();
    let subject = SubjectId::parse(&req.subject)
        .map_err(|e| ApiError::invalid(format!("subject: {e}"), json!({ "field": "subject" })))?;
    let purpose: Purpose = req
        .purpose
        .parse()
        .map_err(|e| ApiError::invalid(format!("purpose: {e}"), json!({ "field": "purpose" })))?;
    if !role.allowed_purposes().contains(&purpose) {
        return Err(ApiError::forbidden(
            "purpose_not_allowed",
            format!(
                "a {} may not ask for purpose {}",
                role.as_str(),
                purpose.as_str()
            ),
        ));
    }
    let hex_ok = req.evidence_sha256.len() == 64
        && req.evidence_sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex_ok {
        return Err(ApiError::invalid(
            "evidence_sha256: must be 64 hexadecimal characters",
            json!({ "field": "evidence_sha256" }),
        ));
    }
    if req.valid_until < today {
        return Err(ApiError::invalid(
            "valid_until: is in the past",
            json!({ "field": "valid_until" }),
        ));
    }
    if req.valid_until < req.signed_at.date_naive() {
        return Err(ApiError::invalid(
            "valid_until: is before signed_at",
            json!({ "field": "valid_until" }),
        ));
    }
    if req.signed_at > now + chrono::Duration::minutes(5) {
        return Err(ApiError::invalid(
            "signed_at: is in the future",
            json!({ "field": "signed_at" }),
        ));
    }
    Ok((subject, purpose))
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
    let partner = &caller.partner;
    let (subject, purpose) = validate(&req, partner.role, state.clock.now())?;
    let subject = state.pii.subject_ref(&subject);
    let evidence = req.evidence_sha256.to_ascii_lowercase();
    let consent_id = state
        .db
        .add_consent(&NewConsent {
            partner_id: &partner.id,
            subject_type: subject.subject_type,
            subject_key: &subject.key,
            subject_masked: &subject.masked,
            purpose,
            valid_until: req.valid_until,
            evidence_sha256: &evidence,
            signed_at: req.signed_at,
        })
        .await?;
    let created = ConsentCreated {
        consent_id,
        subject: subject.masked,
        purpose: purpose.as_str().to_owned(),
        valid_until: req.valid_until,
        warnings: subject.warnings,
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
    let partner = &caller.partner;
    let consent = state.db.consent(&id).await?;
    if consent.partner_id != partner.id {
        return Err(ApiError::forbidden(
            "not_your_consent",
            "only the partner that registered a consent may revoke it",
        ));
    }
    let now = state.clock.now();
    state.db.revoke_consent(&id, now).await?;
    state.read_model.invalidate(Revised::Consents);
    Ok(Json(json!({ "consent_id": id, "revoked_at": now })))
}
