//! Subjects: look one up by credit code or resident id (the number is keyed on the server at
//! once and never stored, logged or put in a URL; only its key and masked form travel), see its
//! consents, query history (who, when, purpose, outcome) and current flags, mark a history
//! entry disputed with a note and resolve it, and print the history as the subject's report.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use super::i18n::t;
use super::page::{bare, csrf, page, when, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::audit::AuditSubject;
use crate::disputes::{self, DisputeError};
use crate::domain::SubjectId;
use crate::storage::consents::Consent;
use crate::storage::disputes::DisputeRow;
use crate::users::{Duty, Lang};

fn lookup_form(s: &Signed, error: bool) -> Markup {
    let lang = s.lang();
    html! {
        @if error { p class="error" id="lookup-error" { (t(lang, "subject_rule")) } }
        form method="post" action="/console/subjects/lookup" id="lookup" {
            (csrf(s))
            label { (t(lang, "subject_id")) " " input type="text" name="subject" id="subject" size="24" autocomplete="off" required; }
            " " button type="submit" id="lookup-go" { (t(lang, "lookup")) }
        }
    }
}

pub async fn search(s: Signed) -> Response {
    let form = lookup_form(&s, false);
    page(&s, "/console/subjects", "subjects", form)
}

#[derive(Deserialize)]
pub struct LookupForm {
    subject: String,
}

pub async fn lookup(
    State(state): State<AppState>,
    s: Signed,
    Form(form): Form<LookupForm>,
) -> Result<Response, ConsoleError> {
    let today = state.clock.now().date_naive();
    let Ok(subject) = SubjectId::parse(&form.subject, today) else {
        // The rule, never the digits: the error page does not repeat what was typed.
        let mut resp = page(&s, "/console/subjects", "subjects", lookup_form(&s, true));
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(resp);
    };
    // The ledger's key for subjects of both kinds: the keyed hash.
    let r = state.pii.subject_ref(&subject);
    let audit_subject = AuditSubject::of(&state.pii, r.subject_type, &r.key, &r.masked);
    let key = audit_subject.keyed_hash.clone();
    super::audit::action(
        &state,
        &s.user,
        "subject_lookup",
        Some(audit_subject),
        json!({}),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/subjects/{key}")).into_response())
}

/// A subject key as the console hands it around: 64 hex digits of the keyed hash.
fn checked_key(lang: Lang, key: &str) -> Result<(), ConsoleError> {
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ConsoleError::NotFound(lang))
    }
}

/// One entry of a subject's history, as the ledger recorded it.
struct Entry {
    event_id: String,
    at: chrono::DateTime<chrono::Utc>,
    kind: String,
    actor: String,
    body: serde_json::Value,
}

