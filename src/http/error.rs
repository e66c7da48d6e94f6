//! The one error type of the HTTP API. Every error leaves as
//! `{"error": {"code", "message", "details"}}` with the status product.md fixes; database and
//! internal errors become a logged 500 whose body says nothing internal.

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::storage::StoreError;

/// The shape of every error answer, as the OpenAPI document shows it.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": {"code": "rate_limited", "message": "rate limit exceeded; retry after 20 s", "details": {"retry_after_secs": 20}}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// One error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// The stable code (GET /v1/catalogue/errors lists them all).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// More about it, by code (the field, the limit, the seconds to wait); null when nothing.
    #[schema(value_type = Option<Object>)]
    pub details: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A feed over one of the feed limits: 413 naming the limit in `details`.
    #[error("{message}")]
    FeedLimit { message: String, details: Value },
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A score batch larger than the partner's whole allowance: no wait lets it through.
    #[error("{message}")]
    OverRateLimit { message: String, limit: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "bad_request",
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn invalid(message: impl Into<String>, details: Value) -> Self {
        ApiError::Unprocessable {
            code: "invalid_content",
            message: message.into(),
            details,
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, &'static str, Value) {
        match self {
            ApiError::BadRequest { code, details, .. } => {
                (StatusCode::BAD_REQUEST, code, details.clone())
            }
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", Value::Null),
            ApiError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code, Value::Null),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", Value::Null),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", Value::Null),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                Value::Null,
            ),
            ApiError::FeedLimit { details, .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "feed_limit_exceeded",
                details.clone(),
            ),
            ApiError::Unprocessable { code, details, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, code, details.clone())
            }
            ApiError::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                json!({ "retry_after_secs": retry_after_secs }),
            ),
            ApiError::OverRateLimit { limit, .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_over_rate_limit",
                json!({ "limit_per_minute": limit }),
            ),
            ApiError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", Value::Null)
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", Value::Null),
        }
    }
}

impl From<crate::rate_limit::Limited> for ApiError {
    fn from(err: crate::rate_limit::Limited) -> Self {
        use crate::rate_limit::Limited;
        match err {
            Limited::Wait { retry_after_secs } => ApiError::RateLimited { retry_after_secs },
            e @ Limited::Exceeds { limit, .. } => ApiError::OverRateLimit {
                message: e.to_string(),
                limit,
            },
            Limited::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, details) = self.parts();
        let message = match &self {
            ApiError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut resp = error_body(status, code, &message, details);
        if let ApiError::RateLimited { retry_after_secs } = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        resp
    }
}

pub fn error_body(status: StatusCode, code: &str, message: &str, details: Value) -> Response {
    let body = json!({ "error": { "code": code, "message": message, "details": details } });
    (status, Json(body)).into_response()
}

/// Errors produced outside our handlers (unknown route, wrong method, a body over the limit in
/// a tower layer, a panic) come as plain text; this rewrites them into the API's error shape so
/// that clients handle one format.
pub async fn json_errors(req: Request<Body>, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    // The console's own error pages (HTML) leave as they are.
    let is_json_or_page = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_json_or_page {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "method not allowed on this route")
        }
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "request body exceeds the configured limit",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "unsupported content type")
        }
        StatusCode::REQUEST_TIMEOUT => ("timeout", "request timed out"),
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("bad_request", "bad request"),
    };
    let mut out = error_body(status, code, message, Value::Null);
    for (name, value) in resp.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
