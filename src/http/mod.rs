//! The HTTP API. Each resource is a module that owns its request/response types and exposes
//! `router() -> Router<AppState>`; this module nests them and adds the cross-cutting layers.

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::{middleware, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod connection;
pub mod consents;
pub mod docs;
pub mod error;
pub mod extract;
pub mod feeds;
pub mod health;
pub mod metrics;
pub mod models;
pub mod partners;
pub mod scores;

pub use crate::app::AppState;
// Handlers and tests name the limiter through the API that enforces it.
pub use crate::rate_limit;
pub use error::ApiError;
pub use extract::AppJson;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids are ULIDs: sortable by time, so they also order the audit trail for people.
#[derive(Clone, Default)]
struct MakeUlid;

impl MakeRequestId for MakeUlid {
    fn make_request_id<B>(&mut self, _req: &Request<B>) -> Option<RequestId> {
        ulid::Ulid::new()
            .to_string()
            .parse()
            .ok()
            .map(RequestId::new)
    }
}

/// The route template a request matched (`/v1/audit/subjects/{subject}`), or `unmatched`: what
/// logs and metrics name a request by, never its path.
pub fn route_of<B>(req: &Request<B>) -> &str {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
}

pub fn router(state: AppState) -> Router {
    let limit = state.settings.body_limit_bytes;
    Router::new()
        .merge(health::router())
        .merge(feeds::router())
        .merge(consents::router())
        .merge(partners::router())
        .merge(scores::router())
        .merge(models::router())
        .merge(audit::router())
        .merge(catalogue::router())
        .merge(docs::router())
        .merge(metrics::router())
        // The console (issue 19) sits beside the API, behind the same layers.
        .merge(crate::console::router(state.clone()))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
        .layer(middleware::from_fn(metrics::track))
        // Layers run bottom-up on the way in: the id is set first so every span and error has it.
        .layer(CatchPanicLayer::new())
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(120)))
        // Outside every layer that can answer by itself (limit, timeout, panic), so that all
        // errors leave in the API's shape.
        .layer(middleware::from_fn(error::json_errors))
        // Outside the body limit, so that it holds the body as it arrived and can read what a
        // refusal left unread (and keep the connection); inside the request id, which its 414
        // carries.
        .layer(middleware::from_fn(connection::keep_alive))
        .layer(
            // The span carries method, route and request id only: never bodies, query strings or
            // the path itself, all of which may hold identity numbers
            // (`/v1/audit/subjects/{subject}` takes one in the path).
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), route = %route_of(req), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeUlid))
}
