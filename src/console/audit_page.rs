//! Audit: the newest signed checkpoints (size, root, when), the last recorded verification and a
//! button to run one now (recorded, like the API's and the CLI's, through
//! `AppState::verify_ledger`), one event looked up by its id, and a range of entries (by time or
//! by leaf index) exported as JSON Lines. Every role may use all of it: an auditor reads
//! everything; running a verification and exporting change nothing but the trail of who did.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::i18n::t;
use super::page::{csrf, page, when, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::audit::Verification;
use crate::storage::ledger::StoredEntry;
use crate::storage::verifications::EntryRange;
use crate::users::Lang;

/// Checkpoints listed on the page.
const CHECKPOINTS_SHOWN: i64 = 20;

/// The most entries one export gives; a larger range is refused with the advice to narrow it
/// (the download is built in memory).
pub const EXPORT_MAX: i64 = 10_000;

/// The largest leaf index an export names.
const MAX_INDEX: i64 = 999_999_999_999;

#[derive(Deserialize)]
pub struct AuditQuery {
    event: Option<String>,
}

/// The root hash of a checkpoint: the note's third line (C2SP tlog-checkpoint).
fn root_of(note: &str) -> &str {
    note.lines().nth(2).unwrap_or("")
}

async fn render(
    state: &AppState,
    s: &Signed,
    event_id: Option<&str>,
    verification: Option<Verification>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let checkpoints = state
        .db
        .recent_checkpoints(CHECKPOINTS_SHOWN)
        .await
        .map_err(ConsoleError::internal)?;
    let last = state
        .db
        .last_verification()
        .await
        .map_err(ConsoleError::internal)?;
    let event = match event_id {
        Some(id) => match state.db.ledger_entry(id).await {
            Ok(e) => Some(e),
            Err(crate::storage::StoreError::NotFound) => None,
            Err(e) => return Err(ConsoleError::internal(e)),
        },
        None => None,
    };
    // The entry as recorded: kind, actor, when, its fields; the subject only as its last 4.
    let shown = event.map(|e| {
        let body = ledger::entry::decode(&e.leaf)
            .map(|d| d.body)
            .unwrap_or_default();
        format!(
            "{} · {} · {} · {}\n{}",
            e.event_id,
            e.kind,
            e.actor,
            e.recorded_at,
            serde_json::to_string_pretty(&body).unwrap_or_default()
        )
    });
    let body = html! {
        h2 { (t(lang, "verify")) }
        @if state.signer.is_none() { p class="late" { (t(lang, "no_ledger_key")) } } @else {
            form method="post" action="/console/audit/verify" {
                (csrf(s))
                button type="submit" id="verify" { (t(lang, "verify")) }
            }
        }
        @if let Some(v) = &verification {
            p id="verification" class=(if v.ok { "ok" } else { "late" }) {
                (if v.ok { t(lang, "verified_ok") } else { t(lang, "verified_bad") })
                " · " (v.verified) " " (t(lang, "rows_checked"))
                @if let Some(p) = &v.problem { " · " (p.reason) }
            }
        }
        p id="last-verification" {
            (t(lang, "last_verification")) ": "
            @if let Some(l) = &last {
                span class=(if l.ok { "ok" } else { "late" }) { (if l.ok { t(lang, "verified_ok") } else { t(lang, "verified_bad") }) }
                " · " (when(l.verified_at)) " · " (l.verified_by) " · " (l.rows_checked) " " (t(lang, "rows_checked"))
                @if let Some(p) = &l.problem { " · " (p) }
            } @else { (t(lang, "never_verified")) }
        }
        h2 { (t(lang, "checkpoints")) }
        @if checkpoints.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
            table id="checkpoints" {
                tr { th { (t(lang, "tree_size")) } th { (t(lang, "root_hash")) } th { (t(lang, "signed_at")) } }
                @for c in &checkpoints {
                    tr data-size=(c.size) { td { (c.size) } td { code { (root_of(&c.note)) } } td { (when(c.signed_at)) } }
                }
            }
        }
        h2 { (t(lang, "find_event")) }
        form method="get" action="/console/audit" {
            input type="text" name="event" id="event-id" size="48" value=(event_id.unwrap_or(""));
            " " button type="submit" id="find-event" { (t(lang, "lookup")) }
        }
        @if let Some(text) = &shown {
            pre id="event" { (text) }
        } @else if event_id.is_some() { p id="event" { (t(lang, "not_found")) } }
        h2 { (t(lang, "export")) }
        p { small { (t(lang, "export_rule")) } }
        form method="get" action="/console/audit/export" id="export" {
            label { input type="radio" name="by" value="time" checked; " " (t(lang, "by_time")) }
            " " label { input type="radio" name="by" value="index"; " " (t(lang, "by_index")) }
            " " label { (t(lang, "from")) " " input type="text" name="from" id="export-from" size="22" placeholder="2026-11-01T00:00 / 0" required; }
            " " label { (t(lang, "to")) " " input type="text" name="to" id="export-to" size="22" placeholder="2026-12-01T00:00 / 1000" required; }
            " " button type="submit" id="export-go" { (t(lang, "download")) }
        }
    };
    Ok(page(s, "/console/audit", "audit", body))
}

