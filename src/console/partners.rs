//! Partners: each partner with its keys (id, created, the end of a rotation's overlap,
//! revoked), its rate limit and its last activity (its newest audited request), and for
//! operators: add a partner, rotate its key with an overlap, revoke one key, revoke the
//! partner. A new key is shown once, on the answer page only. Every step goes through the
//! partner use cases (`AppState::add_partner`, `rotate_partner_key`, `revoke_partner_key`,
//! `revoke_partner`), which record it in the ledger with the console user as the actor.

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
use crate::storage::partners::PartnerKey;
use crate::storage::StoreError;
use crate::users::{Duty, Lang};

/// The overlap a rotation offers by default: a day, as the API's default.
const DEFAULT_OVERLAP_MINUTES: u32 = 24 * 60;

/// A key just issued, shown once: whose, its id, the key.
struct Shown {
    partner: String,
    key_id: String,
    key: String,
}

/// Where a key stands at `now`, in the page's words.
fn key_state(
    lang: Lang,
    k: &PartnerKey,
    now: chrono::DateTime<chrono::Utc>,
) -> (&'static str, &'static str) {
    if k.revoked_at.is_some_and(|t| t <= now) {
        (t(lang, "revoked"), "late")
    } else if k.retire_at.is_some_and(|t| t <= now) {
        (t(lang, "retired"), "late")
    } else if k.retire_at.is_some() {
        (t(lang, "retiring"), "")
    } else {
        (t(lang, "in_force"), "ok")
    }
}

