//! The floor for `POST /v1/scores`: a bare axum JSON echo on the same runtime, with none of
//! creditbridge's work (no auth, database, features, scoring or audit). The load benchmark
//! (benches/score_load.sh) measures it in the same run so the service's figure has a reference.
//!
//!     cargo run --release --example axum_floor -- 127.0.0.1:18099

use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18099".into());
    let app = Router::new().route("/echo", post(|Json(v): Json<Value>| async move { Json(v) }));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
