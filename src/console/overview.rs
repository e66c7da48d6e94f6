//! The overview: is every feed fresh (newest batch per kind against the kind's expected
//! cadence, red when late), scores delivered per partner per day, the champion of each product
//! with its age, and each champion's drift status; refused files and the ledger's state come
//! from `overview_trail`.

use axum::extract::State;
use axum::response::Response;
use chrono::Duration;
use maud::html;

use super::i18n::t;
use super::page::{page, when, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::domain::Product;
use crate::feeds::FeedKind;

pub async fn show(State(state): State<AppState>, s: Signed) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let now = state.clock.now();
    let newest = state
        .db
        .newest_batch_per_kind()
        .await
        .map_err(ConsoleError::internal)?;
    let daily = state
        .db
        .daily_scores(now - Duration::days(14))
        .await
        .map_err(ConsoleError::internal)?;
    let partners = super::page::partner_names(&state).await?;
    let trail = super::overview_trail::sections(&state, &s).await?;
    let mut champions = Vec::new();
    for product in Product::ALL {
        let champion = state
            .db
            .champion(product.as_str())
            .await
            .map_err(ConsoleError::internal)?;
        let drift = state
            .monitoring_report(*product, 30)
            .await
            .map_err(ConsoleError::internal)?
            .status;
        champions.push((*product, champion, drift));
    }
    let body = html! {
        h2 { (t(lang, "freshness")) }
        table id="freshness" {
            tr { th { (t(lang, "kind")) } th { (t(lang, "last_batch")) } th { (t(lang, "rows")) }
                 th { (t(lang, "age_days")) } th { (t(lang, "cadence_days")) } th { (t(lang, "status")) } }
            @for kind in FeedKind::ALL {
                @let batch = newest.iter().find(|b| b.kind == kind.as_str());
                @let cadence = kind.expected_cadence_days();
                @let age = batch.map(|b| (now - b.received_at).num_days());
                @let late = age.is_none_or(|a| a > cadence);
                tr class=(if late { "late" } else { "" }) data-kind=(kind.as_str()) {
                    td { (kind.as_str()) }
                    td { @if let Some(b) = batch { a href={ "/console/feeds/" (b.id) } { (when(b.received_at)) } } @else { "—" } }
                    td { @if let Some(b) = batch { (b.rows_stored) } }
                    td { @if let Some(a) = age { (a) } }
                    td { (cadence) }
                    td { @if batch.is_none() { (t(lang, "never")) } @else if late { (t(lang, "late")) } @else { span class="ok" { (t(lang, "on_time")) } } }
                }
            }
        }
        h2 { (t(lang, "champions")) }
        table id="champions" {
            tr { th { (t(lang, "product")) } th { (t(lang, "champion")) } th { (t(lang, "age_days")) } th { (t(lang, "drift")) } }
            @for (product, champion, drift) in &champions {
                tr data-product=(product.as_str()) {
                    td { (product.as_str()) }
                    td class="champion-id" { @if let Some(c) = champion { (c.id) } @else { (t(lang, "none")) } }
                    td { @if let Some(at) = champion.as_ref().and_then(|c| c.promoted_at) { ((now - at).num_days()) } }
                    td { (drift) }
                }
            }
        }
        h2 { (t(lang, "scores_per_day")) }
        @if daily.is_empty() { p { (t(lang, "nothing_yet")) } } @else {
            table id="daily-scores" {
                tr { th { (t(lang, "day")) } th { (t(lang, "partner")) } th { (t(lang, "scores")) } }
                @for d in &daily {
                    tr { td { (d.day) } td { (partners.get(&d.partner_id).unwrap_or(&d.partner_id)) } td { (d.scores) } }
                }
            }
        }
        (trail)
    };
    Ok(page(&s, "/console", "overview", body))
}
