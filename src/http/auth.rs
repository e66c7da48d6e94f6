//! Partner authentication (`Authorization: Bearer <key>`) and role checks.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::{ApiError, AppState};
use crate::domain::Role;
use crate::storage::partners::Partner;

/// The authenticated partner making the request.
#[derive(Clone, Debug)]
pub struct Caller(pub Partner);

impl Caller {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&Partner, ApiError> {
        if roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(
                "role_not_allowed",
                format!("role {} may not use this endpoint", self.0.role.as_str()),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthorized("missing Authorization: Bearer <partner key>".into())
        })?;
        let key = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("Authorization must be: Bearer <partner key>".into())
            })?;
        match state.db.partner_by_key(key).await? {
            Some(p) if p.active => {
                tracing::Span::current().record("partner", p.id.as_str());
                state
                    .limiter
                    .check(&p.id)
                    .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
                Ok(Caller(p))
            }
            Some(_) => Err(ApiError::Unauthorized(
                "partner key has been revoked".into(),
            )),
            None => Err(ApiError::Unauthorized("unknown partner key".into())),
        }
    }
}
