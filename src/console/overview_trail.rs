//! The overview's sections on what went wrong or needs checking: the feed files refused over the
//! last 30 days, and the audit ledger's newest signed checkpoint (its age) with the last
//! recorded verification (result, when, by whom). Kept apart from `overview` so each reads alone.

use maud::{html, Markup};

use super::feeds::REFUSALS_DAYS;
use super::i18n::t;
use super::page::{when, ConsoleError};
use super::session::Signed;
use crate::app::AppState;

pub async fn sections(state: &AppState, s: &Signed) -> Result<Markup, ConsoleError> {
    let lang = s.lang();
    let now = state.clock.now();
    let db = &state.db;
    let refusals = db
        .feed_refusals_since(now - chrono::Duration::days(REFUSALS_DAYS), 50)
        .await
        .map_err(ConsoleError::internal)?;
    let checkpoint = db
        .recent_checkpoints(1)
        .await
        .map_err(ConsoleError::internal)?
        .into_iter()
        .next();
    let verification = db
        .last_verification()
        .await
        .map_err(ConsoleError::internal)?;
    let partners = super::page::partner_names(state).await?;
    Ok(html! {
        h2 { (t(lang, "refused_batches")) }
        @if refusals.is_empty() { p id="refused-none" { (t(lang, "nothing_yet")) } } @else {
            table id="refused" {
                tr { th { (t(lang, "received")) } th { (t(lang, "kind")) } th { (t(lang, "source")) } th { (t(lang, "errors")) } }
                @for r in &refusals {
                    tr class="late" data-refusal=(r.id) {
                        td { a href={ "/console/feeds/refusals/" (r.id) } { (when(r.received_at)) } }
                        td { (r.kind) } td { (partners.get(&r.source).unwrap_or(&r.source)) } td { (r.errors_total) }
                    }
                }
            }
        }
        h2 { (t(lang, "ledger")) }
        table id="ledger" {
            tr { th { (t(lang, "checkpoint_age")) }
                 td id="checkpoint-age" { @if let Some(c) = &checkpoint {
                     (c.size) " · " (when(c.signed_at)) " · " ((now - c.signed_at).num_minutes()) " " (t(lang, "minutes_ago"))
                 } @else { span class="late" { (t(lang, "no_checkpoint")) } } } }
            tr { th { (t(lang, "last_verification")) }
                 td id="last-verification" { @if let Some(v) = &verification {
                     span class=(if v.ok { "ok" } else { "late" }) { (if v.ok { t(lang, "verified_ok") } else { t(lang, "verified_bad") }) }
                     " · " (when(v.verified_at)) " · " (v.verified_by)
                     @if let Some(p) = &v.problem { " · " (p) }
                 } @else { span class="late" { (t(lang, "never_verified")) } } } }
        }
    })
}
