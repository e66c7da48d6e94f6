//! The real binary as a process, for the tests that must kill, signal or restart it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `creditbridge serve`, killed and reaped when dropped (also when a test fails).
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// libfaketime (Debian's `libfaketime`, which `.ci/run` installs): the one way to pin the clock of
/// the real binary, which runs on the system clock as a service must.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The built `creditbridge` with its clock starting at `TEST_NOW` (timers keep the real
/// monotonic clock): every test that runs the binary starts it through here, so what it
/// takes for "today" (retention horizons, default months, consent bounds) is the fixtures' day.
pub fn pinned_binary() -> Command {
    assert!(
        std::path::Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: apt-get install faketime"
    );
    let start = super::test_now().format("@%Y-%m-%d %H:%M:%S").to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_creditbridge"));
    cmd.env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME", start)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("FAKETIME_NO_CACHE", "1");
    cmd
}

/// `creditbridge` working in `dir`: its data under `dir/data`, the test PII key, the committed
/// champions, no rate limit to speak of and no quarterly schedule; its clock starts at
/// `TEST_NOW` and runs on from there, so the fixtures' dates mean the same to it whatever day
/// the suite runs (timers keep the real monotonic clock).
pub fn creditbridge(dir: &std::path::Path) -> Command {
    super::ensure_ledger_key(&dir.join("data"));
    let mut cmd = pinned_binary();
    cmd.current_dir(dir)
        .env("CREDITBRIDGE_DATA_DIR", dir.join("data"))
        .env("CREDITBRIDGE_PII_KEY", super::TEST_PII_KEY)
        .env(
            "CREDITBRIDGE_MODELS_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/models"),
        )
        .env_remove("CREDITBRIDGE_DATABASE_URL")
        .env("CREDITBRIDGE_RATE_LIMIT_PER_MINUTE", "100000000")
        .env("CREDITBRIDGE_RETRAIN_SCHEDULE", "false")
        .env("CREDITBRIDGE_LOG", "warn");
    cmd
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `cmd` (a `creditbridge` command) serving on `port`.
pub fn serve(mut cmd: Command, port: u16) -> Server {
    let child = cmd
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    Server(child)
}

/// Waits until `base` answers ready (which needs a champion for every product); bounded, so a
/// broken start fails the test.
pub async fn wait_ready(base: &str) {
    wait_for(base, "/readyz").await
}

/// Waits until `base` answers live (`/healthz`): serving, champions or not.
pub async fn wait_live(base: &str) {
    wait_for(base, "/healthz").await
}

async fn wait_for(base: &str, path: &str) {
    for _ in 0..100 {
        if reqwest::get(format!("{base}{path}"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server at {base} did not answer 200 on {path}");
}

/// Runs `cmd` to its end and fails the test, with its stderr, unless it succeeded.
pub fn succeed(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `creditbridge partners add` in `dir`: the new partner's clear key.
pub fn partner_key(dir: &std::path::Path, name: &str, role: &str) -> String {
    let out = succeed(creditbridge(dir).args(["partners", "add", "--name", name, "--role", role]));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Registers the committed demo fixtures (`models/`) in `dir`'s database and makes them the
/// champions the only way there is: `models import --promote --force` by one administrator (they
/// carry no out-of-time evaluation, so the gates fail) and `models approve` by a second.
/// Returns the champions' ids by product.
pub fn import_committed_champions(dir: &std::path::Path) -> Vec<(String, String)> {
    import_committed_champions_with(|| creditbridge(dir))
}

/// As `import_committed_champions`, each CLI run made by `cli` (e.g. on another database).
pub fn import_committed_champions_with(cli: impl Fn() -> Command) -> Vec<(String, String)> {
    let out = succeed(cli().args([
        "models",
        "import",
        concat!(env!("CARGO_MANIFEST_DIR"), "/models"),
        "--promote",
        "--force",
        "--reason",
        "test fixtures",
        "--by",
        "admin-a",
    ]));
    let imported: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    imported
        .iter()
        .map(|m| {
            let id = m["id"].as_str().unwrap().to_owned();
            succeed(cli().args(["models", "approve", &id, "--by", "admin-b"]));
            (m["product"].as_str().unwrap().to_owned(), id)
        })
        .collect()
}
