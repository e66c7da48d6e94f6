//! `POST /v1/scores` and `POST /v1/scores/batch`: what banks and insurers call.

use axum::extract::{FromRequest, Request, State};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_http::request_id::RequestId;

use super::auth::{Caller, LenderRoles, RoleSet};
use super::{ApiError, AppJson, AppState};
use crate::audit::{CorrelationId, Refusal};
use crate::scoring::{self, ScoreError, ScoreRequest, ScoreResponse};
use crate::storage::partners::Partner;

/// Largest batch accepted.
pub const MAX_BATCH: usize = 1000;

impl From<ScoreError> for ApiError {
    fn from(err: ScoreError) -> Self {
        match err {
            ScoreError::Invalid { field, message } => ApiError::invalid(
                format!("{field}: {message}"),
                serde_json::json!({ "field": field }),
            ),
            ScoreError::Forbidden { code, message } => ApiError::forbidden(code, message),
            e @ ScoreError::NoData(_) => ApiError::NotFound(e.to_string()),
            e @ ScoreError::NoChampion(_) => ApiError::Unavailable(e.to_string()),
            ScoreError::Store(e) => e.into(),
            e @ (ScoreError::Model { .. } | ScoreError::Audit(_)) => ApiError::Internal(e.into()),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/scores", post(score))
        .route("/v1/scores/batch", post(batch))
}

fn request_id(id: &RequestId) -> String {
    id.header_value().to_str().unwrap_or("-").to_owned()
}

/// The client's request id as the audit entry's correlation field (as sent, or as a digest when
/// it is not short visible ASCII); never unique, never an event id.
fn correlation(id: &RequestId) -> Option<CorrelationId> {
    CorrelationId::from_header(id.header_value().as_bytes())
}

/// Score a subject
///
/// One score with its grade, probability of default, up to four reasons (codes: GET /v1/catalogue/reasons), knock-out flags and a receipt of its audit entry, for a bank or insurer holding the subject's consent for the purpose. Costs one token of the partner's rate limit.
#[utoipa::path(post, path = "/v1/scores", request_body = ScoreRequest,
    responses((status = 200, body = ScoreResponse), (status = 401), (status = 403), (status = 404),
              (status = 422), (status = 429)),
    security(("partner_key" = [])), tag = "scores")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn score(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    caller: Caller,
    body: Request,
) -> Result<Json<ScoreResponse>, ApiError> {
    let request_id = request_id(&id);
    let req: ScoreRequest = admit(&state, &caller, correlation(&id), body).await?;
    Ok(Json(
        scoring::score(
            &state.scorer(),
            &caller.0,
            &req,
            &request_id,
            correlation(&id),
        )
        .await?,
    ))
}

/// The request's body, once its caller is found to be a bank or an insurer. Either refusal is
/// audited like any refused score; the role is checked first, so a caller without it gets 403
/// before its body is read.
async fn admit<T: DeserializeOwned>(
    state: &AppState,
    caller: &Caller,
    correlation: Option<CorrelationId>,
    body: Request,
) -> Result<T, ApiError> {
    if let Err(refusal) = caller.require(LenderRoles::ROLES) {
        return Err(refuse_unread(state, &caller.0, correlation, refusal, None).await);
    }
    match AppJson::<T>::from_request(body, state).await {
        Ok(AppJson(req)) => Ok(req),
        // serde's messages can quote the body (an identity number sent as a bare number), so
        // the record keeps the code and a fixed text; the caller still gets the details.
        Err(refusal) => Err(refuse_unread(
            state,
            &caller.0,
            correlation,
            refusal,
            Some("the body is not a valid request"),
        )
        .await),
    }
}

/// Records `refusal` as a refused score (with `message` instead of its own text where that text
/// may quote the body) and returns it, or the failure to record it.
async fn refuse_unread(
    state: &AppState,
    partner: &Partner,
    correlation: Option<CorrelationId>,
    refusal: ApiError,
    message: Option<&str>,
) -> ApiError {
    let record = Refusal {
        code: refusal.code().to_owned(),
        message: message.map_or_else(|| refusal.to_string(), str::to_owned),
    };
    match scoring::refuse_unread(&state.scorer(), partner, correlation, record).await {
        Ok(()) => refusal,
        Err(e) => e.into(),
    }
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
    Score(Box<ScoreResponse>),
    Error { error: ItemError },
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl From<ApiError> for ItemError {
    /// As the error would answer alone: an internal failure is logged and named only
    /// `internal`, like a single request's 500.
    fn from(e: ApiError) -> Self {
        let message = match &e {
            ApiError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error in a batch item");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        ItemError {
            status: e.status().as_u16(),
            code: e.code().into(),
            message,
        }
    }
}

/// Score up to 1,000 subjects
///
/// Each item answers as `POST /v1/scores` would, in order, a score or an error. A batch of n costs n tokens of the partner's rate limit, all or none: 429 with Retry-After when the tokens left do not cover it, 413 when n exceeds the whole per-minute allowance.
#[utoipa::path(post, path = "/v1/scores/batch", request_body = BatchRequest,
    responses((status = 200, body = BatchResponse), (status = 401), (status = 403), (status = 413), (status = 422)),
    security(("partner_key" = [])), tag = "scores")]
#[tracing::instrument(skip_all, fields(partner))]
pub async fn batch(
    State(state): State<AppState>,
    Extension(id): Extension<RequestId>,
    caller: Caller,
    body: Request,
) -> Result<Json<BatchResponse>, ApiError> {
    let batch_id = request_id(&id);
    let req: BatchRequest = admit(&state, &caller, correlation(&id), body).await?;
    let partner = &caller.0;
    let size_refusal = match req.requests.len() {
        0 => Some(ApiError::invalid(
            "requests: is empty",
            serde_json::json!({ "field": "requests" }),
        )),
        n if n > MAX_BATCH => Some(ApiError::PayloadTooLarge(format!(
            "a batch holds at most {MAX_BATCH} requests, got {n}"
        ))),
        _ => None,
    };
    if let Some(refusal) = size_refusal {
        return Err(refuse_unread(&state, partner, correlation(&id), refusal, None).await);
    }
    // A batch of n costs n scores of the partner's allowance (its request paid one already):
    // all of them now, or the whole batch is refused.
    let size = req.requests.len() as u64;
    if let Err(limited) = state
        .limiter
        .take_batch_rest(&partner.id, size, state.clock.now())
        .await
    {
        let refusal = ApiError::from(limited);
        return Err(refuse_unread(&state, partner, correlation(&id), refusal, None).await);
    }
    // Items run concurrently so their audit records share group commits.
    let scorer = state.scorer();
    let futures = req.requests.iter().enumerate().map(|(i, item)| {
        let scorer = &scorer;
        let item_id = format!("{batch_id}-{i:04}");
        async move {
            let item_correlation = CorrelationId::from_header(item_id.as_bytes());
            match scoring::score(scorer, partner, item, &item_id, item_correlation).await {
                Ok(s) => BatchItem::Score(Box::new(s)),
                Err(e) => BatchItem::Error {
                    error: ItemError::from(ApiError::from(e)),
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
