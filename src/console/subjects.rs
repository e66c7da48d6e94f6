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
use crate::consent::ConsentError;
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
    let consents = subject_consents(state, key, &history).await?;
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

/// The subject's consents: those stored under `key` (a person's keyed hash) and those its
/// history names (an enterprise's consents are stored under its credit code, which the console
/// does not keep: its ledger entries lead to them), each checked to be this subject's.
async fn subject_consents(
    state: &AppState,
    key: &str,
    history: &[Entry],
) -> Result<Vec<Consent>, ConsoleError> {
    let db = &state.db;
    let mut consents = db.consents_of(key).await.map_err(ConsoleError::internal)?;
    let mut named: Vec<&str> = history
        .iter()
        .filter_map(|e| e.body["consent"]["id"].as_str())
        .collect();
    named.sort_unstable();
    named.dedup();
    for id in named {
        if consents.iter().any(|c| c.id == id) {
            continue;
        }
        match db.consent(id).await {
            Ok(c) if is_of(state, &c, key) => consents.push(c),
            Ok(_) | Err(crate::storage::StoreError::NotFound) => {}
            Err(e) => return Err(ConsoleError::internal(e)),
        }
    }
    consents.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(consents)
}

/// Whether consent `c` is about the subject the console holds as `key`.
fn is_of(state: &AppState, c: &Consent, key: &str) -> bool {
    AuditSubject::of(
        &state.pii,
        &c.subject_type,
        &c.subject_key,
        &c.subject_masked,
    )
    .keyed_hash
        == key
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

fn consents_table(
    s: Option<&Signed>,
    lang: Lang,
    key: &str,
    now: chrono::DateTime<chrono::Utc>,
    consents: &[Consent],
) -> Markup {
    let may_act = s.is_some_and(|s| s.user.role.may(Duty::Subjects));
    html! {
        @if consents.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
            table id="consents" {
                tr { th { "id" } th { (t(lang, "partner")) } th { (t(lang, "purpose")) } th { (t(lang, "valid_until")) } th { (t(lang, "status")) }
                     @if may_act { th {} } }
                @for c in consents {
                    @let status = crate::consent::status(c, now);
                    tr data-consent=(c.id) {
                        td { small { (c.id) } } td { (c.partner_id) } td { (c.purpose) } td { (c.valid_until) }
                        td class={ "consent-status " @if status != "active" { "late" } } { (t_status(lang, status)) }
                        @if let (true, Some(s)) = (may_act, s) {
                            td {
                                @if c.revoked_at.is_none() && c.withdrawn_at.is_none() {
                                    form method="post" action={ "/console/subjects/" (key) "/consents/" (c.id) "/revoke" } class="inline" {
                                        (csrf(s)) button type="submit" id={ "revoke-consent-" (c.id) } { (t(lang, "revoke")) }
                                    }
                                }
                                @if c.withdrawn_at.is_none() {
                                    form method="post" action={ "/console/subjects/" (key) "/consents/" (c.id) "/withdraw" } class="inline withdraw" {
                                        (csrf(s))
                                        input type="text" name="evidence_sha256" id={ "evidence-" (c.id) } size="20"
                                            placeholder=(t(lang, "withdrawal_evidence")) pattern="[0-9a-fA-F]{64}" required;
                                        " " button type="submit" id={ "withdraw-consent-" (c.id) } { (t(lang, "withdraw")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A consent's status (`consent::status`) in the page's words.
fn t_status(lang: Lang, status: &str) -> &'static str {
    match status {
        "withdrawn" => t(lang, "withdrawn"),
        "revoked" => t(lang, "revoked"),
        "expired" => t(lang, "expired"),
        _ => t(lang, "active"),
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
        (consents_table(Some(&s), lang, &key, state.clock.now(), &subject.consents))
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
        (consents_table(None, lang, &key, state.clock.now(), &subject.consents))
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

#[derive(Deserialize)]
pub struct WithdrawForm {
    evidence_sha256: String,
}

/// The consent `id` if it is the subject's under `key` (another subject's is not found here).
async fn consent_of(
    state: &AppState,
    lang: Lang,
    key: &str,
    id: &str,
) -> Result<Consent, ConsoleError> {
    checked_key(lang, key)?;
    match state.db.consent(id).await {
        Ok(c) if is_of(state, &c, key) => Ok(c),
        Ok(_) | Err(crate::storage::StoreError::NotFound) => Err(ConsoleError::NotFound(lang)),
        Err(e) => Err(ConsoleError::internal(e)),
    }
}

fn consent_error(lang: Lang, e: ConsentError) -> ConsoleError {
    match e {
        ConsentError::Invalid { .. } => ConsoleError::Invalid(lang, e.to_string()),
        ConsentError::Forbidden { .. } => ConsoleError::Forbidden(lang),
        ConsentError::Store(crate::storage::StoreError::NotFound) => ConsoleError::NotFound(lang),
        ConsentError::Store(crate::storage::StoreError::Conflict(m)) => {
            ConsoleError::Conflict(lang, m)
        }
        other => ConsoleError::internal(other),
    }
}

/// Revokes a consent for the credit centre (the partner's own step, taken by an operator, e.g.
/// when the partner asks by letter): the consent use case records it under the user.
pub async fn revoke_consent(
    State(state): State<AppState>,
    s: Signed,
    Path((key, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Subjects)?;
    let lang = s.lang();
    let c = consent_of(&state, lang, &key, &id).await?;
    state
        .revoke_consent(crate::consent::Actor::Console(&s.user.name), &c.id)
        .await
        .map_err(|e| consent_error(lang, e))?;
    consent_done(&state, &s, "consent_revoke", &key, &c).await
}

/// Records the subject's withdrawal of a consent, with the SHA-256 of the written withdrawal.
pub async fn withdraw_consent(
    State(state): State<AppState>,
    s: Signed,
    Path((key, id)): Path<(String, String)>,
    Form(form): Form<WithdrawForm>,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Subjects)?;
    let lang = s.lang();
    let c = consent_of(&state, lang, &key, &id).await?;
    state
        .withdraw_consent(
            crate::consent::Actor::Console(&s.user.name),
            &c.id,
            form.evidence_sha256.trim(),
        )
        .await
        .map_err(|e| consent_error(lang, e))?;
    consent_done(&state, &s, "consent_withdraw", &key, &c).await
}

async fn consent_done(
    state: &AppState,
    s: &Signed,
    action: &str,
    key: &str,
    c: &Consent,
) -> Result<Response, ConsoleError> {
    let subject = AuditSubject::of(
        &state.pii,
        &c.subject_type,
        &c.subject_key,
        &c.subject_masked,
    );
    super::audit::action(
        state,
        &s.user,
        action,
        Some(subject),
        json!({ "consent_id": c.id, "consent_partner_id": c.partner_id }),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/subjects/{key}")).into_response())
}