pub async fn show(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    let event_id = q.event.as_deref().map(str::trim).filter(|e| !e.is_empty());
    render(&state, &s, event_id, None).await
}

/// Runs a verification now, recorded under the user.
pub async fn verify(State(state): State<AppState>, s: Signed) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let Some(signer) = state.signer.as_ref() else {
        return Err(ConsoleError::Conflict(
            lang,
            t(lang, "no_ledger_key").into(),
        ));
    };
    let v = state
        .verify_ledger(&signer.verifier(), &[], &super::audit::actor(&s.user.name))
        .await
        .map_err(ConsoleError::internal)?;
    super::audit::action(
        &state,
        &s.user,
        "audit_verify",
        None,
        json!({ "ok": v.ok, "rows_checked": v.verified, "checkpoint_size": v.checkpoint_size }),
    )
    .await?;
    render(&state, &s, None, Some(v)).await
}

#[derive(Deserialize)]
pub struct ExportQuery {
    by: Option<String>,
    from: String,
    to: String,
}

/// A time as typed: RFC 3339, or a `datetime-local` value (minutes or seconds) read as UTC.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|t| t.and_utc())
}

/// The range an export asks for, or what is wrong with it.
fn range_of(lang: Lang, q: &ExportQuery) -> Result<EntryRange, ConsoleError> {
    let invalid = |m: &str| ConsoleError::Invalid(lang, m.to_owned());
    let range = match q.by.as_deref().unwrap_or("time") {
        "time" => {
            let (Some(a), Some(b)) = (parse_time(&q.from), parse_time(&q.to)) else {
                return Err(invalid(
                    "from, to: times such as 2026-11-01T00:00 (UTC) or RFC 3339",
                ));
            };
            if a >= b {
                return Err(invalid("from must be before to"));
            }
            EntryRange::Time(a, b)
        }
        "index" => {
            let (Ok(a), Ok(b)) = (q.from.trim().parse::<i64>(), q.to.trim().parse::<i64>()) else {
                return Err(invalid("from, to: leaf indexes (whole numbers from 0)"));
            };
            // Leaf indexes stay far below 12 digits; a longer number is refused rather than
            // kept in the trail, as it may be an identity number typed into the wrong field.
            if a < 0 || a >= b || b > MAX_INDEX {
                return Err(invalid(
                    "from must be at least 0 and below to, to at most 999999999999",
                ));
            }
            EntryRange::Index(a, b)
        }
        _ => return Err(invalid("by: time or index")),
    };
    Ok(range)
}

/// One entry as a line of the export: where it is, what it says (its body as recorded: subjects
/// only as keyed hashes and last 4), and its leaf hash to check it against a proof.
fn line_of(e: &StoredEntry) -> serde_json::Value {
    let body = ledger::entry::decode(&e.leaf)
        .map(|d| d.body)
        .unwrap_or_default();
    json!({
        "leaf_index": e.leaf_index,
        "event_id": e.event_id,
        "recorded_at": e.recorded_at,
        "kind": e.kind,
        "actor": e.actor,
        "partner_id": e.partner_id,
        "subject_last4": e.subject_last4,
        "body": body,
        "leaf_hash": hex::encode(&e.leaf_hash),
    })
}

/// The entries of a range as a JSON Lines download (`[from, to)`, by time or by leaf index).
pub async fn export(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let range = range_of(lang, &q)?;
    let entries = state
        .db
        .ledger_range(range, EXPORT_MAX + 1)
        .await
        .map_err(ConsoleError::internal)?;
    if entries.len() as i64 > EXPORT_MAX {
        return Err(ConsoleError::Invalid(
            lang,
            format!("the range holds more than {EXPORT_MAX} entries: narrow it"),
        ));
    }
    let mut out = String::new();
    for e in &entries {
        out.push_str(&line_of(e).to_string());
        out.push('\n');
    }
    super::audit::action(
        &state,
        &s.user,
        "audit_export",
        None,
        match range {
            EntryRange::Time(a, b) => {
                json!({ "by": "time", "from": a, "to": b, "entries": entries.len() })
            }
            EntryRange::Index(a, b) => {
                json!({ "by": "index", "from": a, "to": b, "entries": entries.len() })
            }
        },
    )
    .await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-export.jsonl\"",
            ),
        ],
        out,
    )
        .into_response())
}
