//! A subject's recorded authorization, without which no score is given, through its life:
//! `POST /v1/consents` (a lender registers), `POST /v1/consents/{id}/revoke` (the lender that
//! registered it revokes), `POST /v1/consents/{id}/withdraw` (an admin records the subject's
//! withdrawal) and `GET /v1/consents/subjects/{subject}` (an admin lists a subject's consents).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{Admin, Lender};
use super::{ApiError, AppJson, AppState};
use crate::consent::{Actor, ConsentError, Registration};
use crate::domain::SubjectId;
use crate::storage::consents::Consent;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/consents", post(register))
        .route("/v1/consents/{id}/revoke", post(revoke))
        .route("/v1/consents/{id}/withdraw", post(withdraw))
        .route("/v1/consents/subjects/{subject}", get(of_subject))
}

/// A consent as an administrator or its partner sees it: the subject masked, never its key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    pub consent_id: String,
    pub partner_id: String,
    pub subject: String,
    pub purpose: String,
    pub valid_until: NaiveDate,
    pub evidence_sha256: String,
    pub signed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawal_evidence_sha256: Option<String>,
    /// `active`, `expired`, `revoked` or `withdrawn`, as of now.
    pub status: String,
}

impl ConsentView {
    fn new(c: Consent, status: &str) -> ConsentView {
        ConsentView {
            consent_id: c.id,
            partner_id: c.partner_id,
            subject: c.subject_masked,
            purpose: c.purpose,
            valid_until: c.valid_until,
            evidence_sha256: c.evidence_sha256,
            signed_at: c.signed_at,
            created_at: c.created_at,
            revoked_at: c.revoked_at,
            withdrawn_at: c.withdrawn_at,
            withdrawal_evidence_sha256: c.withdrawal_evidence_sha256,
            status: status.to_owned(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalRequest {
    /// SHA-256 (hex) of the subject's written withdrawal, kept by whoever received it.
    pub evidence_sha256: String,
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
            e @ ConsentError::Audit(_) => ApiError::Internal(e.into()),
        }
    }
}

/// Register a consent
///
/// Records the subject's signed authorization for the calling bank or insurer and one purpose its role may ask for, valid from `signed_at` to `valid_until` (at most a year). Scores need one.
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

/// Revoke a consent
///
/// The partner that registered the consent ends it now; scores under it are refused from then on, on every replica.
#[utoipa::path(post, path = "/v1/consents/{id}/revoke", params(("id" = String, Path)),
    responses((status = 200), (status = 403), (status = 404), (status = 409)),
    security(("partner_key" = [])), tag = "consents")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Lender,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let revoked = state
        .revoke_consent(Actor::Partner(&caller.partner), &id)
        .await?;
    Ok(Json(
        json!({ "consent_id": id, "revoked_at": revoked.revoked_at }),
    ))
}

/// Record a subject's withdrawal
///
/// The subject withdrew its consent in writing (`evidence_sha256` of that writing); effective at once like a revocation.
#[utoipa::path(post, path = "/v1/consents/{id}/withdraw", params(("id" = String, Path)),
    request_body = WithdrawalRequest,
    responses((status = 200, body = ConsentView), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("partner_key" = [])), tag = "consents")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn withdraw(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    AppJson(req): AppJson<WithdrawalRequest>,
) -> Result<Json<ConsentView>, ApiError> {
    let withdrawn = state
        .withdraw_consent(Actor::Partner(&admin.partner), &id, &req.evidence_sha256)
        .await?;
    Ok(Json(ConsentView::new(withdrawn, "withdrawn")))
}

/// The caller's consents for a subject
///
/// Every consent the calling partner holds for the subject, with its status (active, expired, revoked, withdrawn).
#[utoipa::path(get, path = "/v1/consents/subjects/{subject}",
    params(("subject" = String, Path, description = "credit code or resident id")),
    responses((status = 200, body = [ConsentView]), (status = 403), (status = 422)),
    security(("partner_key" = [])), tag = "consents")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn of_subject(
    State(state): State<AppState>,
    _admin: Admin,
    Path(subject): Path<String>,
) -> Result<Json<Vec<ConsentView>>, ApiError> {
    let today = state.clock.now().date_naive();
    let subject = SubjectId::parse(&subject, today).map_err(|e| ConsentError::Invalid {
        field: "subject",
        message: e.to_string(),
    })?;
    let (_, consents) = state.subject_consents(&subject).await?;
    Ok(Json(
        consents
            .into_iter()
            .map(|(c, status)| ConsentView::new(c, status))
            .collect(),
    ))
}
