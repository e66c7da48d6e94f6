//! Test helpers: a fresh database per test (SQLite file in a temp dir, or a new PostgreSQL
//! database when TEST_DATABASE_URL is set) and the app started on port 0 talking real HTTP.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use creditbridge::clock::ManualClock;
use creditbridge::http::AppState;
use creditbridge::settings::{DatabaseUrl, Settings};
use creditbridge::storage::partners::NewPartner;
use creditbridge::storage::Db;
use tokio::sync::oneshot;

pub mod browser;
pub mod console;
pub mod fixtures;
pub mod process;

pub const TEST_PII_KEY: &str = "test-pii-key-0123456789abcdef";
/// The moment every test app starts at. Tests never read the wall clock: what they check must
/// not depend on the day the suite runs.
pub const TEST_NOW: &str = "2026-11-28T10:00:00Z";

pub fn test_now() -> chrono::DateTime<chrono::Utc> {
    TEST_NOW.parse().expect("TEST_NOW")
}

pub fn test_today() -> chrono::NaiveDate {
    test_now().date_naive()
}

/// A clock pinned at `TEST_NOW`, which a test may move.
pub fn test_clock() -> Arc<ManualClock> {
    ManualClock::at(test_now())
}

/// SHA-256 of a signed authorization document, as partners send it.
pub const EVIDENCE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it).
pub fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        b.push(Backend::Postgres);
    }
    b
}

/// The application state (pools, audit writer, read model) over `t`, with the test settings, and
/// no server around it.
pub async fn state_over(t: &TestDb) -> creditbridge::http::AppState {
    creditbridge::startup::build_state_with(test_settings(&t.url, t.dir.path()), test_clock())
        .await
        .expect("build state")
}

/// A database of its own for one test. Dropping the guard removes the SQLite files; PostgreSQL
/// test databases are named `cb_t_*` and dropped by `.ci/run` before each run.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub backend: Backend,
}

pub async fn test_db(backend: Backend) -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_url(backend, dir.path()).await;
    let db = Db::connect(&url, 5).await.expect("connect test database");
    TestDb {
        db,
        url,
        dir,
        backend,
    }
}

/// The URL of a new, empty database for `backend` (an SQLite file in `dir`).
async fn fresh_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("test.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
            let name = format!("cb_t_{}", ulid::Ulid::new().to_string().to_lowercase());
            let pool = sqlx::PgPool::connect(&admin)
                .await
                .expect("connect TEST_DATABASE_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            let mut u = url::Url::parse(&admin).unwrap();
            u.set_path(&name);
            u.to_string()
        }
    }
}

/// For migration tests: a new database with only the migrations numbered below `version`
/// applied, then `seed` (SQL) run on it, as a deployment of the time would hold it. Returns its
/// URL, and the directory to keep alive as long as it is used.
pub async fn db_before_migration(
    backend: Backend,
    version: i64,
    seed: &str,
) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_url(backend, dir.path()).await;
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let source = std::path::PathBuf::from(format!(
        "{}/migrations/{folder}",
        env!("CARGO_MANIFEST_DIR")
    ));
    let mut migrator = sqlx::migrate::Migrator::new(source).await.unwrap();
    let earlier: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect();
    migrator.migrations = earlier.into();
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
                .await
                .unwrap();
            migrator.run(&pool).await.unwrap();
            sqlx::raw_sql(seed).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            sqlx::raw_sql(seed).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    (url, dir)
}

/// The test log's name (the signing key's, and its checkpoints' origin).
pub const TEST_LOG_ORIGIN: &str = "creditbridge.test/audit";

/// Makes the audit log's signing key where the settings look for it by default
/// (`data_dir/secrets/ledger.key`, mode 0600), unless one is there.
pub fn ensure_ledger_key(data_dir: &std::path::Path) -> std::path::PathBuf {
    let path = data_dir.join("secrets").join("ledger.key");
    if !path.exists() {
        creditbridge::startup::create_private_dir(path.parent().unwrap()).unwrap();
        ledger::keys::generate_file(&path, TEST_LOG_ORIGIN).unwrap();
    }
    path
}

