//! `POST /v1/scores` and `POST /v1/scores/batch`: what banks and insurers call.

use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::request_id::RequestId;

use super::auth::Lender;
use super::{ApiError, AppJson, AppState};
use crate::scoring::{self, ScoreRequest, ScoreResponse};

/// Largest batch accepted.
pub const MAX_BATCH: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/scores", post(score))
        .route("/v1/scores/batch", post(batch))
}

fn request_id(id: &RequestId) -> String {
    id.header_value().to_str().unwrap_or("-").to_owned()
}

#[utoipa::path(post, path = "/v1/scores", request_body = ScoreRequest,
    responses((status = 200, body = ScoreResponse), (status = 401), (status = 403), (status = 404),
              (status = 422), (status = 429)),
    security(("partner_key" = [])), tag = "scores")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn score(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    caller: Lender,
    AppJson(req): AppJson<ScoreRequest>,
) -> Result<Json<ScoreResponse>, ApiError> {
    let partner = &caller.partner;
    Ok(Json(
        scoring::score(&state, partner, &req, &request_id(&id)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to 1,000 score requests.
    pub requests: Vec<ScoreRequest>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchResponse {
    pub request_id: String,
    /// One entry per request, in order: a score or an error.
    pub results: Vec<BatchItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    Score(ScoreResponse),
    Error { error: ItemError },
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

#[utoipa::path(post, path = "/v1/scores/batch", request_body = BatchRequest,
    responses((status = 200, body = BatchResponse), (status = 401), (status = 403), (status = 413), (status = 422)),
    security(("partner_key" = [])), tag = "scores")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn batch(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    caller: Lender,
    AppJson(req): AppJson<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    let partner = &caller.partner;
    if req.requests.len() > MAX_BATCH {
        return Err(ApiError::PayloadTooLarge(format!(
            "a batch holds at most {MAX_BATCH} requests, got {}",
            req.requests.len()
        )));
    }
    if req.requests.is_empty() {
        return Err(ApiError::invalid(
            "requests: is empty",
            serde_json::json!({ "field": "requests" }),
        ));
    }
    let batch_id = request_id(&id);
    // Items run concurrently so their audit records share group commits.
    let futures = req.requests.iter().enumerate().map(|(i, item)| {
        let state = &state;
        let item_id = format!("{batch_id}-{i:04}");
        async move {
            match scoring::score(state, partner, item, &item_id).await {
                Ok(s) => BatchItem::Score(s),
                Err(e) => BatchItem::Error {
                    error: ItemError {
                        status: e.status().as_u16(),
                        code: e.code().into(),
                        message: e.to_string(),
                    },
                },
            }
        }
    });
    let results = futures_util::future::join_all(futures).await;
    Ok(Json(BatchResponse {
        request_id: batch_id,
        results,
    }))
}
