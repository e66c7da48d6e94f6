//! Prometheus metrics: requests and latency by route and status, plus the gauges and counters
//! other modules publish (scores by product and grade, audit queue depth, ledger lag and
//! checkpoint age, champion reloads, retrain outcomes, feed rejections; docs/operations.md).

use std::sync::OnceLock;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::AppState;

/// The process-wide recorder (one per process however many apps a test starts).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .expect("static buckets")
            .set_buckets_for_metric(
                Matcher::Full("creditbridge_audit_group_rows".into()),
                &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
            )
            .expect("static buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first, in which case ours stays unused.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>) -> Response {
    metrics::gauge!("creditbridge_audit_queue_depth").set(state.audit.queue_depth() as f64);
    // The ledger's health as of this scrape: entries waiting for the sequencer, and how old the
    // newest signed checkpoint is (by the app's clock). A failed look is logged and left out.
    match state.db.ledger_lag().await {
        Ok(lag) => metrics::gauge!("creditbridge_ledger_lag_entries").set(lag as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: ledger lag"),
    }
    match state.db.newest_checkpoint_at().await {
        Ok(Some(at)) => {
            let age = (state.clock.now() - at).num_milliseconds() as f64 / 1000.0;
            metrics::gauge!("creditbridge_ledger_checkpoint_age_seconds").set(age.max(0.0));
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "metrics: newest checkpoint"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}

/// Counts every request by matched route (never the raw path, which could carry ids), method and
/// status, and observes its latency. Every label has a bounded set of values: a method outside
/// the standard ones and a path no route matches are both `other`, so no request can add a series.
pub async fn track(req: Request<Body>, next: Next) -> Response {
    let route = match super::route_of(&req) {
        "unmatched" => OTHER.to_owned(),
        matched => matched.to_owned(),
    };
    let method = method_label(req.method());
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [
        ("route", route),
        ("method", method.to_owned()),
        ("status", status),
    ];
    metrics::counter!("creditbridge_http_requests_total", &labels).increment(1);
    metrics::histogram!("creditbridge_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// The label of whatever falls outside a known set.
pub const OTHER: &str = "other";

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => OTHER,
    }
}
