//! Test helpers: a fresh database per test (SQLite file in a temp dir, or a new PostgreSQL
//! database when TEST_DATABASE_URL is set) and the app started on port 0 talking real HTTP.
#![allow(dead_code)]

use std::net::SocketAddr;

use creditbridge::http::AppState;
use creditbridge::settings::{DatabaseUrl, Settings};
use creditbridge::storage::Db;
use tokio::sync::oneshot;

pub mod fixtures;

pub const TEST_PII_KEY: &str = "test-pii-key-0123456789abcdef";

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
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
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
    };
    let db = Db::connect(&url, 5).await.expect("connect test database");
    TestDb {
        db,
        url,
        dir,
        backend,
    }
}

pub fn test_settings(url: &str, data_dir: &std::path::Path) -> Settings {
    Settings {
        database_url: DatabaseUrl::new(url),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_path_buf(),
        pii_key: Some(TEST_PII_KEY.to_owned().into()),
        // No committed champions: each test installs the models it needs.
        models_dir: data_dir.join("models"),
        retrain_schedule: false,
        reload_interval_secs: 1,
        ..Settings::default()
    }
}

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub test_db: TestDb,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let test_db = test_db(backend).await;
        let mut settings = test_settings(&test_db.url, test_db.dir.path());
        tweak(&mut settings);
        let state = creditbridge::startup::build_state(settings)
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
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Creates a partner of `role` and returns its clear key.
    pub async fn partner_key(&self, role: &str) -> String {
        let role = role.parse().expect("role");
        self.state
            .db
            .add_partner(&format!("test {role:?}"), role)
            .await
            .unwrap()
            .key
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