async fn render(
    state: &AppState,
    s: &Signed,
    shown: Option<Shown>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let now = state.clock.now();
    let operator = s.user.role.may(Duty::Partners);
    let db = &state.db;
    let partners = db.list_partners().await.map_err(ConsoleError::internal)?;
    let mut keys = Vec::with_capacity(partners.len());
    let mut activity = Vec::with_capacity(partners.len());
    for p in &partners {
        keys.push(
            db.partner_keys(&p.id)
                .await
                .map_err(ConsoleError::internal)?,
        );
        activity.push(
            db.partner_last_activity(&p.id)
                .await
                .map_err(ConsoleError::internal)?,
        );
    }
    // One limit for every partner (`rate_limit_per_minute`), counted in scores and shared by the
    // replicas (`rate_limit`, docs/operations.md).
    let limit = state.settings.rate_limit_per_minute;
    let body = html! {
        @if let Some(n) = &shown {
            div class="notice" {
                p { (n.partner) " · " (n.key_id) ": " (t(lang, "key_once")) }
                p class="key" id="new-key" { (n.key) }
            }
        }
        table id="partners" {
            tr { th { (t(lang, "name")) } th { (t(lang, "role")) } th { (t(lang, "status")) } th { (t(lang, "created")) }
                 th { (t(lang, "rate_limit")) } th { (t(lang, "last_activity")) } th {} }
            @for ((p, keys), last) in partners.iter().zip(&keys).zip(&activity) {
                tr data-partner=(p.id) {
                    td { (p.name) br; small { (p.id) } } td { (p.role.as_str()) }
                    td { @if p.active { (t(lang, "active")) } @else { span class="late" { (t(lang, "revoked")) } } }
                    td { (when(p.created_at)) }
                    td class="rate-limit" { (limit) " " (t(lang, "per_minute")) }
                    td class="last-activity" { @if let Some(at) = last { (when(*at)) } @else { (t(lang, "no_activity")) } }
                    td { @if operator && p.active {
                        form method="post" action={ "/console/partners/" (p.id) "/revoke" } {
                            (csrf(s)) button type="submit" id={ "revoke-" (p.id) } { (t(lang, "revoke_partner")) }
                        }
                    } }
                }
                tr class="keys" {
                    td colspan="7" {
                        table id={ "keys-" (p.id) } class="keys" {
                            tr { th { (t(lang, "key")) } th { (t(lang, "created")) } th { (t(lang, "retire_at")) }
                                 th { (t(lang, "revoked_at")) } th { (t(lang, "status")) } th {} }
                            @for k in keys {
                                @let (word, class) = key_state(lang, k, now);
                                tr data-key=(k.id) {
                                    td { code { (k.id) } }
                                    td { (when(k.created_at)) }
                                    td { @if let Some(at) = k.retire_at { (when(at)) } }
                                    td { @if let Some(at) = k.revoked_at { (when(at)) } }
                                    td class=(class) { (word) }
                                    td { @if operator && p.active && k.in_force(now) {
                                        form method="post" action={ "/console/partner-keys/" (k.id) "/revoke" } {
                                            (csrf(s)) button type="submit" id={ "revoke-key-" (k.id) } { (t(lang, "revoke_key")) }
                                        }
                                    } }
                                }
                            }
                        }
                        @if operator && p.active {
                            form method="post" action={ "/console/partners/" (p.id) "/rotate" } id={ "rotate-" (p.id) } class="rotate" {
                                (csrf(s))
                                label { (t(lang, "overlap_minutes")) " "
                                    input type="number" name="overlap_minutes" id={ "overlap-" (p.id) } min="0"
                                        max=(crate::partners::MAX_OVERLAP_DAYS * 24 * 60) value=(DEFAULT_OVERLAP_MINUTES) required; }
                                " " button type="submit" id={ "rotate-go-" (p.id) } { (t(lang, "rotate_key")) }
                            }
                        }
                    }
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

/// A partner use case's failure as the console shows it.
fn partner_error(lang: Lang, e: PartnerError) -> ConsoleError {
    match e {
        PartnerError::Invalid { .. } => ConsoleError::Invalid(lang, e.to_string()),
        PartnerError::Store(StoreError::NotFound) => ConsoleError::NotFound(lang),
        PartnerError::Store(StoreError::Conflict(m)) => ConsoleError::Conflict(lang, m),
        other => ConsoleError::internal(other),
    }
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
        .map_err(|e| partner_error(lang, e))?;
    super::audit::action(
        &state,
        &s.user,
        "partner_add",
        None,
        json!({ "partner_id": new.id, "name": new.name, "partner_role": role.as_str() }),
    )
    .await?;
    let shown = Shown {
        partner: new.name,
        key_id: new.key_id,
        key: new.key,
    };
    render(&state, &s, Some(shown)).await
}

#[derive(Deserialize)]
pub struct RotateForm {
    overlap_minutes: String,
}

pub async fn rotate(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Partners)?;
    let lang = s.lang();
    let minutes: u32 = form.overlap_minutes.trim().parse().map_err(|_| {
        ConsoleError::Invalid(
            lang,
            "overlap_minutes: a whole number of minutes (0 stops the old keys at once)".into(),
        )
    })?;
    // The use case's own rule for overlaps (at most 30 days).
    let overlap = crate::partners::parse_overlap(&format!("{minutes}m"))
        .map_err(|e| partner_error(lang, e))?;
    let issued = state
        .rotate_partner_key(&id, overlap, super::audit::actor(&s.user.name))
        .await
        .map_err(|e| partner_error(lang, e))?;
    let replaced: Vec<&str> = issued.replaced.iter().map(|k| k.id.as_str()).collect();
    super::audit::action(
        &state,
        &s.user,
        "partner_key_rotate",
        None,
        json!({ "partner_id": id, "key_id": issued.key_id, "overlap_minutes": minutes, "replaced": replaced }),
    )
    .await?;
    let name = state
        .db
        .partner(&id)
        .await
        .map(|p| p.name)
        .unwrap_or_else(|_| id.clone());
    let shown = Shown {
        partner: name,
        key_id: issued.key_id,
        key: issued.key,
    };
    render(&state, &s, Some(shown)).await
}

pub async fn revoke_key(
    State(state): State<AppState>,
    s: Signed,
    Path(key_id): Path<String>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Partners)?;
    let lang = s.lang();
    let key = state
        .revoke_partner_key(&key_id, super::audit::actor(&s.user.name))
        .await
        .map_err(|e| partner_error(lang, e))?;
    super::audit::action(
        &state,
        &s.user,
        "partner_key_revoke",
        None,
        json!({ "partner_id": key.partner_id, "key_id": key.id }),
    )
    .await?;
    Ok(Redirect::to("/console/partners").into_response())
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
        .map_err(|e| partner_error(lang, e))?;
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
