//! Liveness and readiness.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::domain::Product;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Set when the service begins to shut down (see `startup::run`): from then on `/readyz` answers
/// 503 so that load balancers stop sending before the listener closes.
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn begin(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Ready when the service is not shutting down, the database answers and every product has a
/// champion loaded; a replica that cannot serve scores is taken out of rotation.
async fn readyz(
    State(state): State<AppState>,
    draining: Option<Extension<Draining>>,
) -> Result<Json<Value>, ApiError> {
    if draining.is_some_and(|Extension(d)| d.is_on()) {
        return Err(ApiError::Unavailable("shutting down".into()));
    }
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "database not reachable");
        ApiError::Unavailable("database not reachable".into())
    })?;
    let mut champions = serde_json::Map::new();
    for product in [Product::Sme, Product::Farmer] {
        match state.champions.get(product) {
            Some(c) => champions.insert(product.as_str().into(), json!(c.id)),
            None => {
                return Err(ApiError::Unavailable(format!(
                    "no champion model loaded for {}",
                    product.as_str()
                )))
            }
        };
    }
    let database = format!("{:?}", state.db.dialect()).to_lowercase();
    Ok(Json(
        json!({ "status": "ready", "database": database, "champions": champions }),
    ))
}
