//! A real browser for the console's tests: headless Chromium driven over WebDriver
//! (`chromedriver` from Debian's `chromium-driver`) with `fantoccini`. Each test gets its own
//! chromedriver on a free port and a fresh profile; nothing reaches the network. Without
//! chromedriver the browser tests fail when CREDITBRIDGE_REQUIRE_BROWSER=1 (CI sets it) and
//! otherwise skip, saying so loudly.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use super::process::free_port;
use super::TestApp;

const CHROMEDRIVER: &str = "chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    pub client: Client,
    /// `http://localhost:PORT`: a name the browser treats as a secure context, so it keeps the
    /// console's Secure cookies over plain HTTP in tests.
    pub base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Starts chromedriver and a headless Chromium pointed at `app`, or `None` (after a loud
/// message) when chromedriver is missing and the browser is not required.
pub async fn start(app: &TestApp) -> Option<Browser> {
    if !on_path(CHROMEDRIVER) || !std::path::Path::new(CHROMIUM).exists() {
        let required = std::env::var("CREDITBRIDGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "CREDITBRIDGE_REQUIRE_BROWSER=1 but chromedriver or {CHROMIUM} is missing: \
             apt-get install chromium chromium-driver"
        );
        eprintln!(
            "\n!!!!!!!! SKIPPED: console browser test: chromedriver or {CHROMIUM} is missing \
             (apt-get install chromium chromium-driver) !!!!!!!!\n"
        );
        return None;
    }
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    // Ready when its status answers; bounded, however slow the machine.
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http.get(format!("{url}/status")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a WebDriver session");
    let base = app.address.replace("127.0.0.1", "localhost");
    Some(Browser {
        client,
        base,
        driver,
        _profile: profile,
    })
}

impl Browser {
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    pub async fn path(&self) -> String {
        let u = self.client.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    /// The page's path once it starts with `prefix` (a click's navigation may still be under
    /// way when WebDriver answers); panics with the last path after a bounded wait.
    pub async fn wait_path(&self, prefix: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            last = self.path().await;
            // The sign-in page also starts with `/console`: while a sign-in is still under way,
            // it is not where a wait for another console page ends.
            let at_login =
                last.starts_with("/console/login") && !prefix.starts_with("/console/login");
            if last.starts_with(prefix) && !at_login {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("still at {last}, waiting for {prefix}");
    }

    /// The element `css` selects, waiting up to 60 s for it (a bound for a loaded machine, not a
    /// timing): after a click the next page may still be loading when WebDriver answers.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                // Where the browser was, to tell a slow page from a wrong one.
                let (path, page) = (self.path().await, self.source().await);
                let tail: String = page.chars().take(2000).collect();
                panic!("{css}: {e}; at {path}: {tail}")
            }
        }
    }

    /// The text of `css`; an element replaced by a page still loading is looked for again.
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(e) if e.to_string().contains("stale element") => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("{css}: {e}"),
            }
        }
        panic!("{css}: stale on every try")
    }

    /// The text of `css` once it reads `expected` (a click's next page may still be loading),
    /// or the last text read after 20 s.
    pub async fn text_once(&self, css: &str, expected: &str) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            last = self.text(css).await;
            if last == expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        last
    }

    /// Whether `css` is on the page as it is now: for pages reached by `goto`, which waits for
    /// the load. After a click, use `appears`.
    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    /// True once `css` is on the page (a click's next page may still be loading); panics with
    /// where the browser was after 60 s.
    pub async fn appears(&self, css: &str) -> bool {
        self.find(css).await;
        true
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Signs in through the form and waits for the answer: a console page (signed in) or the
    /// sign-in page's error. WebDriver's click returns before the form's POST is answered; a
    /// test that went on at once could start its next page while the POST was still in flight
    /// (CI saw the sign-in refused for its CSRF cookie, and a page of the previous session).
    pub async fn sign_in(&self, name: &str, password: &str) {
        self.goto("/console/login?lang=en").await;
        self.fill("#name", name).await;
        self.fill("#password", password).await;
        self.click("#sign-in").await;
        for _ in 0..600 {
            let signed_in =
                !self.path().await.starts_with("/console/login") && self.exists("#who").await;
            if signed_in || self.exists("#login-error").await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no answer to the sign-in of {name} after 60 s; at {}",
            self.path().await
        );
    }

    /// Signs out and waits for the sign-in page, so that a next sign-in does not cancel the
    /// sign-out's POST while it is in flight.
    pub async fn sign_out(&self) {
        self.click("#sign-out").await;
        self.wait_path("/console/login").await;
    }

    /// POSTs `fields` from the page with `fetch` (as a forged or hand-made request would) and
    /// returns the status.
    pub async fn fetch_post(&self, path: &str, fields: serde_json::Value) -> u16 {
        let script = "const [path, fields, done] = arguments; \
            fetch(path, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' }) \
              .then(r => done(r.status), e => done(String(e)));";
        let v = self
            .client
            .execute_async(script, vec![serde_json::json!(path), fields])
            .await
            .unwrap();
        v.as_u64().unwrap_or_else(|| panic!("fetch: {v}")) as u16
    }

    /// The CSRF token of the page on screen.
    pub async fn csrf(&self) -> String {
        super::console::csrf_in(&self.source().await).expect("a form with a token")
    }

    /// Saves a screenshot as `docs/console/NAME.png` when CREDITBRIDGE_SCREENSHOTS=1 (how the
    /// README's pictures are made; otherwise tests leave the tree alone).
    pub async fn shot(&self, name: &str) {
        if std::env::var("CREDITBRIDGE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let png = self.client.screenshot().await.unwrap();
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }

    pub async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}
