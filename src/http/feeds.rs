//! `POST /v1/feeds/{kind}`: a data owner sends one feed file (CSV, JSON Lines or XLSX). The
//! body is spooled to a temporary file as it arrives (never held in memory whole), then the
//! feed pipeline validates and stores it all or nothing.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::feeds::{FeedError, FeedKind, FeedRequest, Format};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/feeds/{kind}", post(upload))
}

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// Upload a feed file
///
/// A data owner's file of one kind (CSV in UTF-8 or GBK, JSON Lines or XLSX; English or Chinese headers): every row valid or nothing stored, errors by line and column; replay-safe with `Idempotency-Key`. Each kind is open to the roles that own its data.
#[utoipa::path(post, path = "/v1/feeds/{kind}",
    params(("kind" = String, Path, description = "enterprises, tax-grades, tax-payments, households, farmer-assessments, public-records or loan-outcomes"),
        ("Idempotency-Key" = Option<String>, Header, description = "replaying a key returns the first answer")),
    request_body(description = "the feed file: CSV, JSON Lines or XLSX; all rows valid or nothing stored",
        content(("text/csv"), ("application/x-ndjson"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 201, description = "batch stored"), (status = 200, description = "replay of an earlier batch"),
        (status = 401), (status = 403), (status = 404), (status = 409), (status = 413), (status = 422)),
    security(("partner_key" = [])), tag = "feeds")]
#[tracing::instrument(skip_all, fields(kind = %kind))]
pub async fn upload(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let kind: FeedKind = kind.parse().map_err(ApiError::NotFound)?;
    let partner = caller.require(kind.allowed_roles())?;
    let format = match headers.get(header::CONTENT_TYPE) {
        Some(v) => Format::from_content_type(v.to_str().unwrap_or("?"))?,
        None => None,
    };
    let idempotency_key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .map(str::trim)
                .filter(|k| (1..=255).contains(&k.len()))
                .ok_or_else(|| {
                    ApiError::bad_request("Idempotency-Key must be 1–255 visible ASCII characters")
                })?
                .to_owned(),
        ),
    };
    let spooled = spool(
        body,
        &state.settings.data_dir,
        state.settings.body_limit_bytes,
    )
    .await?;
    let req = FeedRequest {
        kind,
        source: partner.id.clone(),
        idempotency_key,
        path: spooled.path().to_owned(),
        format,
        received_at: state.clock.now(),
        limits: state.settings.feed_limits.clone(),
        sender: Some(partner.role),
    };
    let accepted = state.import_feed(req, None).await?;
    tracing::info!(batch = %accepted.result.batch_id, rows = accepted.result.rows, replayed = accepted.replayed, "feed batch");
    let status = if accepted.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut resp = (status, Json(accepted.result)).into_response();
    if accepted.replayed {
        resp.headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// Writes the body to a temporary file chunk by chunk, refusing it past `limit` bytes (the
/// limit layer refuses a declared Content-Length up front; this catches chunked bodies).
async fn spool(
    body: Body,
    data_dir: &std::path::Path,
    limit: usize,
) -> Result<tempfile::NamedTempFile, ApiError> {
    let internal = |e: std::io::Error| {
        ApiError::Internal(anyhow::Error::new(e).context("spooling a feed body"))
    };
    let tmp = crate::feeds::spool::create(data_dir).map_err(internal)?;
    let mut file = tokio::fs::File::from_std(tmp.reopen().map_err(internal)?);
    let mut stream = body.into_data_stream();
    let mut total = 0usize;
    let too_large =
        || ApiError::PayloadTooLarge(format!("the feed is larger than the {limit}-byte limit"));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if format!("{e:#}").contains("length limit") {
                too_large()
            } else {
                ApiError::bad_request(format!("the request body could not be read: {e}"))
            }
        })?;
        total += chunk.len();
        if total > limit {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    Ok(tmp)
}

impl From<FeedError> for ApiError {
    fn from(err: FeedError) -> Self {
        let message = err.to_string();
        match err {
            FeedError::Invalid {
                errors_total,
                errors,
                rows_read,
                ..
            } => ApiError::Unprocessable {
                code: "invalid_rows",
                message,
                details: json!({ "errors_total": errors_total, "rows_read": rows_read, "errors": errors }),
            },
            FeedError::Unreadable { .. } => ApiError::Unprocessable {
                code: "unreadable_file",
                message,
                details: json!(null),
            },
            FeedError::UnsupportedFormat(_) => ApiError::BadRequest {
                code: "unsupported_format",
                message,
                details: json!(null),
            },
            FeedError::OverLimit(hit) => ApiError::FeedLimit {
                message,
                details: json!({ "limit": format!("feed_limits.{}", hit.limit), "max": hit.max, "line": hit.line }),
            },
            FeedError::KeyReused { .. } | FeedError::InProgress { .. } => {
                ApiError::Conflict(message)
            }
            FeedError::Io(e) => ApiError::Internal(anyhow::Error::new(e).context("feed i/o")),
            FeedError::Store(e) => e.into(),
            e @ FeedError::Audit(_) => ApiError::Internal(e.into()),
        }
    }
}
