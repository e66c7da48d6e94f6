//! Feeds: the latest batches (kind, source, rows, when), the files refused over the last 30
//! days, a batch's detail (its warnings by line and column) and a refusal's (its errors by line
//! and column, and its refused lines as a CSV download with identity numbers masked). Operators
//! upload a file for a kind: a multipart form (its CSRF token in the query, checked by the
//! session guard before the body is read) that goes through the same import use case as the API
//! (`AppState::import_feed`), with the user recorded as the sender (`console:NAME`).

use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use maud::{html, Markup};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::i18n::t;
use super::page::{page, when, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::feeds::refusals::mask_identity_numbers;
use crate::feeds::{FeedError, FeedKind, FeedRequest, Format, Issue};
use crate::storage::refusals::FeedRefusal;
use crate::storage::StoreError;
use crate::users::{Duty, Lang};

/// How far back the refused files are listed.
pub const REFUSALS_DAYS: i64 = 30;

/// Issues (errors or warnings) by line and column; reasons masked again on the way out.
fn issues_table(lang: Lang, id: &str, issues: &[Issue]) -> Markup {
    html! {
        table id=(id) {
            tr { th { (t(lang, "line")) } th { (t(lang, "column")) } th { (t(lang, "problem")) } }
            @for i in issues {
                tr { td class="line" { (i.line) } td class="column" { (i.column.as_deref().unwrap_or("")) }
                     td { (mask_identity_numbers(&i.reason)) } }
            }
        }
    }
}

/// The upload form, for operators: the token rides in the query, as a multipart body is not
/// read by the guard.
fn upload_form(s: &Signed) -> Markup {
    let lang = s.lang();
    html! {
        h2 { (t(lang, "upload")) }
        form method="post" action={ "/console/feeds/upload?csrf=" (s.csrf) } enctype="multipart/form-data" id="upload" {
            label { (t(lang, "kind")) " " select name="kind" id="upload-kind" {
                @for k in FeedKind::ALL { option value=(k.as_str()) { (k.as_str()) } }
            } }
            " " input type="file" name="file" id="upload-file" required;
            " " button type="submit" id="upload-go" { (t(lang, "upload")) }
        }
    }
}

async fn render(
    state: &AppState,
    s: &Signed,
    status: StatusCode,
    answer: Option<Markup>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let now = state.clock.now();
    let batches = state
        .db
        .recent_batches(200)
        .await
        .map_err(ConsoleError::internal)?;
    let refusals = state
        .db
        .feed_refusals_since(now - Duration::days(REFUSALS_DAYS), 200)
        .await
        .map_err(ConsoleError::internal)?;
    let partners = super::page::partner_names(state).await?;
    let name = |source: &str| {
        partners
            .get(source)
            .cloned()
            .unwrap_or_else(|| source.to_owned())
    };
    let body = html! {
        @if let Some(a) = answer { (a) }
        @if s.user.role.may(Duty::Feeds) { (upload_form(s)) }
        h2 { (t(lang, "refused_batches")) }
        @if refusals.is_empty() { p id="no-refusals" { (t(lang, "nothing_yet")) } } @else {
            table id="refusals" {
                tr { th { (t(lang, "received")) } th { (t(lang, "kind")) } th { (t(lang, "source")) } th { (t(lang, "errors")) } th { (t(lang, "problem")) } }
                @for r in &refusals {
                    tr data-refusal=(r.id) {
                        td { a href={ "/console/feeds/refusals/" (r.id) } { (when(r.received_at)) } } td { (r.kind) }
                        td { (name(&r.source)) } td { (r.errors_total) } td { (r.message) }
                    }
                }
            }
        }
        h2 { (t(lang, "batches")) }
        @if batches.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
            table id="batches" {
                tr { th { (t(lang, "received")) } th { (t(lang, "kind")) } th { (t(lang, "source")) } th { (t(lang, "format")) } th { (t(lang, "rows")) } th { (t(lang, "warnings")) } }
                @for b in &batches {
                    tr data-batch=(b.id) { td { a href={ "/console/feeds/" (b.id) } { (when(b.received_at)) } } td { (b.kind) }
                         td { (name(&b.source)) } td { (b.format) } td { (b.rows_stored) } td class="warnings" { (warnings_total(&b.result_json)) } }
                }
            }
        }
    };
    let mut resp = page(s, "/console/feeds", "feeds", body);
    *resp.status_mut() = status;
    Ok(resp)
}

/// How many warnings a batch's stored answer counts.
fn warnings_total(result_json: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(result_json)
        .ok()
        .and_then(|a| a["warnings_total"].as_u64())
        .unwrap_or(0)
}

pub async fn show(State(state): State<AppState>, s: Signed) -> Result<Response, ConsoleError> {
    render(&state, &s, StatusCode::OK, None).await
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
    let warnings: Vec<Issue> =
        serde_json::from_value(answer["warnings"].clone()).unwrap_or_default();
    let body = html! {
        table id="batch" {
            tr { th { "id" } td { (b.id) } }
            tr { th { (t(lang, "kind")) } td { (b.kind) } }
            tr { th { (t(lang, "source")) } td { (b.source) } }
            tr { th { (t(lang, "format")) } td { (b.format) } }
            tr { th { (t(lang, "rows")) } td { (b.rows_stored) } }
            tr { th { (t(lang, "received")) } td { (when(b.received_at)) } }
            tr { th { (t(lang, "warnings")) } td { (answer["warnings_total"].as_u64().unwrap_or(0)) } }
        }
        @if !warnings.is_empty() {
            h2 { (t(lang, "warnings")) }
            (issues_table(lang, "warnings", &warnings))
        }
        pre { (serde_json::to_string_pretty(&answer).unwrap_or_default()) }
    };
    Ok(page(&s, "/console/feeds", "feeds", body))
}

