//! The model registry over HTTP (admin): list, show, promote, roll back, retrain.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::Admin;
use super::{ApiError, AppJson, AppState};
use crate::domain::Product;
use crate::lifecycle::retrain::RetrainError;
use crate::lifecycle::{self, PromotionError};
use crate::storage::models::ModelRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/models", get(list))
        .route("/v1/models/retrain", post(retrain))
        .route("/v1/models/{id}", get(show))
        .route("/v1/models/{id}/card", get(card))
        .route("/v1/models/{id}/promote", post(promote))
        .route("/v1/models/{id}/approve", post(approve))
        .route("/v1/models/rollback/{product}", post(rollback))
        .route("/v1/monitoring/{product}", get(monitoring))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelSummary {
    pub id: String,
    pub product: String,
    pub status: String,
    pub created_at: chrono::DateTime<Utc>,
    pub promoted_at: Option<chrono::DateTime<Utc>>,
    pub artifact_sha256: String,
    #[schema(value_type = Object)]
    pub metrics: Value,
    #[schema(value_type = Object)]
    pub data_window: Value,
}

pub fn summary(m: ModelRow) -> ModelSummary {
    ModelSummary {
        id: m.id,
        product: m.product,
        status: m.status,
        created_at: m.created_at,
        promoted_at: m.promoted_at,
        artifact_sha256: m.artifact_sha256,
        metrics: serde_json::from_str(&m.metrics).unwrap_or(Value::Null),
        data_window: serde_json::from_str(&m.data_window).unwrap_or(Value::Null),
    }
}

/// List models
///
/// Every registered model of both products, champions and candidates, with their metrics and data windows. Administrators only.
#[utoipa::path(get, path = "/v1/models", responses((status = 200, body = [ModelSummary])),
    security(("partner_key" = [])), tag = "models")]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<ModelSummary>>, ApiError> {
    Ok(Json(
        state
            .db
            .models(None)
            .await?
            .into_iter()
            .map(summary)
            .collect(),
    ))
}

/// Show a model
///
/// One registered model with its metrics and data window. Administrators only.
#[utoipa::path(get, path = "/v1/models/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ModelSummary), (status = 404)), security(("partner_key" = [])), tag = "models")]
pub async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<ModelSummary>, ApiError> {
    Ok(Json(summary(state.db.model(&id).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CardQuery {
    /// `en` (default) or `zh`.
    pub lang: Option<String>,
    /// `html` (default: readable in a browser and printable), `text` or `json`.
    pub format: Option<String>,
}

/// The model card a validator signs (lifecycle::card): product, data window, samples with their
/// digests, characteristics with coefficient intervals and p-values, grade/PD bands, gates,
/// approvals and the challenger, in English or Chinese.
#[utoipa::path(get, path = "/v1/models/{id}/card", params(("id" = String, Path), CardQuery),
    responses((status = 200, description = "the card: HTML (default), text or JSON by `format`",
                  content(("text/html"), ("text/plain"), ("application/json"))),
              (status = 404), (status = 409), (status = 422)),
    security(("partner_key" = [])), tag = "models")]
pub async fn card(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<CardQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let lang: lifecycle::card::Lang = q
        .lang
        .as_deref()
        .unwrap_or("en")
        .parse()
        .map_err(|e: String| ApiError::invalid(e, json!({ "field": "lang" })))?;
    let format = q.format.as_deref().unwrap_or("html");
    if !matches!(format, "html" | "text" | "json") {
        return Err(ApiError::invalid(
            format!("format {format:?}: use html, text or json"),
            json!({ "field": "format" }),
        ));
    }
    let card = state
        .registry()
        .card(&id)
        .await
        .map_err(|e| promotion_error(&id, e))?;
    Ok(match format {
        "json" => Json(card).into_response(),
        "text" => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            lifecycle::card::render_text(&card, lang),
        )
            .into_response(),
        _ => axum::response::Html(lifecycle::card::render_html(&card, lang)).into_response(),
    })
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// Promote even if gates fail: needs a reason, is audited, and waits for a second
    /// administrator's approval (`POST /v1/models/{id}/approve`).
    #[serde(default)]
    pub force: bool,
    pub reason: Option<String>,
    /// The product the caller means to promote for; refused if the model is another product's.
    pub product: Option<String>,
}

fn promotion_error(id: &str, e: PromotionError) -> ApiError {
    match e {
        PromotionError::GatesFailed {
            verdict, failures, ..
        } => ApiError::Unprocessable {
            code: match verdict {
                lifecycle::gates::Verdict::InsufficientEvidence => "insufficient_evidence",
                _ => "gates_failed",
            },
            message: failures.join("; "),
            details: json!({ "verdict": verdict, "failures": failures }),
        },
        // The request is well-formed; the model is another product's: a conflict with the
        // model as it is, not an invalid request.
        PromotionError::WrongProduct { .. } => ApiError::Conflict(e.to_string()),
        PromotionError::SameApprover { .. } => ApiError::Forbidden {
            code: "same_approver",
            message: e.to_string(),
        },
        PromotionError::NoApprovalPending(_) | PromotionError::Unloadable(_) => {
            ApiError::Conflict(e.to_string())
        }
        PromotionError::Store(crate::storage::StoreError::NotFound) => {
            ApiError::NotFound(format!("model {id} not found"))
        }
        PromotionError::ReasonRequired => ApiError::invalid(
            "reason: a forced promotion needs a reason",
            json!({ "field": "reason" }),
        ),
        PromotionError::NothingToRollBack(p) => {
            ApiError::Conflict(format!("no earlier champion of {p} to roll back to"))
        }
        PromotionError::Store(s) => s.into(),
        other => ApiError::Internal(other.into()),
    }
}

/// Promote a candidate
///
/// Applies the promotion gates and makes the candidate its product's champion on every replica; a forced promotion (gates failed) needs a reason and waits for a second administrator's approval (202).
#[utoipa::path(post, path = "/v1/models/{id}/promote", params(("id" = String, Path)), request_body = PromoteRequest,
    responses((status = 200), (status = 202), (status = 404), (status = 409), (status = 422)), security(("partner_key" = [])), tag = "models")]
