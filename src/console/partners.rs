//! Partners: the list (role, status, created), and for operators add (the new key shown once,
//! on the answer page only) and revoke. Rotation waits for issue 17's use case.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::i18n::t;
use super::page::{csrf, page, when, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::domain::Role;
use crate::partners::PartnerError;
use crate::storage::StoreError;
use crate::users::Duty;

async fn render(
    state: &AppState,
    s: &Signed,
    new_key: Option<(String, String)>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let operator = s.user.role.may(Duty::Partners);
    let partners = state
        .db
        .list_partners()
        .await
        .map_err(ConsoleError::internal)?;
    let body = html! {
        @if let Some((name, key)) = &new_key {
            div class="notice" { p { (name) ": " (t(lang, "key_once")) } p class="key" id="new-key" { (key) } }
        }
        table id="partners" {
            tr { th { (t(lang, "name")) } th { (t(lang, "role")) } th { (t(lang, "status")) } th { (t(lang, "created")) } th {} }
            @for p in &partners {
                tr data-partner=(p.id) {
                    td { (p.name) br; small { (p.id) } } td { (p.role.as_str()) }
                    td { @if p.active { (t(lang, "active")) } @else { span class="late" { (t(lang, "revoked")) } } }
                    td { (when(p.created_at)) }
                    td { @if operator && p.active {
                        form method="post" action={ "/console/partners/" (p.id) "/revoke" } {
                            (csrf(s)) button type="submit" id={ "revoke-" (p.id) } { (t(lang, "revoke")) }
                        }
                    } }
                }
            }
        }
        @if operator {
            h2 { (t(lang, "add_partner")) }
            form method="post" action="/console/partners" id="add-partner" {
                (csrf(s))
                label { (t(lang, "name")) " " input type="text" name="name" id="partner-name" required; }
                " " label { (t(lang, "role")) " " select name="role" id="partner-role" {
                    @for r in Role::ALL { option value=(r.as_str()) { (r.as_str()) } }
                } }
                " " button type="submit" id="add-partner-go" { (t(lang, "add")) }
            }
        }
    };
    Ok(page(s, "/console/partners", "partners", body))
}

pub async fn show(State(state): State<AppState>, s: Signed) -> Result<Response, ConsoleError> {
    render(&state, &s, None).await
}

#[derive(Deserialize)]
pub struct AddForm {
    name: String,
    role: String,
}

pub async fn add(
    State(state): State<AppState>,
    s: Signed,
    Form(form): Form<AddForm>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Partners)?;
    let lang = s.lang();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ConsoleError::Invalid(
            lang,
            "name: 1 to 200 characters".into(),
        ));
    }
    let role: Role = form
        .role
        .parse()
        .map_err(|e| ConsoleError::Invalid(lang, format!("role: {e}")))?;
    let new = state
        .add_partner(name, role, super::audit::actor(&s.user.name))
        .await
        .map_err(ConsoleError::internal)?;
    super::audit::action(
        &state,
        &s.user,
        "partner_add",
        None,
        json!({ "partner_id": new.id, "name": new.name, "partner_role": role.as_str() }),
    )
    .await?;
    render(&state, &s, Some((new.name, new.key))).await
}

pub async fn revoke(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Partners)?;
    let lang = s.lang();
    // The use case revokes every key of the partner and drops this replica's cached copy.
    state
        .revoke_partner(&id, super::audit::actor(&s.user.name))
        .await
        .map_err(|e| match e {
            PartnerError::Store(StoreError::NotFound) => ConsoleError::NotFound(lang),
            PartnerError::Store(StoreError::Conflict(m)) => ConsoleError::Conflict(lang, m),
            other => ConsoleError::internal(other),
        })?;
    super::audit::action(
        &state,
        &s.user,
        "partner_revoke",
        None,
        json!({ "partner_id": id }),
    )
    .await?;
    Ok(Redirect::to("/console/partners").into_response())
}
