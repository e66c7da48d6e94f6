//! Liveness and readiness.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
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

/// Ready when the database answers and every product has a champion loaded; a replica that
/// cannot serve scores is taken out of rotation.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
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
