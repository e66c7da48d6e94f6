//! Partners' keys for administrators: `GET /v1/partners/{id}/keys` (never the keys themselves),
//! `POST /v1/partners/{id}/keys/rotate` (a new key, shown once; the old ones stop after the
//! overlap) and `POST /v1/partner-keys/{key_id}/revoke`. The same operations as
//! `creditbridge partners rotate-key|revoke-key`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::auth::Admin;
use super::{ApiError, AppJson, AppState};
use crate::partners::{self, PartnerError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/partners/{id}/keys", get(keys))
        .route("/v1/partners/{id}/keys/rotate", post(rotate_key))
        .route("/v1/partner-keys/{key_id}/revoke", post(revoke_key))
}

impl From<PartnerError> for ApiError {
    fn from(err: PartnerError) -> Self {
        match err {
            PartnerError::Invalid { field, message } => {
                ApiError::invalid(format!("{field}: {message}"), json!({ "field": field }))
            }
            PartnerError::Store(e) => e.into(),
            e @ PartnerError::Audit(_) => ApiError::Internal(e.into()),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationRequest {
    /// How long the partner's current keys go on working: `24h` (the default), `90m`, `2d`, or
    /// `0` to stop them at once; at most 30 days.
    pub overlap: Option<String>,
}

/// A partner's keys
///
/// The partner's keys with their state (never the keys themselves). Administrators only.
#[utoipa::path(get, path = "/v1/partners/{id}/keys", params(("id" = String, Path)),
    responses((status = 200), (status = 403), (status = 404)),
    security(("partner_key" = [])), tag = "partners")]
pub async fn keys(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let keys = state.db.partner_keys(&id).await?;
    Ok(Json(json!({ "partner_id": id, "keys": keys })))
}

/// Rotate a partner's key
///
/// Issues a new key, shown once; the partner's current keys go on working for `overlap` (default 24h). Administrators only.
#[utoipa::path(post, path = "/v1/partners/{id}/keys/rotate", params(("id" = String, Path)),
    request_body = RotationRequest,
    responses((status = 201), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("partner_key" = [])), tag = "partners")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn rotate_key(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    AppJson(req): AppJson<RotationRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let overlap = req.overlap.as_deref().unwrap_or(partners::DEFAULT_OVERLAP);
    let overlap = partners::parse_overlap(overlap)?;
    let issued = state
        .rotate_partner_key(&id, overlap, admin.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(json!(issued))))
}

/// Revoke a partner key
///
/// The key stops working at once, on every replica. Administrators only.
#[utoipa::path(post, path = "/v1/partner-keys/{key_id}/revoke", params(("key_id" = String, Path)),
    responses((status = 200), (status = 403), (status = 404), (status = 409)),
    security(("partner_key" = [])), tag = "partners")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn revoke_key(
    State(state): State<AppState>,
    admin: Admin,
    Path(key_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = state.revoke_partner_key(&key_id, admin.actor()).await?;
    Ok(Json(json!(key)))
}
