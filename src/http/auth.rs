//! Partner authentication (`Authorization: Bearer <key>`) and role checks.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
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

    /// The partner whose key the request carries, with one token of its rate limit taken. A
    /// request without a valid key is charged to its client address instead: past that
    /// address's allowance it gets 429 rather than 401.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let now = state.clock.now();
        let partner = match authenticate(parts, state, now).await {
            Err(ApiError::Unauthorized(message)) => {
                let ip = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip());
                state.limiter.charge_unauthenticated(ip, now)?;
                return Err(ApiError::Unauthorized(message));
            }
            other => other?,
        };
        tracing::Span::current().record("partner", partner.id.as_str());
        state.limiter.take_request(&partner.id, now).await?;
        Ok(Caller(partner))
    }
}

/// The active partner whose key in force `Authorization: Bearer` carries; 401 otherwise.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Partner, ApiError> {
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
    match state.read_model.partner_by_key(&state.db, key).await? {
        Some((p, k)) if p.active && k.in_force(now) => Ok(p),
        Some((p, _)) if !p.active => Err(ApiError::Unauthorized(
            "partner key has been revoked".into(),
        )),
        Some((_, k)) if k.revoked_at.is_some_and(|t| t <= now) => Err(ApiError::Unauthorized(
            "partner key has been revoked".into(),
        )),
        Some(_) => Err(ApiError::Unauthorized(
            "partner key has been retired by a rotation: use the partner's new key".into(),
        )),
        None => Err(ApiError::Unauthorized("unknown partner key".into())),
    }
}

/// The roles an endpoint admits, as a type, so the check runs while the request's head is
/// extracted: a caller without the role gets 403 before its body is read or judged.
pub trait RoleSet: Send + Sync + 'static {
    const ROLES: &'static [Role];
}

/// Administrators only.
pub enum AdminRole {}
impl RoleSet for AdminRole {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Administrators and auditors: the roles that read the whole audit ledger
/// (`Role::LEDGER_READERS`).
pub enum LedgerReaderRoles {}
impl RoleSet for LedgerReaderRoles {
    const ROLES: &'static [Role] = Role::LEDGER_READERS;
}

/// Banks and insurers: the partners that ask for scores.
pub enum LenderRoles {}
impl RoleSet for LenderRoles {
    const ROLES: &'static [Role] = &[Role::Bank, Role::Insurer];
}

/// An authenticated caller holding one of `R::ROLES`.
pub struct Authorized<R: RoleSet> {
    pub partner: Partner,
    roles: PhantomData<R>,
}

pub type Admin = Authorized<AdminRole>;
pub type Lender = Authorized<LenderRoles>;
pub type LedgerReader = Authorized<LedgerReaderRoles>;

impl<R: RoleSet> Authorized<R> {
    /// The caller as the audit ledger records an actor.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::Partner {
            partner_id: self.partner.id.clone(),
        }
    }
}

impl<R: RoleSet> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(R::ROLES)?;
        Ok(Authorized {
            partner: caller.0,
            roles: PhantomData,
        })
    }
}
