//! Feeds: the latest batches (kind, source, rows, when) and one batch's detail: the answer the
//! import gave, with its warnings. Uploading from the console is not built yet.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;

use super::i18n::t;
use super::page::{page, when, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::storage::StoreError;

pub async fn show(State(state): State<AppState>, s: Signed) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let batches = state
        .db
        .recent_batches(200)
        .await
        .map_err(ConsoleError::internal)?;
    let partners = super::page::partner_names(&state).await?;
    let body = html! {
        h2 { (t(lang, "batches")) }
        @if batches.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
            table id="batches" {
                tr { th { (t(lang, "received")) } th { (t(lang, "kind")) } th { (t(lang, "source")) } th { (t(lang, "format")) } th { (t(lang, "rows")) } }
                @for b in &batches {
                    tr { td { a href={ "/console/feeds/" (b.id) } { (when(b.received_at)) } } td { (b.kind) }
                         td { (partners.get(&b.source).unwrap_or(&b.source)) } td { (b.format) } td { (b.rows_stored) } }
                }
            }
        }
    };
    Ok(page(&s, "/console/feeds", "feeds", body))
}

pub async fn batch(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let b = state.db.feed_batch(&id).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::NotFound(lang),
        other => ConsoleError::internal(other),
    })?;
    // The stored answer holds counts, warnings by line and column, masked subjects only.
    let answer: serde_json::Value = serde_json::from_str(&b.result_json).unwrap_or_default();
    let body = html! {
        table id="batch" {
            tr { th { "id" } td { (b.id) } }
            tr { th { (t(lang, "kind")) } td { (b.kind) } }
            tr { th { (t(lang, "source")) } td { (b.source) } }
            tr { th { (t(lang, "format")) } td { (b.format) } }
            tr { th { (t(lang, "rows")) } td { (b.rows_stored) } }
            tr { th { (t(lang, "received")) } td { (when(b.received_at)) } }
        }
        pre { (serde_json::to_string_pretty(&answer).unwrap_or_default()) }
    };
    Ok(page(&s, "/console/feeds", "feeds", body))
}