pub async fn promote(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let admin = &admin.partner;
    // An empty body is a plain promotion; otherwise it must be a PromoteRequest.
    let req: PromoteRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PromoteRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            code: "malformed_json",
            message: e.to_string(),
            details: Value::Null,
        })?
    };
    let product = req
        .product
        .as_deref()
        .map(str::parse::<Product>)
        .transpose()
        .map_err(|e| ApiError::invalid(format!("product: {e}"), json!({ "field": "product" })))?;
    let outcome = state
        .registry()
        .promote(&id, &admin.id, req.force, req.reason.as_deref(), product)
        .await
        .map_err(|e| promotion_error(&id, e))?;
    let status = match outcome {
        lifecycle::PromotionOutcome::Promoted { .. } => axum::http::StatusCode::OK,
        lifecycle::PromotionOutcome::AwaitingApproval { .. } => axum::http::StatusCode::ACCEPTED,
    };
    Ok((
        status,
        Json(serde_json::to_value(outcome).unwrap_or_default()),
    ))
}

/// Approve a forced promotion
///
/// A second administrator approves a forced promotion; it then serves. The requester cannot.
#[utoipa::path(post, path = "/v1/models/{id}/approve", params(("id" = String, Path)),
    responses((status = 200), (status = 403), (status = 404), (status = 409)), security(("partner_key" = [])), tag = "models")]
pub async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let outcome = state
        .registry()
        .approve(&id, &admin.partner.id)
        .await
        .map_err(|e| promotion_error(&id, e))?;
    Ok(Json(serde_json::to_value(outcome).unwrap_or_default()))
}

/// Roll back a product's champion
///
/// Makes the previous champion of the product the champion again.
#[utoipa::path(post, path = "/v1/models/rollback/{product}", params(("product" = String, Path)),
    responses((status = 200), (status = 409)), security(("partner_key" = [])), tag = "models")]
pub async fn rollback(
    State(state): State<AppState>,
    admin: Admin,
    Path(product): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let admin = &admin.partner;
    let product: Product = product
        .parse()
        .map_err(|e| ApiError::NotFound(format!("{e}")))?;
    let champion = state
        .registry()
        .rollback(product, &admin.id)
        .await
        .map_err(|e| promotion_error(product.as_str(), e))?;
    Ok(Json(json!({ "champion": champion })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrainRequest {
    pub product: String,
    /// Defaults to today.
    pub as_of: Option<NaiveDate>,
}

/// Retrain a product
///
/// Trains a candidate point-in-time on matured loans as of `as_of` (default today) with an out-of-time check and registers it; it is not promoted.
#[utoipa::path(post, path = "/v1/models/retrain", request_body = RetrainRequest,
    responses((status = 201), (status = 422)), security(("partner_key" = [])), tag = "models")]
pub async fn retrain(
    State(state): State<AppState>,
    _admin: Admin,
    AppJson(req): AppJson<RetrainRequest>,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let product: Product = req
        .product
        .parse()
        .map_err(|e| ApiError::invalid(format!("product: {e}"), Value::Null))?;
    let as_of = req.as_of.unwrap_or_else(|| state.clock.today());
    let outcome = state.retrain(product, as_of).await.map_err(retrain_error)?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(serde_json::to_value(outcome).unwrap_or_default()),
    ))
}

/// What the data held cannot give is the caller's 422, with the whole chain (it names the
/// sample or the fitting step); everything else is this service's failure: logged, opaque 500.
fn retrain_error(e: RetrainError) -> ApiError {
    match e {
        RetrainError::Sample(_) | RetrainError::Fit(_) => {
            ApiError::invalid(format!("{:#}", anyhow::Error::from(e)), Value::Null)
        }
        RetrainError::Store(s) => s.into(),
        other => ApiError::Internal(other.into()),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MonitoringQuery {
    /// Days of live scores to compare (default 30: the monthly check).
    pub days: Option<i64>,
}

/// Monitor a product's scores
///
/// Population stability (PSI) and characteristic stability (CSI) of the last `days` of live scores against the champion's training sample, and the shadow candidate beside it.
#[utoipa::path(get, path = "/v1/monitoring/{product}", params(("product" = String, Path), MonitoringQuery),
    responses((status = 200, body = lifecycle::monitoring::MonitoringReport)),
    security(("partner_key" = [])), tag = "models")]
pub async fn monitoring(
    State(state): State<AppState>,
    _admin: Admin,
    Path(product): Path<String>,
    axum::extract::Query(q): axum::extract::Query<MonitoringQuery>,
) -> Result<Json<lifecycle::monitoring::MonitoringReport>, ApiError> {
    let product: Product = product
        .parse()
        .map_err(|e| ApiError::NotFound(format!("{e}")))?;
    let days = q.days.unwrap_or(30).clamp(1, 3660);
    Ok(Json(state.monitoring_report(product, days).await?))
}
