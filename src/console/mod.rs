//! The operator and analyst console (issue 19): server-rendered pages at `/console` for the
//! credit centre's operators, risk analysts and auditors, compiled into the binary (maud
//! templates, embedded styles; no script, no CDN). It sits beside `http` on the edge floor and
//! reads and acts through the same `AppState` use cases and storage calls as the API; no SQL
//! here. Sessions, CSRF and roles: `session`; the audit records: `audit`; words: `i18n`.

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

pub mod audit;
pub mod i18n;
pub mod login;
pub mod page;
pub mod session;

mod audit_page;
mod feeds;
mod models;
mod overview;
mod overview_trail;
mod partners;
mod subjects;

mod charts;
mod model_card;
mod monitoring;
mod retrain;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(overview::show))
        .route("/console/login", get(login::show).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/lang", post(login::switch_lang))
        .route("/console/subjects", get(subjects::search))
        .route("/console/subjects/lookup", post(subjects::lookup))
        .route("/console/subjects/{key}", get(subjects::show))
        .route("/console/subjects/{key}/report", get(subjects::report))
        .route(
            "/console/subjects/{key}/disputes",
            post(subjects::open_dispute),
        )
        .route(
            "/console/disputes/{id}/resolve",
            post(subjects::resolve_dispute),
        )
        .route("/console/models", get(models::show))
        .route("/console/models/{id}/promote", post(models::promote))
        .route("/console/models/{id}/approve", post(models::approve))
        .route("/console/models/rollback/{product}", post(models::rollback))
        .route("/console/feeds", get(feeds::show))
        .route("/console/feeds/{id}", get(feeds::batch))
        .route("/console/partners", get(partners::show).post(partners::add))
        .route("/console/partners/{id}/revoke", post(partners::revoke))
        .route("/console/audit", get(audit_page::show))
        .route("/console/audit/verify", post(audit_page::verify))
        .route("/console/audit/export", get(audit_page::export))
        .route("/console/partners/{id}/rotate", post(partners::rotate))
        .route(
            "/console/partner-keys/{key_id}/revoke",
            post(partners::revoke_key),
        )
        .route("/console/feeds/upload", post(feeds::upload))
        .route("/console/feeds/refusals/{id}", get(feeds::refusal))
        .route(
            "/console/feeds/refusals/{id}/rows.csv",
            get(feeds::refused_rows),
        )
        .route(
            "/console/subjects/{key}/consents/{id}/revoke",
            post(subjects::revoke_consent),
        )
        .route(
            "/console/subjects/{key}/consents/{id}/withdraw",
            post(subjects::withdraw_consent),
        )
        .route("/console/monitoring", get(monitoring::show))
        .route("/console/models/{id}", get(model_card::show))
        .route("/console/retrain", get(retrain::show).post(retrain::start))
        .route("/console/retrain/{id}", get(retrain::progress))
        .layer(middleware::from_fn_with_state(state, session::guard))
}
