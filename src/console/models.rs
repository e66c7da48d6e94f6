//! Models: the registry per product with its champion history, each candidate beside the
//! champion (out-of-time AUC with its interval, KS, PSI, the gates' verdict), and for analysts
//! promote (with a reason; past failed gates it waits for a second analyst), approve, roll back.
//! All through `AppState::registry()`, the API's own use case, so the four-eyes rule is the
//! registry's: the approver must be another person.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::i18n::t;
use super::page::{csrf, page, when, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::domain::Product;
use crate::lifecycle::{gate_result, PromotionError};
use crate::storage::models::ModelRow;
use crate::storage::StoreError;
use crate::users::{Duty, Lang};

fn figure(v: &Value) -> String {
    v.as_f64().map_or_else(|| "—".into(), |x| format!("{x:.4}"))
}

/// The comparable figures of a model, from what retraining recorded.
fn card(state: &AppState, lang: Lang, m: &ModelRow) -> Markup {
    let metrics: Value = serde_json::from_str(&m.metrics).unwrap_or(Value::Null);
    let gi = &metrics["gate_inputs"];
    let verdict = gate_result(&state.gates, &m.metrics);
    html! {
        div class="card" data-model=(m.id) {
            h3 { a href={ "/console/models/" (m.id) } class="card-link" { (m.id) } }
            table {
                tr { th { (t(lang, "status")) } td class="model-status" { (m.status) } }
                tr { th { (t(lang, "created")) } td { (when(m.created_at)) } }
                tr { th { (t(lang, "oot_auc")) } td { (figure(&gi["oot_auc"]["auc"])) " (" (figure(&gi["oot_auc"]["lower"])) "–" (figure(&gi["oot_auc"]["upper"])) ")" } }
                tr { th { (t(lang, "oot_ks")) } td { (figure(&gi["oot_ks"])) } }
                tr { th { (t(lang, "psi")) } td { (figure(&gi["psi_train_oot"])) } }
                tr { th { (t(lang, "gates")) } td {
                    @if verdict.passed() { span class="ok" { (t(lang, "gates_passed")) } }
                    @else { span class="late" { (t(lang, "gates_failed")) } ul { @for f in &verdict.failures { li { (f) } } } }
                } }
            }
        }
    }
}

pub async fn show(State(state): State<AppState>, s: Signed) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let analyst = s.user.role.may(Duty::Models);
    let models = state
        .db
        .models(None)
        .await
        .map_err(ConsoleError::internal)?;
    let approvals = state
        .db
        .open_approvals()
        .await
        .map_err(ConsoleError::internal)?;
    let mut sections = Vec::new();
    for product in Product::ALL {
        let history = state
            .db
            .promotion_history(product.as_str())
            .await
            .map_err(ConsoleError::internal)?;
        let mine: Vec<&ModelRow> = models
            .iter()
            .filter(|m| m.product == product.as_str())
            .collect();
        sections.push((*product, history, mine));
    }
    // For each candidate, what changed from its product's champion (both cards loaded from
    // their artifacts; a model that cannot be loaded shows no comparison).
    let registry = state.registry();
    let mut changes = std::collections::HashMap::new();
    for champion in models.iter().filter(|c| c.status == "champion") {
        let Ok(old) = registry.card(&champion.id).await else {
            continue;
        };
        for m in models
            .iter()
            .filter(|m| m.status == "candidate" && m.product == champion.product)
        {
            if let Ok(new) = registry.card(&m.id).await {
                changes.insert(
                    m.id.clone(),
                    crate::lifecycle::card::changed_characteristics(&old, &new),
                );
            }
        }
    }
    let body = html! {
        @for (product, history, mine) in &sections {
            @let champion = mine.iter().find(|m| m.status == "champion");
            section id={ "product-" (product.as_str()) } {
                h2 { (product.as_str()) }
                @for m in mine.iter().filter(|m| m.status == "candidate") {
                    @let pending = approvals.iter().find(|a| a.model_id == m.id);
                    div class="side" {
                        (card(&state, lang, m))
                        @if let Some(c) = champion { (card(&state, lang, c)) } @else { div class="card" { h3 { (t(lang, "champion")) } p { (t(lang, "none")) } } }
                    }
                    @if let Some(c) = changes.get(&m.id) {
                        h4 { (t(lang, "changed_characteristics")) }
                        (super::model_card::changes_table(lang, &m.id, c))
                    }
                    @if let Some(a) = pending {
                        p class="notice" id={ "awaiting-" (m.id) } { (t(lang, "awaiting")) " · " (t(lang, "requested_by")) " " (a.requested_by) " · " (a.reason) }
                        @if analyst {
                            form method="post" action={ "/console/models/" (m.id) "/approve" } {
                                (csrf(&s))
                                button type="submit" id={ "approve-" (m.id) } { (t(lang, "approve")) }
                            }
                        }
                    } @else if analyst {
                        form method="post" action={ "/console/models/" (m.id) "/promote" } id={ "promote-form-" (m.id) } {
                            (csrf(&s))
                            label { (t(lang, "reason")) " " input type="text" name="reason" id={ "reason-" (m.id) }; }
                            " " label { input type="checkbox" name="force" value="true" id={ "force-" (m.id) }; " " (t(lang, "force")) }
                            " " button type="submit" id={ "promote-" (m.id) } { (t(lang, "promote")) }
                        }
                    }
                }
                h3 { (t(lang, "registry")) }
                table class="registry" {
                    tr { th { "id" } th { (t(lang, "status")) } th { (t(lang, "created")) } }
                    @for m in mine { tr { td { (m.id) } td { (m.status) } td { (when(m.created_at)) } } }
                }
                h3 { (t(lang, "champion_history")) }
                @if history.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
                    table class="champion-history" {
                        tr { th { (t(lang, "when")) } th { (t(lang, "champion")) } th { (t(lang, "by")) } th { (t(lang, "reason")) } th { (t(lang, "approve")) } }
                        @for h in history {
                            tr { td { (when(h.promoted_at)) } td { (h.model_id) " (" (h.kind) ")" } td { (h.promoted_by) }
                                 td { (h.reason.as_deref().unwrap_or("")) } td { (h.approved_by.as_deref().unwrap_or("")) } }
                        }
                    }
                    @if analyst && history.len() > 1 {
                        form method="post" action={ "/console/models/rollback/" (product.as_str()) } {
                            (csrf(&s))
                            button type="submit" id={ "rollback-" (product.as_str()) } { (t(lang, "rollback")) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&s, "/console/models", "models", body))
}

fn promotion_error(lang: Lang, e: PromotionError) -> ConsoleError {
    match e {
        PromotionError::Store(StoreError::NotFound) => ConsoleError::NotFound(lang),
        PromotionError::Store(StoreError::Conflict(m)) => ConsoleError::Conflict(lang, m),
        PromotionError::Store(other) => ConsoleError::internal(other),
        PromotionError::Audit(_) | PromotionError::Load(_) => ConsoleError::internal(e),
        PromotionError::SameApprover { .. }
        | PromotionError::NoApprovalPending(_)
        | PromotionError::NothingToRollBack(_)
        // An artifact that fails its digest check: the champion stays, as over the API (409).
        | PromotionError::Unloadable(_) => ConsoleError::Conflict(lang, e.to_string()),
        PromotionError::GatesFailed { .. }
        | PromotionError::ReasonRequired
        | PromotionError::WrongProduct { .. } => ConsoleError::Invalid(lang, e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct PromoteForm {
    reason: Option<String>,
    force: Option<String>,
}

pub async fn promote(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(form): Form<PromoteForm>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Models)?;
    let force = form.force.as_deref() == Some("true");
    let outcome = state
        .registry()
        .promote(&id, &s.actor(), force, form.reason.as_deref(), None)
        .await
        .map_err(|e| promotion_error(s.lang(), e))?;
    super::audit::action(
        &state,
        &s.user,
        "model_promote",
        None,
        json!({ "model_id": id, "force": force, "reason": form.reason, "outcome": outcome }),
    )
    .await?;
    Ok(Redirect::to("/console/models").into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Models)?;
    let outcome = state
        .registry()
        .approve(&id, &s.actor())
        .await
        .map_err(|e| promotion_error(s.lang(), e))?;
    super::audit::action(
        &state,
        &s.user,
        "model_approve",
        None,
        json!({ "model_id": id, "outcome": outcome }),
    )
    .await?;
    Ok(Redirect::to("/console/models").into_response())
}

pub async fn rollback(
    State(state): State<AppState>,
    s: Signed,
    Path(product): Path<String>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Models)?;
    let product: Product = product
        .parse()
        .map_err(|_| ConsoleError::NotFound(s.lang()))?;
    let champion = state
        .registry()
        .rollback(product, &s.actor())
        .await
        .map_err(|e| promotion_error(s.lang(), e))?;
    super::audit::action(
        &state,
        &s.user,
        "model_rollback",
        None,
        json!({ "product": product.as_str(), "champion": champion }),
    )
    .await?;
    Ok(Redirect::to("/console/models").into_response())
}
