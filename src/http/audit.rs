//! `GET /v1/audit/verify` (hash-chain check) and `GET /v1/audit/subjects/{subject}` (who queried a
//! subject: the history a subject may ask to see). Admin only.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::Admin;
use super::{ApiError, AppState};
use crate::audit::{self, Verification};
use crate::domain::SubjectId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/audit/verify", get(verify))
        .route("/v1/audit/subjects/{subject}", get(subject_history))
}

#[utoipa::path(get, path = "/v1/audit/verify", responses((status = 200, body = Verification)),
    security(("partner_key" = [])), tag = "audit")]
pub async fn verify(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Verification>, ApiError> {
    Ok(Json(audit::verify(&state.db).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// Most recent entries to return (default 100, at most 1000).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub seq: i64,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

#[utoipa::path(get, path = "/v1/audit/subjects/{subject}",
    params(("subject" = String, Path, description = "credit code or resident id"), HistoryQuery),
    responses((status = 200, body = [HistoryEntry])), security(("partner_key" = [])), tag = "audit")]
pub async fn subject_history(
    State(state): State<AppState>,
    _admin: Admin,
    Path(subject): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let subject = SubjectId::parse(&subject)
        .map_err(|e| ApiError::invalid(format!("subject: {e}"), serde_json::Value::Null))?;
    let key = state.pii.subject_ref(&subject).key;
    let rows = state
        .db
        .audit_for_subject(&key, q.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    let entries = rows
        .into_iter()
        .map(|r| {
            let mut event: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
            // The subject key is an internal look-up hash; the masked form is what people read.
            if let Some(obj) = event.as_object_mut() {
                obj.remove("subject_key");
            }
            HistoryEntry { seq: r.seq, event }
        })
        .collect();
    Ok(Json(entries))
}
