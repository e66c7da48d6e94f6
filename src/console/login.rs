//! Signing in and out, and the language toggle. The sign-in form is protected from cross-site
//! posting by a double-submit token (a cookie and a hidden field that must match), since there
//! is no session yet; every other form carries the session's token (`session::guard`).

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::i18n::t;
use super::page::{bare, ConsoleError};
use super::session::{
    cookie, safe_next, same_token, set_cookie, Signed, LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::app::AppState;
use crate::users::sessions::{self, LoginError, Refusal};
use crate::users::{self, Lang};

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
    expired: Option<String>,
}

fn login_form(
    lang: Lang,
    next: &str,
    token: &str,
    message: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let other = if lang == Lang::Zh { "en" } else { "zh" };
    let next_q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let mut resp = bare(
        lang,
        t(lang, "sign_in"),
        status,
        html! {
            h1 { (t(lang, "app")) }
            p { a id="lang-toggle" href={ "/console/login?lang=" (other) "&next=" (next_q) } { (t(lang, "switch_lang")) } }
            @if let Some(m) = message { p class="error" id="login-error" { (t(lang, m)) } }
            form method="post" action="/console/login" id="login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                input type="hidden" name="lang" value=(lang.as_str());
                p { label { (t(lang, "name")) br; input type="text" name="name" id="name" autocomplete="username" required; } }
                p { label { (t(lang, "password")) br; input type="password" name="password" id="password" autocomplete="current-password" required; } }
                button type="submit" id="sign-in" { (t(lang, "sign_in")) }
            }
        },
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, token, 3600),
    );
    resp
}

fn new_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub async fn show(Query(q): Query<LoginQuery>) -> Response {
    let lang = q.lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::Zh);
    let next = safe_next(q.next.as_deref());
    let message = q.expired.is_some().then_some("session_expired");
    login_form(lang, &next, &new_token(), message, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    csrf: String,
    next: Option<String>,
    lang: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let lang = form
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::Zh);
    let next = safe_next(form.next.as_deref());
    if !cookie(&headers, LOGIN_CSRF_COOKIE).is_some_and(|c| same_token(&c, &form.csrf)) {
        return Err(ConsoleError::Csrf(lang));
    }
    let settings = &state.settings.console;
    match sessions::login(
        &state.db,
        settings,
        &form.name,
        &form.password,
        state.clock.now(),
    )
    .await
    {
        Ok(signed) => {
            super::audit::sign_in(&state, &signed.user).await?;
            let max_age = (signed.expires_at - state.clock.now()).num_seconds().max(0);
            let mut resp = Redirect::to(&next).into_response();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &signed.cookie, max_age),
            );
            h.append(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, "", 0));
            Ok(resp)
        }
        Err(LoginError::Refused(refusal)) => {
            let known = refusal != Refusal::UnknownName;
            super::audit::sign_in_refused(
                &state,
                known.then_some(form.name.trim()),
                refusal.as_str(),
            )
            .await?;
            Ok(login_form(
                lang,
                &next,
                &new_token(),
                Some("login_failed"),
                StatusCode::UNAUTHORIZED,
            ))
        }
        Err(LoginError::Store(e)) => Err(ConsoleError::internal(e)),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    signed: Signed,
    headers: axum::http::HeaderMap,
) -> Result<Response, ConsoleError> {
    if let Some(c) = cookie(&headers, SESSION_COOKIE) {
        sessions::logout(&state.db, &c)
            .await
            .map_err(ConsoleError::internal)?;
    }
    super::audit::action(
        &state,
        &signed.user,
        "sign_out",
        None,
        serde_json::json!({}),
    )
    .await?;
    let mut resp =
        Redirect::to(&format!("/console/login?lang={}", signed.lang().as_str())).into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    Ok(resp)
}

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
    back: Option<String>,
}

/// Switches the user's language and remembers it with the user (not the browser).
pub async fn switch_lang(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<LangForm>,
) -> Result<Response, ConsoleError> {
    let lang = Lang::parse(&form.lang)
        .ok_or_else(|| ConsoleError::Invalid(signed.lang(), "lang: use zh or en".to_owned()))?;
    users::set_lang(&state.db, &signed.user.name, lang)
        .await
        .map_err(ConsoleError::internal)?;
    super::audit::action(
        &state,
        &signed.user,
        "language",
        None,
        serde_json::json!({ "lang": lang.as_str() }),
    )
    .await?;
    Ok(Redirect::to(&safe_next(form.back.as_deref())).into_response())
}
