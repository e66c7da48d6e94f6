//! Who is asking, for every console request: the session cookie resolved through `users`, an
//! expired or missing session sent to sign in (keeping the page it asked for), and the CSRF
//! token checked on every POST, in this one middleware, before any handler runs. Handlers take
//! the signed-in user as `Signed` and check the duty their action needs with `Signed::may`.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::page::ConsoleError;
use crate::app::AppState;
use crate::users::{sessions, Duty, Lang, SessionState, User};

pub const SESSION_COOKIE: &str = "cb_session";
pub const LOGIN_CSRF_COOKIE: &str = "cb_login_csrf";

/// The largest form body the CSRF check reads (console forms are a few fields).
const FORM_LIMIT: usize = 64 * 1024;

/// A signed-in user and their session's CSRF token, put on the request by [`guard`].
#[derive(Clone, Debug)]
pub struct Signed {
    pub user: User,
    pub csrf: String,
}

impl Signed {
    pub fn lang(&self) -> Lang {
        self.user.lang
    }

    /// Refuses (403) unless the user's role carries `duty`: the server-side half of the roles;
    /// the pages leave out the buttons of duties a role lacks.
    pub fn may(&self, duty: Duty) -> Result<(), ConsoleError> {
        if self.user.role.may(duty) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(self.user.lang))
        }
    }

    /// How audit records and the registry name this person.
    pub fn actor(&self) -> String {
        format!("console:{}", self.user.name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or_else(|| Redirect::to("/console/login").into_response())
    }
}

/// The value of cookie `name` in the request's headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` for the console: Secure, HttpOnly, SameSite=Strict, scoped to /console.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; Max-Age={max_age_secs}; HttpOnly; Secure; SameSite=Strict"
    ))
    .expect("cookie values are hex")
}

/// Equal without telling, by the time taken, how much of a guess matched.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Where to go after signing in: a console page, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.contains("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

fn to_login(next: &str, expired: bool) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let expired = if expired { "&expired=1" } else { "" };
    Redirect::to(&format!("/console/login?next={next}{expired}")).into_response()
}

/// The CSRF token a POST carries: the `x-csrf-token` header, else the `csrf` field of a form
/// body (read here and handed on unchanged), else the `csrf` query parameter (uploads).
async fn posted_token(req: Request) -> Result<(Option<String>, Request), Response> {
    let field = |bytes: &[u8]| {
        url::form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
    };
    if let Some(h) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return Ok((Some(h.to_owned()), req));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        let token = field(&bytes);
        return Ok((token, Request::from_parts(parts, Body::from(bytes))));
    }
    let token = req.uri().query().and_then(|q| field(q.as_bytes()));
    Ok((token, req))
}

/// The console's middleware (see the module's comment).
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/console/login" || path.starts_with("/console/assets/") {
        return next.run(req).await;
    }
    let here = req
        .uri()
        .path_and_query()
        .map_or("/console".to_owned(), |p| p.as_str().to_owned());
    let resolved = match cookie(req.headers(), SESSION_COOKIE) {
        Some(c) => sessions::resolve(&state.db, &c, state.clock.now()).await,
        None => Ok(SessionState::Missing),
    };
    let (user, csrf) = match resolved {
        Err(e) => return ConsoleError::internal(e).into_response(),
        Ok(SessionState::Valid { user, csrf }) => (user, csrf),
        Ok(other) => {
            let expired = matches!(other, SessionState::Expired);
            // A POST's own path is no page to come back to.
            let back = if req.method() == Method::GET {
                here.as_str()
            } else {
                "/console"
            };
            return to_login(back, expired);
        }
    };
    let mut req = req;
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let (token, checked) = match posted_token(req).await {
            Ok(t) => t,
            Err(resp) => return resp,
        };
        if !token.is_some_and(|t| same_token(&t, &csrf)) {
            super::audit::refused_csrf(&state, &user, checked.uri().path()).await;
            return ConsoleError::Csrf(user.lang).into_response();
        }
        req = checked;
    }
    req.extensions_mut().insert(Signed { user, csrf });
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_in_the_console() {
        assert_eq!(
            safe_next(Some("/console/models?x=1")),
            "/console/models?x=1"
        );
        assert_eq!(safe_next(Some("https://evil.example/console")), "/console");
        assert_eq!(safe_next(Some("/console//evil.example")), "/console");
        assert_eq!(safe_next(Some("/v1/models")), "/console");
        assert_eq!(safe_next(None), "/console");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abcd", "abcd"));
        assert!(!same_token("abcd", "abce"));
        assert!(!same_token("abc", "abcd"));
        assert!(!same_token("", "abcd"));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; cb_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
