//! Extractors that answer malformed input in the API's own error shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::ApiError;

/// `Json<T>` whose rejections are `ApiError`s: 400 for syntax, 422 for a body of the wrong shape
/// (unknown or missing fields), 413 over the limit, 415 without a JSON content type.
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJson(v)),
            Err(rejection) => Err(from_rejection(rejection)),
        }
    }
}

fn from_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(text),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable {
            code: "invalid_body",
            message: text.clone(),
            details: json!({ "reason": text }),
        },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::BadRequest {
            code: "unsupported_media_type",
            message: "expected Content-Type: application/json".into(),
            details: serde_json::Value::Null,
        },
        _ => ApiError::BadRequest {
            code: "malformed_json",
            message: text,
            details: serde_json::Value::Null,
        },
    }
}
