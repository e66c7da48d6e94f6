//! A model's card inline: the report a validator signs (`lifecycle::card`, the same content as
//! `GET /v1/models/{id}/card`) in the console's language, and for a model that is not the
//! champion the characteristics that changed from the champion.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup, PreEscaped};

use super::charts::fig;
use super::i18n::t;
use super::page::{page, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::lifecycle::card::{self, Change, CharacteristicChange};
use crate::lifecycle::PromotionError;
use crate::storage::StoreError;
use crate::users::Lang;

pub fn card_lang(lang: Lang) -> card::Lang {
    match lang {
        Lang::En => card::Lang::En,
        Lang::Zh => card::Lang::Zh,
    }
}

fn change_word(lang: Lang, c: Change) -> &'static str {
    match c {
        Change::Added => t(lang, "change_added"),
        Change::Removed => t(lang, "change_removed"),
        Change::Rebinned => t(lang, "change_rebinned"),
        Change::Reweighted => t(lang, "change_reweighted"),
    }
}

/// The table of characteristics that changed from the champion to a candidate.
pub fn changes_table(lang: Lang, id: &str, changes: &[CharacteristicChange]) -> Markup {
    let n = |v: Option<usize>| v.map_or_else(|| "—".to_owned(), |x| x.to_string());
    html! {
        @if changes.is_empty() {
            p class="empty" id={ "changes-" (id) } { (t(lang, "no_changes")) }
        } @else {
            table class="changes" id={ "changes-" (id) } {
                tr { th { (t(lang, "characteristic")) } th { (t(lang, "change")) }
                     th { "IV " (t(lang, "champion")) } th { "IV " (t(lang, "candidate")) }
                     th { (t(lang, "coefficient")) " " (t(lang, "champion")) } th { (t(lang, "coefficient")) " " (t(lang, "candidate")) }
                     th { (t(lang, "bins")) } }
                @for c in changes {
                    tr data-characteristic=(c.name) {
                        td { (c.name) } td class="change" { (change_word(lang, c.change)) }
                        td { (fig(c.champion_iv)) } td { (fig(c.candidate_iv)) }
                        td { (fig(c.champion_coefficient)) } td { (fig(c.candidate_coefficient)) }
                        td { (n(c.champion_bins)) " → " (n(c.candidate_bins)) }
                    }
                }
            }
        }
    }
}

pub fn card_error(lang: Lang, e: PromotionError) -> ConsoleError {
    match e {
        PromotionError::Store(StoreError::NotFound) => ConsoleError::NotFound(lang),
        PromotionError::Unloadable(m) => ConsoleError::Conflict(lang, m),
        other => ConsoleError::internal(other),
    }
}

pub async fn show(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let registry = state.registry();
    let model = registry.card(&id).await.map_err(|e| card_error(lang, e))?;
    let champion = state
        .db
        .champion(&model.product)
        .await
        .map_err(ConsoleError::internal)?;
    let changes = match champion.filter(|c| c.id != model.id) {
        Some(c) => {
            let champion = registry
                .card(&c.id)
                .await
                .map_err(|e| card_error(lang, e))?;
            Some((c.id, card::changed_characteristics(&champion, &model)))
        }
        None => None,
    };
    let body = html! {
        @if let Some((champion, changes)) = &changes {
            h2 { (t(lang, "changed_from")) " " a href={ "/console/models/" (champion) } { (champion) } }
            (changes_table(lang, &model.id, changes))
        }
        p class="no-print" { a href="/console/models" { (t(lang, "models")) } }
        div class="model-card" id="model-card" {
            (PreEscaped(card::render_html_body(&model, card_lang(lang))))
        }
    };
    Ok(page(&s, "/console/models", "model_card", body))
}