/// The kept refusal `id`, or the console's 404 when there is none.
async fn kept_refusal(state: &AppState, id: &str, lang: Lang) -> Result<FeedRefusal, ConsoleError> {
    state.db.feed_refusal(id).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::NotFound(lang),
        other => ConsoleError::internal(other),
    })
}

pub async fn refusal(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let r = kept_refusal(&state, &id, lang).await?;
    let errors: Vec<Issue> = serde_json::from_str(&r.errors_json).unwrap_or_default();
    let body = html! {
        table id="refusal" {
            tr { th { "id" } td { (r.id) } }
            tr { th { (t(lang, "kind")) } td { (r.kind) } }
            tr { th { (t(lang, "source")) } td { (r.source) } }
            tr { th { (t(lang, "received")) } td { (when(r.received_at)) } }
            tr { th { "SHA-256" } td { code { (r.file_sha256) } } }
            tr { th { (t(lang, "problem")) } td { (r.message) } }
            tr { th { (t(lang, "errors")) } td { (r.errors_total) } }
        }
        @if r.rows_csv.is_some() {
            p { a href={ "/console/feeds/refusals/" (r.id) "/rows.csv" } id="refused-rows" { (t(lang, "download_refused_rows")) } }
        }
        h2 { (t(lang, "errors")) }
        (issues_table(lang, "errors", &errors))
    };
    Ok(page(&s, "/console/feeds", "feeds", body))
}

/// The refused lines as CSV, identity numbers masked when the refusal was kept.
pub async fn refused_rows(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let r = kept_refusal(&state, &id, lang).await?;
    let Some(csv) = r.rows_csv else {
        return Err(ConsoleError::NotFound(lang));
    };
    super::audit::action(
        &state,
        &s.user,
        "feed_refused_rows",
        None,
        json!({ "refusal": r.id, "feed_kind": r.kind }),
    )
    .await?;
    let disposition = format!("attachment; filename=\"refused-{}.csv\"", r.id);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response())
}

/// An upload's form could not be read as one (not the file's content: that is the feed's).
fn unreadable_form(lang: Lang, e: impl std::fmt::Display) -> ConsoleError {
    ConsoleError::Invalid(lang, format!("the upload could not be read: {e}"))
}

pub async fn upload(
    State(state): State<AppState>,
    s: Signed,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    s.may(Duty::Feeds)?;
    let lang = s.lang();
    let mut kind: Option<String> = None;
    let mut file: Option<(tempfile::NamedTempFile, Option<Format>)> = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| unreadable_form(lang, e))?
    {
        match field.name() {
            Some("kind") => kind = Some(field.text().await.map_err(|e| unreadable_form(lang, e))?),
            Some("file") => {
                let format = field
                    .file_name()
                    .and_then(|n| Format::from_extension(std::path::Path::new(n)));
                // Spooled like the API's bodies: owner-only, removed when the handle drops.
                let tmp = crate::feeds::spool::create(&state.settings.data_dir)
                    .map_err(ConsoleError::internal)?;
                let mut out =
                    tokio::fs::File::from_std(tmp.reopen().map_err(ConsoleError::internal)?);
                while let Some(chunk) = field.chunk().await.map_err(|e| unreadable_form(lang, e))? {
                    out.write_all(&chunk)
                        .await
                        .map_err(ConsoleError::internal)?;
                }
                out.flush().await.map_err(ConsoleError::internal)?;
                file = Some((tmp, format));
            }
            _ => {}
        }
    }
    let kind: FeedKind = kind.as_deref().unwrap_or("").parse().map_err(|e: String| {
        ConsoleError::Invalid(lang, format!("kind: {}", mask_identity_numbers(&e)))
    })?;
    let Some((tmp, format)) = file else {
        return Err(ConsoleError::Invalid(
            lang,
            "file: choose a file to upload".into(),
        ));
    };
    let req = FeedRequest {
        kind,
        source: format!("console:{}", s.user.name),
        idempotency_key: None,
        path: tmp.path().to_owned(),
        format,
        received_at: state.clock.now(),
        limits: state.settings.feed_limits.clone(),
        sender: None,
    };
    let result = state.import_feed(req, None).await;
    drop(tmp);
    match result {
        Ok(accepted) => {
            super::audit::action(
                &state,
                &s.user,
                "feed_upload",
                None,
                json!({ "feed_kind": kind.as_str(), "batch_id": accepted.result.batch_id, "rows": accepted.result.rows, "replayed": accepted.replayed }),
            )
            .await?;
            Ok(
                Redirect::to(&format!("/console/feeds/{}", accepted.result.batch_id))
                    .into_response(),
            )
        }
        Err(e @ (FeedError::Io(_) | FeedError::Store(_) | FeedError::Audit(_))) => {
            Err(ConsoleError::internal(e))
        }
        Err(e) => {
            super::audit::action(
                &state,
                &s.user,
                "feed_upload",
                None,
                json!({ "feed_kind": kind.as_str(), "refused": true }),
            )
            .await?;
            // The feed's own answer: its errors by line and column, as the API gives them.
            let message = mask_identity_numbers(&e.to_string());
            let errors = match &e {
                FeedError::Invalid { errors, .. } => errors.clone(),
                _ => Vec::new(),
            };
            let answer = html! {
                div class="notice error" id="upload-refused" {
                    p { strong { (t(lang, "upload_refused")) } " " (kind.as_str()) ": " (message) }
                    @if !errors.is_empty() { (issues_table(lang, "upload-errors", &errors)) }
                }
            };
            render(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, Some(answer)).await
        }
    }
}
