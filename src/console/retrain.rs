//! Retraining from the console (analysts): a form with the product and the as-of date starts
//! `app::retrain_runs` in the background and answers at once with the run's page, which
//! refreshes itself (a meta refresh, no script) while the run is going and then shows the new
//! candidate or why it failed. The request and the end are console entries in the ledger under
//! the user; the retraining's own `model.trained` entry names the user too.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::i18n::t;
use super::page::{csrf, page, page_refreshing, when, ConsoleError};
use super::session::Signed;
use crate::app::retrain_runs::{self, RetrainRun, RunError, RunState};
use crate::app::AppState;
use crate::domain::Product;
use crate::users::{Duty, Lang};

/// Seconds between the progress page's refreshes while a run is going.
const REFRESH_SECS: u32 = 3;

fn state_word(lang: Lang, s: &RunState) -> &'static str {
    match s {
        RunState::Running => t(lang, "running"),
        RunState::Finished { .. } => t(lang, "finished"),
        RunState::Failed { .. } => t(lang, "failed"),
        RunState::Abandoned => t(lang, "abandoned"),
    }
}

fn state_class(s: &RunState) -> &'static str {
    match s {
        RunState::Running => "running",
        RunState::Finished { .. } => "finished",
        RunState::Failed { .. } => "failed",
        RunState::Abandoned => "abandoned",
    }
}

/// The form (analysts) and every run, newest first.
pub async fn show(State(state): State<AppState>, s: Signed) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let runs = retrain_runs::list(&state)
        .await
        .map_err(ConsoleError::internal)?;
    let today = state.clock.today();
    let body = html! {
        @if s.user.role.may(Duty::Models) {
            form method="post" action="/console/retrain" id="retrain-form" {
                (csrf(&s))
                label { (t(lang, "product")) " "
                    select name="product" id="retrain-product" {
                        @for p in Product::ALL { option value=(p.as_str()) { (p.as_str()) } }
                    }
                }
                " " label { (t(lang, "as_of")) " " input type="date" name="as_of" id="retrain-as-of" value=(today); }
                " " button type="submit" id="retrain-start" { (t(lang, "start_retrain")) }
            }
            p class="hint" { (t(lang, "retrain_hint")) }
        }
        h2 { (t(lang, "retrain_runs")) }
        @if runs.is_empty() { p class="empty" { (t(lang, "nothing_yet")) } } @else {
            table id="retrain-runs" {
                tr { th { (t(lang, "started")) } th { (t(lang, "product")) } th { (t(lang, "as_of")) } th { (t(lang, "by")) } th { (t(lang, "status")) } th { (t(lang, "candidate")) } }
                @for r in &runs {
                    tr {
                        td { a href={ "/console/retrain/" (r.id) } { (when(r.started_at)) } }
                        td { (r.product.as_str()) } td { (r.as_of) } td { (r.requested_by) }
                        td class=(state_class(&r.state)) { (state_word(lang, &r.state)) }
                        td { @if let RunState::Finished { model_id, .. } = &r.state { a href={ "/console/models/" (model_id) } { (model_id) } } }
                    }
                }
            }
        }
    };
    Ok(page(&s, "/console/retrain", "retrain", body))
}

#[derive(Deserialize)]
pub struct RetrainForm {
    product: String,
    as_of: String,
}

pub async fn start(
    State(state): State<AppState>,
    s: Signed,
    Form(form): Form<RetrainForm>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Models)?;
    let lang = s.lang();
    let product: Product = form
        .product
        .parse()
        .map_err(|_| ConsoleError::Invalid(lang, t(lang, "retrain_bad_product").to_owned()))?;
    let as_of: NaiveDate = form
        .as_of
        .trim()
        .parse()
        .map_err(|_| ConsoleError::Invalid(lang, t(lang, "retrain_bad_date").to_owned()))?;
    if as_of > state.clock.today() {
        return Err(ConsoleError::Invalid(
            lang,
            t(lang, "retrain_future_date").to_owned(),
        ));
    }
    let (run, work) = retrain_runs::start(&state, product, as_of, &s.actor())
        .await
        .map_err(|e| match e {
            RunError::Busy(_) => ConsoleError::Conflict(lang, e.to_string()),
            RunError::Store(e) => ConsoleError::internal(e),
        })?;
    // The request is in the ledger before the work starts.
    super::audit::action(
        &state,
        &s.user,
        "model_retrain",
        None,
        json!({ "run": run.id, "product": product.as_str(), "as_of": as_of }),
    )
    .await?;
    let (user, st, id) = (s.user.clone(), state.clone(), run.id.clone());
    tokio::spawn(async move {
        let outcome = work.await;
        let result = super::audit::action(
            &st,
            &user,
            "model_retrain_done",
            None,
            json!({ "run": id, "product": product.as_str(), "outcome": outcome }),
        )
        .await;
        if let Err(e) = result {
            tracing::error!(run = id, error = ?e, "could not record a retraining's end");
        }
    });
    Ok(Redirect::to(&format!("/console/retrain/{}", run.id)).into_response())
}

/// One run: refreshed every few seconds while it is going.
pub async fn progress(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let run: RetrainRun = retrain_runs::get(&state, &id)
        .await
        .map_err(ConsoleError::internal)?
        .ok_or(ConsoleError::NotFound(lang))?;
    let body = html! {
        table id="retrain-run" data-state=(state_class(&run.state)) {
            tr { th { (t(lang, "product")) } td { (run.product.as_str()) } }
            tr { th { (t(lang, "as_of")) } td { (run.as_of) } }
            tr { th { (t(lang, "by")) } td { (run.requested_by) } }
            tr { th { (t(lang, "started")) } td { (when(run.started_at)) } }
            tr { th { (t(lang, "status")) } td id="run-state" class=(state_class(&run.state)) { (state_word(lang, &run.state)) } }
            @match &run.state {
                RunState::Finished { model_id, oot_auc, oot_auc_ci, gate_verdict, gate_failures } => {
                    tr { th { (t(lang, "new_candidate")) } td { a id="run-model" href={ "/console/models/" (model_id) } { (model_id) } } }
                    tr { th { (t(lang, "oot_auc")) } td { (format!("{oot_auc:.4} ({:.4}–{:.4})", oot_auc_ci.0, oot_auc_ci.1)) } }
                    tr { th { (t(lang, "gates")) } td { (serde_json::to_value(gate_verdict).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
                        @if !gate_failures.is_empty() { ul { @for f in gate_failures { li { (f) } } } } } }
                }
                RunState::Failed { error } => {
                    tr { th { (t(lang, "why")) } td id="run-error" class="error" { (error) } }
                }
                _ => {}
            }
        }
        @if run.state == RunState::Running { p class="hint" { (t(lang, "refreshes")) } }
        p { a href="/console/retrain" { (t(lang, "retrain_runs")) } " · " a href="/console/models" { (t(lang, "models")) } }
    };
    let here = format!("/console/retrain/{}", run.id);
    Ok(if run.state == RunState::Running {
        page_refreshing(&s, &here, "retrain", body, REFRESH_SECS)
    } else {
        page(&s, &here, "retrain", body)
    })
}
