//! Liveness and readiness.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers; a replica that cannot reach it is taken out of rotation.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "database not reachable");
        ApiError::Unavailable("database not reachable".into())
    })?;
    Ok(Json(
        json!({ "status": "ready", "database": format!("{:?}", state.db.dialect()).to_lowercase() }),
    ))
}