impl Entry {
    fn field(&self, name: &str) -> String {
        match &self.body[name] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

struct Subject {
    masked: String,
    consents: Vec<Consent>,
    history: Vec<Entry>,
    disputes: Vec<DisputeRow>,
}

async fn load(state: &AppState, lang: Lang, key: &str) -> Result<Subject, ConsoleError> {
    checked_key(lang, key)?;
    let db = &state.db;
    let rows = db
        .ledger_for_subject(key, 500)
        .await
        .map_err(ConsoleError::internal)?;
    let last4 = rows.iter().find_map(|r| r.subject_last4.clone());
    let history: Vec<Entry> = rows
        .into_iter()
        .map(|r| Entry {
            body: ledger::entry::decode(&r.leaf)
                .map(|d| d.body)
                .unwrap_or_default(),
            event_id: r.event_id,
            at: r.recorded_at,
            kind: r.kind,
            actor: r.actor,
        })
        .collect();
    let consents = db.consents_of(key).await.map_err(ConsoleError::internal)?;
    let disputes = db.disputes_of(key).await.map_err(ConsoleError::internal)?;
    let masked = consents
        .first()
        .map(|c| c.subject_masked.clone())
        .or_else(|| last4.map(|l| format!("**************{l}")))
        .unwrap_or_else(|| "—".into());
    Ok(Subject {
        masked,
        consents,
        history,
        disputes,
    })
}

/// Who asked: the partner or the console user, as the ledger names them.
fn who(e: &Entry) -> String {
    let user = e.field("user");
    if user.is_empty() {
        e.actor.clone()
    } else {
        format!("{user} (console)")
    }
}

fn consents_table(lang: Lang, consents: &[Consent]) -> Markup {
    html! {
        @if consents.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
            table id="consents" {
                tr { th { (t(lang, "partner")) } th { (t(lang, "purpose")) } th { (t(lang, "valid_until")) } th { (t(lang, "status")) } }
                @for c in consents {
                    tr { td { (c.partner_id) } td { (c.purpose) } td { (c.valid_until) }
                         td { @if c.revoked_at.is_some() { (t(lang, "revoked")) } @else { (t(lang, "active")) } } }
                }
            }
        }
    }
}

fn history_table(s: Option<&Signed>, lang: Lang, key: &str, subject: &Subject) -> Markup {
    let may_dispute = s.is_some_and(|s| s.user.role.may(Duty::Subjects));
    html! {
        @if subject.history.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
            table id="history" {
                tr { th { (t(lang, "when")) } th { (t(lang, "who")) } th { (t(lang, "event")) } th { (t(lang, "purpose")) }
                     th { (t(lang, "outcome")) } th { (t(lang, "score")) } th { (t(lang, "grade")) } th { (t(lang, "dispute")) } }
                @for e in &subject.history {
                    @let open = subject.disputes.iter().find(|d| d.event_id == e.event_id && d.status == "open");
                    tr data-event=(e.event_id) data-kind=(e.kind) {
                        td { (when(e.at)) }
                        td { (who(e)) }
                        td { (e.kind) br; small { (e.event_id) } }
                        td { (e.field("purpose")) " " (e.field("product")) }
                        td { (e.field("outcome")) " " (e.field("refusal")) }
                        td class="score" { (e.field("score")) }
                        td { (e.field("grade")) }
                        td {
                            @if open.is_some() { span class="late" { (t(lang, "disputed")) } }
                            @else if let (true, Some(s)) = (may_dispute, s) {
                                form method="post" action={ "/console/subjects/" (key) "/disputes" } class="dispute" {
                                    (csrf(s))
                                    input type="hidden" name="event_id" value=(e.event_id);
                                    input type="text" name="note" placeholder=(t(lang, "note")) required;
                                    " " button type="submit" { (t(lang, "dispute")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn disputes_table(s: Option<&Signed>, lang: Lang, disputes: &[DisputeRow]) -> Markup {
    let may_resolve = s.is_some_and(|s| s.user.role.may(Duty::Subjects));
    html! {
        @if disputes.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
            table id="disputes" {
                tr { th { (t(lang, "event")) } th { (t(lang, "note")) } th { (t(lang, "by")) } th { (t(lang, "status")) } th { (t(lang, "resolution")) } }
                @for d in disputes {
                    tr data-dispute=(d.id) {
                        td { (d.event_id) }
                        td { (d.note) }
                        td { (d.opened_by) br; small { (when(d.opened_at)) } }
                        td { @if d.status == "open" { span class="late" { (t(lang, "open")) } } @else { (t(lang, "resolved")) } }
                        td {
                            @if let Some(r) = &d.resolution { (r) br; small { (d.resolved_by.as_deref().unwrap_or("")) } }
                            @else if let (true, Some(s)) = (may_resolve, s) {
                                form method="post" action={ "/console/disputes/" (d.id) "/resolve" } {
                                    (csrf(s))
                                    input type="text" name="resolution" placeholder=(t(lang, "resolution")) required;
                                    " " button type="submit" { (t(lang, "resolve")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The latest delivered score's flags: what a partner would be told today.
fn flags(subject: &Subject) -> Vec<String> {
    subject
        .history
        .iter()
        .find(|e| e.kind == "score.delivered")
        .and_then(|e| e.body["flags"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|f| f.as_str().map_or_else(|| f.to_string(), str::to_owned))
        .collect()
}

pub async fn show(
    State(state): State<AppState>,
    s: Signed,
    Path(key): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let subject = load(&state, lang, &key).await?;
    let flags = flags(&subject);
    let body = html! {
        (lookup_form(&s, false))
        h2 id="masked" { (subject.masked) }
        p { a href={ "/console/subjects/" (key) "/report" } id="report-link" { (t(lang, "print_report")) } }
        h2 { (t(lang, "flags")) }
        p id="flags" { @if flags.is_empty() { (t(lang, "none")) } @else { (flags.join(", ")) } }
        h2 { (t(lang, "consents")) }
        (consents_table(lang, &subject.consents))
        h2 { (t(lang, "history")) }
        (history_table(Some(&s), lang, &key, &subject))
        h2 { (t(lang, "disputes")) }
        (disputes_table(Some(&s), lang, &subject.disputes))
    };
    Ok(page(&s, "/console/subjects", "subjects", body))
}

/// The history as the subject's printable report: no navigation, no forms.
pub async fn report(
    State(state): State<AppState>,
    s: Signed,
    Path(key): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let subject = load(&state, lang, &key).await?;
    let body = html! {
        h1 { (t(lang, "report_title")) }
        p id="masked" { strong { (subject.masked) } " · " (when(state.clock.now())) " · " (s.user.name) }
        h2 { (t(lang, "consents")) }
        (consents_table(lang, &subject.consents))
        h2 { (t(lang, "history")) }
        (history_table(None, lang, &key, &subject))
        h2 { (t(lang, "disputes")) }
        (disputes_table(None, lang, &subject.disputes))
    };
    Ok(bare(lang, t(lang, "report_title"), StatusCode::OK, body))
}

fn dispute_error(lang: Lang, e: DisputeError) -> ConsoleError {
    match e {
        DisputeError::Note(_) | DisputeError::IdentityNumber(_) => {
            ConsoleError::Invalid(lang, e.to_string())
        }
        DisputeError::NoSuchEntry(_) | DisputeError::NoSuchDispute(_) => {
            ConsoleError::NotFound(lang)
        }
        DisputeError::AlreadyOpen(_) | DisputeError::AlreadyResolved(_) => {
            ConsoleError::Conflict(lang, e.to_string())
        }
        DisputeError::Store(s) => ConsoleError::internal(s),
    }
}

#[derive(Deserialize)]
pub struct DisputeForm {
    event_id: String,
    note: String,
}

pub async fn open_dispute(
    State(state): State<AppState>,
    s: Signed,
    Path(key): Path<String>,
    Form(form): Form<DisputeForm>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Subjects)?;
    let lang = s.lang();
    checked_key(lang, &key)?;
    let d = disputes::open(
        &state.db,
        &key,
        &form.event_id,
        &form.note,
        &s.actor(),
        state.clock.now(),
    )
    .await
    .map_err(|e| dispute_error(lang, e))?;
    dispute_done(&state, &s, "dispute_open", &d).await
}

#[derive(Deserialize)]
pub struct ResolveForm {
    resolution: String,
}

pub async fn resolve_dispute(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Subjects)?;
    let lang = s.lang();
    let d = disputes::resolve(
        &state.db,
        &id,
        &form.resolution,
        &s.actor(),
        state.clock.now(),
    )
    .await
    .map_err(|e| dispute_error(lang, e))?;
    dispute_done(&state, &s, "dispute_resolve", &d).await
}

/// After a dispute step: its audit entry under the user's name, then back to the subject.
async fn dispute_done(
    state: &AppState,
    s: &Signed,
    action: &str,
    d: &DisputeRow,
) -> Result<Response, ConsoleError> {
    super::audit::action(
        state,
        &s.user,
        action,
        None,
        json!({ "dispute": d.id, "event_id": d.event_id }),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/subjects/{}", d.subject_key)).into_response())
}
