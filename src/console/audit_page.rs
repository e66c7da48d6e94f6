//! Audit: run a verification of the trail, and look up one event by its id. Reading only, so
//! every role may; both are GETs.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::i18n::t;
use super::page::{page, ConsoleError};
use super::session::Signed;
use crate::app::AppState;

#[derive(Deserialize)]
pub struct AuditQuery {
    verify: Option<String>,
    event: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let verification = match (q.verify, state.signer.as_ref()) {
        (Some(_), Some(signer)) => Some(
            crate::audit::verify(&state.db, &signer.verifier(), &[])
                .await
                .map_err(ConsoleError::internal)?,
        ),
        _ => None,
    };
    let event_id = q.event.as_deref().map(str::trim).filter(|e| !e.is_empty());
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
        form method="get" action="/console/audit" {
            input type="hidden" name="verify" value="1";
            button type="submit" id="verify" { (t(lang, "verify")) }
        }
        @if let Some(v) = &verification {
            p id="verification" class=(if v.ok { "ok" } else { "late" }) {
                (if v.ok { t(lang, "verified_ok") } else { t(lang, "verified_bad") })
                " · " (v.verified) " " (t(lang, "rows_checked"))
                @if let Some(p) = &v.problem { " · " (p.reason) }
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
    };
    Ok(page(&s, "/console/audit", "audit", body))
}
