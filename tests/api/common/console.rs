//! Console helpers: users, and a cookie-keeping client that signs in through the sign-in form
//! the way a browser does (double-submit token, session cookie) and posts forms with the page's
//! CSRF token. Redirects are not followed, so tests see each 303 and its `Location`.

use creditbridge::http::AppState;
use creditbridge::users::{self, UserRole};

use super::TestApp;

pub const PASSWORD: &str = "a long console password";

/// Adds console user `name` with `role` and the test password.
pub async fn add_user(state: &AppState, name: &str, role: &str) {
    let role: UserRole = role.parse().unwrap();
    users::add(
        &state.db,
        &state.settings.console,
        name,
        role,
        PASSWORD,
        state.clock.now(),
    )
    .await
    .unwrap();
}

/// The value of the first `name="csrf"` field in `html`.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

/// The value `name` is set to in the `Set-Cookie` headers of `resp`.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub set_cookies: Vec<String>,
}

pub struct ConsoleClient {
    pub base: String,
    client: reqwest::Client,
    pub session: Option<String>,
    pub csrf: Option<String>,
}

impl ConsoleClient {
    pub fn new(app: &TestApp) -> ConsoleClient {
        ConsoleClient {
            base: app.address.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            session: None,
            csrf: None,
        }
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        Answer {
            status,
            location,
            body: resp.text().await.unwrap(),
            set_cookies,
        }
    }

    /// Fills in the sign-in form: returns the answer (303 and a session, or the form again).
    pub async fn sign_in(&mut self, name: &str, password: &str) -> Answer {
        let form = self
            .client
            .get(format!("{}/console/login", self.base))
            .send()
            .await
            .unwrap();
        let token_cookie = set_cookie(&form, "cb_login_csrf").expect("a sign-in token cookie");
        let token_cookie = token_cookie.split(';').next().unwrap().to_owned();
        let html = form.text().await.unwrap();
        let token = csrf_in(&html).expect("a token field");
        let resp = self
            .client
            .post(format!("{}/console/login", self.base))
            .header(reqwest::header::COOKIE, token_cookie)
            .form(&[
                ("name", name),
                ("password", password),
                ("csrf", &token),
                ("next", "/console"),
                ("lang", "en"),
            ])
            .send()
            .await
            .unwrap();
        let a = Self::answer(resp).await;
        if let Some(c) = a.set_cookies.iter().find(|c| c.starts_with("cb_session=")) {
            self.session = Some(c.split(';').next().unwrap()["cb_session=".len()..].to_owned());
            // The session's token, from any page.
            let page = self.get("/console").await;
            self.csrf = csrf_in(&page.body);
        }
        a
    }

    fn cookie(&self) -> String {
        format!("cb_session={}", self.session.as_deref().unwrap_or(""))
    }

    pub async fn get(&self, path: &str) -> Answer {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie())
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// POSTs the form `fields` with the session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.csrf.clone().expect("signed in");
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &csrf));
        self.post_raw(path, &all).await
    }

    /// POSTs exactly `fields` (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie())
            .form(fields)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }
}

/// A console client signed in as a new user `name` of `role`, who reads English.
pub async fn signed_in(app: &TestApp, name: &str, role: &str) -> ConsoleClient {
    add_user(&app.state, name, role).await;
    users::set_lang(&app.state.db, name, users::Lang::En)
        .await
        .unwrap();
    let mut c = ConsoleClient::new(app);
    let a = c.sign_in(name, PASSWORD).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(c.csrf.is_some());
    c
}

/// An sme champion (`sme-old`) and a candidate (`sme-new`) that fails the gates, so promoting it
/// needs a reason and a second person.
pub async fn champion_and_candidate(app: &TestApp) {
    super::fixtures::install_champion(&app.state, "sme", "sme-old", 1).await;
    super::fixtures::register_candidate(&app.state, "sme", "sme-new", 2, serde_json::json!({}))
        .await;
}

/// The seeded enterprise scored once by a bank under its consent: the score's answer, so the
/// subject's history holds one delivered score.
pub async fn scored_enterprise(app: &TestApp) -> serde_json::Value {
    use super::fixtures::{self, USCC};
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-test-1", 1).await;
    let bank = app.partner_key("bank").await;
    let consent = app.consent(&bank, USCC, "loan_application").await;
    let (status, scored) = app
        .score(
            &bank,
            super::score_body("sme", USCC, "loan_application", &consent),
        )
        .await;
    assert_eq!(status, 200, "{scored}");
    scored
}

impl ConsoleClient {
    /// POSTs one file as the console's upload form does (`multipart/form-data`: the kind, then
    /// the file), to `path` exactly as given (the form carries its token in the query).
    pub async fn upload(&self, path: &str, kind: &str, file_name: &str, bytes: &[u8]) -> Answer {
        let boundary = "----creditbridge-test-boundary-7f3a";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie())
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// `upload` with the session's token in the query, as the page's form sends it.
    pub async fn upload_with_token(&self, kind: &str, file_name: &str, bytes: &[u8]) -> Answer {
        let csrf = self.csrf.clone().expect("signed in");
        self.upload(
            &format!("/console/feeds/upload?csrf={csrf}"),
            kind,
            file_name,
            bytes,
        )
        .await
    }
}