pub fn test_settings(url: &str, data_dir: &std::path::Path) -> Settings {
    ensure_ledger_key(data_dir);
    Settings {
        database_url: DatabaseUrl::new(url),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_path_buf(),
        pii_key: Some(TEST_PII_KEY.to_owned().into()),
        // No committed champions: each test installs the models it needs.
        models_dir: data_dir.join("models"),
        retrain_schedule: false,
        reload_interval_secs: 1,
        // Tests stop their apps at once (the drain is tested on its own, in http_foundation.rs).
        shutdown_delay_ms: 0,
        ..Settings::default()
    }
}

/// The body of a score request.
pub fn score_body(
    product: &str,
    subject: &str,
    purpose: &str,
    consent_id: &str,
) -> serde_json::Value {
    serde_json::json!({
        "product": product, "subject": subject, "purpose": purpose, "consent_id": consent_id
    })
}

/// The score most tests ask for: the fixture enterprise (`fixtures::USCC`), before a loan.
pub fn sme_score_body(consent_id: &str) -> serde_json::Value {
    score_body("sme", fixtures::USCC, "loan_application", consent_id)
}

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub test_db: TestDb,
    /// The app's clock, pinned at `TEST_NOW`: move it to step through time.
    pub clock: Arc<ManualClock>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_over(test_db(backend).await, tweak).await
    }

    /// A second replica over this app's database (same PII key and starting time, a clock and a
    /// data directory of its own), as a load balancer would put beside it.
    pub async fn replica(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let db = Db::connect(&self.test_db.url, 5)
            .await
            .expect("connect replica");
        let test_db = TestDb {
            db,
            url: self.test_db.url.clone(),
            dir: tempfile::tempdir().unwrap(),
            backend: self.test_db.backend,
        };
        Self::spawn_over(test_db, tweak).await
    }

    async fn spawn_over(test_db: TestDb, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = test_settings(&test_db.url, test_db.dir.path());
        tweak(&mut settings);
        let clock = test_clock();
        let state = creditbridge::startup::build_state_with(settings, clock.clone())
            .await
            .expect("build state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(creditbridge::startup::run(listener, state.clone(), async {
            let _ = rx.await;
        }));
        TestApp {
            address,
            state,
            client: reqwest::Client::new(),
            test_db,
            clock,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Creates a partner of `role` and returns it with its first clear key.
    pub async fn partner(&self, role: &str) -> NewPartner {
        let role = role.parse().expect("role");
        self.state
            .db
            .add_partner(&format!("test {role:?}"), role, test_now())
            .await
            .unwrap()
    }

    /// Creates a partner of `role` and returns its clear key.
    pub async fn partner_key(&self, role: &str) -> String {
        let role = role.parse().expect("role");
        self.state
            .db
            .add_partner(&format!("test {role:?}"), role, test_now())
            .await
            .unwrap()
            .key
    }

    /// POSTs `body` as JSON with `key`; returns the status and the JSON answer (null if none).
    pub async fn post(
        &self,
        key: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// GETs `path` with `key`.
    pub async fn get(&self, key: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// POSTs `body` as it is, labelled JSON, with `key` (for bodies `post` cannot make).
    pub async fn post_raw(
        &self,
        key: &str,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Registers a consent signed 2026-11-01, valid until 2027-06-30 (within the one-year term
    /// from `TEST_NOW`), and returns its id.
    pub async fn consent(&self, key: &str, subject: &str, purpose: &str) -> String {
        let body = serde_json::json!({
            "subject": subject, "purpose": purpose, "valid_until": "2027-06-30",
            "evidence_sha256": EVIDENCE, "signed_at": "2026-11-01T09:00:00Z"
        });
        let (status, answer) = self.register_consent(key, body).await;
        assert_eq!(status, 201, "{answer}");
        answer["consent_id"].as_str().unwrap().to_owned()
    }

    /// `POST /v1/consents` with `body` as it is: the status and the answer.
    pub async fn register_consent(
        &self,
        key: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.post(key, "/v1/consents", body).await
    }

    /// `POST /v1/consents/{id}/revoke`.
    pub async fn revoke_consent(&self, key: &str, id: &str) -> (u16, serde_json::Value) {
        let path = format!("/v1/consents/{id}/revoke");
        self.post(key, &path, serde_json::json!({})).await
    }

    /// `POST /v1/scores` with `body` (see `score_body`): the status and the answer.
    pub async fn score(&self, key: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.post(key, "/v1/scores", body).await
    }

    /// `POST /v1/feeds/{kind}` with the file `body`, labelled `content_type` (none: sniffed) and
    /// under `idempotency_key` (none: the content's hash): status, headers and the JSON answer
    /// (null if none).
    pub async fn feed(
        &self,
        key: &str,
        kind: &str,
        content_type: Option<&str>,
        idempotency_key: Option<&str>,
        body: Vec<u8>,
    ) -> (
        reqwest::StatusCode,
        reqwest::header::HeaderMap,
        serde_json::Value,
    ) {
        let mut req = self
            .client
            .post(self.url(&format!("/v1/feeds/{kind}")))
            .bearer_auth(key)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", k);
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let json = resp.json().await.unwrap_or(serde_json::Value::Null);
        (status, headers, json)
    }

    /// GETs `path` with `key` and reads the JSON answer (null if none): status and answer.
    /// The served OpenAPI description (no key needed).
    pub async fn openapi(&self) -> serde_json::Value {
        let resp = self
            .client
            .get(self.url("/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn get_json(&self, key: &str, path: &str) -> (u16, serde_json::Value) {
        let resp = self.get(key, path).await;
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Runs the sequencer now until everything recorded so far has its leaf and a signed
    /// checkpoint covers it. On PostgreSQL the sequencer takes only entries of transactions
    /// older than every running one in the cluster, so a transaction of another test may hold
    /// it back for a moment: it is asked again, within a bound.
    pub async fn sequence(&self) -> creditbridge::audit::sequencer::StepReport {
        let recorded = self.state.db.ledger_count().await.unwrap() as u64;
        // Up to a minute (see above: another test's long import can hold it back).
        for _ in 0..1200 {
            // The server task (which starts the sequencer) may not have run yet.
            match self.state.sequencer.run_now(true).await {
                Ok(report) if report.size >= recorded => return report,
                Ok(_) => {}
                Err(e) if e.contains("runs no sequencer") => {}
                Err(e) => panic!("sequencer run: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the sequencer did not catch up with {recorded} entries");
    }

    /// Sequences what was recorded so far and verifies the whole log: true when it holds.
    pub async fn ledger_verifies(&self) -> bool {
        self.sequence().await;
        let v = creditbridge::audit::verify(&self.state.db, &self.verifier(), &[])
            .await
            .unwrap();
        assert!(v.ok, "{v:?}");
        v.ok
    }

    /// The log's public key.
    pub fn verifier(&self) -> ledger::LogVerifier {
        self.state
            .signer
            .as_ref()
            .expect("a signing key")
            .verifier()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap().unwrap();
        }
    }
}

/// Every ledger entry in entry order, each as one JSON object: its body's fields, plus
/// `event_id`, `kind`, `actor`, `partner_id`, `subject_last4`, `correlation_id` and `leaf_index`
/// from the entry (decoded from its signed bytes where they are there).
pub async fn audit_entries(db: &Db) -> Vec<serde_json::Value> {
    let rows = db.ledger_entries(0, 100_000).await.unwrap();
    rows.into_iter()
        .map(|r| {
            let entry = ledger::entry::decode(&r.leaf).expect("a valid leaf");
            let mut v = entry.body.clone();
            let o = v.as_object_mut().unwrap();
            o.insert("event_id".into(), entry.event_id.to_string().into());
            o.insert("kind".into(), entry.kind.clone().into());
            o.insert("recorded_at".into(), entry.time.to_rfc3339().into());
            o.insert("actor".into(), entry.actor.clone().into());
            o.insert("partner_id".into(), r.partner_id.clone().into());
            o.insert(
                "subject_last4".into(),
                entry.subject.as_ref().map(|s| s.last4.clone()).into(),
            );
            o.insert("correlation_id".into(), r.correlation_id.clone().into());
            o.insert("leaf_index".into(), r.leaf_index.into());
            v
        })
        .collect()
}
