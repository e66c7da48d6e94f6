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
    let verification = match q.verify {
        Some(_) => Some(
            crate::audit::verify(&state.db)
                .await
                .map_err(ConsoleError::internal)?,
        ),
        None => None,
    };
    let event_id = q.event.as_deref().map(str::trim).filter(|e| !e.is_empty());
    let event = match event_id {
        Some(id) => state
            .db
            .audit_event(id)
            .await
            .map_err(ConsoleError::internal)?,
        None => None,
    };
    let shown = event.map(|e| {
        let mut body: serde_json::Value = serde_json::from_str(&e.body).unwrap_or_default();
        // The subject key is an internal look-up hash; the masked form is what people read.
        if let Some(obj) = body.as_object_mut() {
            obj.remove("subject_key");
        }
        format!(
            "#{}\n{}",
            e.seq,
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
                " · " (v.rows_checked) " " (t(lang, "rows_checked"))
                @if let Some(p) = &v.first_problem { " · #" (p.seq) ": " (p.reason) }
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
