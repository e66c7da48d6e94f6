//! The page shell every console page shares (header, navigation, language toggle, sign-out),
//! the console's error page, and small formatting helpers. Styles are embedded; no script is
//! needed: every action is a plain form POST carrying the session's CSRF token.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::i18n::t;
use super::session::Signed;
use crate::users::{Lang, UserRole};

pub const CSS: &str = include_str!("console.css");

/// The navigation: (path, key).
const NAV: &[(&str, &str)] = &[
    ("/console", "overview"),
    ("/console/subjects", "subjects"),
    ("/console/models", "models"),
    ("/console/feeds", "feeds"),
    ("/console/partners", "partners"),
    ("/console/audit", "audit"),
    ("/console/monitoring", "monitoring"),
    ("/console/retrain", "retrain"),
];

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        (DOCTYPE)
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · " (t(lang, "app")) }
        style { (PreEscaped(CSS)) }
    }
}

pub fn role_name(lang: Lang, role: UserRole) -> &'static str {
    match role {
        UserRole::Operator => t(lang, "operator"),
        UserRole::Analyst => t(lang, "analyst"),
        UserRole::Auditor => t(lang, "auditor"),
    }
}

/// A hidden CSRF field for a form of the signed-in user.
pub fn csrf(s: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// A whole page for a signed-in user: `here` is the path of the page (for the toggle's way back).
pub fn page(s: &Signed, here: &str, title_key: &'static str, body: Markup) -> Response {
    shell(s, here, title_key, body, None)
}

/// As `page`, reloading itself every `secs` seconds (a meta refresh: progress without script).
pub fn page_refreshing(
    s: &Signed,
    here: &str,
    title_key: &'static str,
    body: Markup,
    secs: u32,
) -> Response {
    shell(s, here, title_key, body, Some(secs))
}

fn shell(
    s: &Signed,
    here: &str,
    title_key: &'static str,
    body: Markup,
    refresh: Option<u32>,
) -> Response {
    let lang = s.user.lang;
    let other = match lang {
        Lang::Zh => "en",
        Lang::En => "zh",
    };
    let markup = html! {
        html lang=(if lang == Lang::Zh { "zh-CN" } else { "en" }) {
            (head(lang, t(lang, title_key)))
            @if let Some(secs) = refresh { meta http-equiv="refresh" content=(secs); }
            body {
                header class="top no-print" {
                    span class="brand" { (t(lang, "app")) }
                    nav {
                        @for (path, key) in NAV {
                            a href=(path) class=(if *path == here { "here" } else { "" }) { (t(lang, key)) }
                        }
                    }
                    span class="who" id="who" { (s.user.name) " · " (role_name(lang, s.user.role)) }
                    form method="post" action="/console/lang" class="inline" {
                        (csrf(s))
                        input type="hidden" name="lang" value=(other);
                        input type="hidden" name="back" value=(here);
                        button type="submit" id="lang-toggle" { (t(lang, "switch_lang")) }
                    }
                    form method="post" action="/console/logout" class="inline" {
                        (csrf(s))
                        button type="submit" id="sign-out" { (t(lang, "sign_out")) }
                    }
                }
                main {
                    h1 { (t(lang, title_key)) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A page without the signed-in shell (sign-in, printable report, errors before sign-in).
pub fn bare(lang: Lang, title: &str, status: StatusCode, body: Markup) -> Response {
    let markup = html! {
        html lang=(if lang == Lang::Zh { "zh-CN" } else { "en" }) {
            (head(lang, title))
            body class="bare" { main { (body) } }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// What a console handler can fail with; each becomes an HTML page with its status.
#[derive(Debug)]
pub enum ConsoleError {
    /// The user's role may not do this (403).
    Forbidden(Lang),
    /// Missing or wrong CSRF token (403).
    Csrf(Lang),
    NotFound(Lang),
    /// The input is wrong; the message says how (422), never echoing identity numbers.
    Invalid(Lang, String),
    /// The action conflicts with the current state (409).
    Conflict(Lang, String),
    Internal(anyhow::Error),
}

impl ConsoleError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ConsoleError::Internal(e.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, lang, message) = match self {
            ConsoleError::Forbidden(lang) => {
                (StatusCode::FORBIDDEN, lang, t(lang, "forbidden").to_owned())
            }
            ConsoleError::Csrf(lang) => (StatusCode::FORBIDDEN, lang, t(lang, "csrf").to_owned()),
            ConsoleError::NotFound(lang) => {
                (StatusCode::NOT_FOUND, lang, t(lang, "not_found").to_owned())
            }
            ConsoleError::Invalid(lang, m) => (StatusCode::UNPROCESSABLE_ENTITY, lang, m),
            ConsoleError::Conflict(lang, m) => (StatusCode::CONFLICT, lang, m),
            ConsoleError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "console request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Lang::En,
                    t(Lang::En, "internal").to_owned(),
                )
            }
        };
        bare(
            lang,
            &status.to_string(),
            status,
            html! {
                p class="error" id="error" { (message) }
                p { a href="/console" { (t(lang, "overview")) } }
            },
        )
    }
}

pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Partner names by id, for pages that show who sent or asked something.
pub async fn partner_names(
    state: &crate::app::AppState,
) -> Result<std::collections::BTreeMap<String, String>, ConsoleError> {
    Ok(state
        .db
        .list_partners()
        .await
        .map_err(ConsoleError::internal)?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}
