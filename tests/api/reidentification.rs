//! Nothing clear at rest (issue 17): a generated city is fed to the real binary through the
//! command line and the API, with a kill -9 in the middle of an upload and another while idle;
//! afterwards not one resident id of the city is found in the data directory (database, WAL,
//! secrets, spools) or in the server's logs.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::process::{
    creditbridge, free_port, import_committed_champions, partner_key, succeed, wait_ready, Server,
};

/// `creditbridge serve` on `port`, its output (at info level) appended to `log`.
fn serve_logged(dir: &Path, port: u16, log: &Path) -> Server {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let child = creditbridge(dir)
        .env("CREDITBRIDGE_LOG", "info")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("start serve");
    Server(child)
}

/// Every resident id in the city's feed files (cells of 18 characters that parse as one).
fn resident_ids(city: &Path) -> Vec<String> {
    let mut ids = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(city).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            for cell in line.split(',') {
                if cell.len() == 18
                    && creditbridge::domain::ResidentId::parse_as_of(
                        cell,
                        crate::common::test_today(),
                    )
                    .is_ok()
                {
                    ids.insert(cell.to_owned());
                }
            }
        }
    }
    ids.into_iter().collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

async fn upload(base: &str, key: &str, kind: &str, body: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/feeds/{kind}"))
        .bearer_auth(key)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_resident_id_of_a_city_is_found_at_rest_after_a_run_with_crashes() {
    // Arrange: a small city, and a server whose logs are kept.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let city = d.join("city");
    succeed(
        creditbridge(d)
            .args([
                "generate",
                "--enterprises",
                "40",
                "--households",
                "120",
                "--out",
            ])
            .arg(&city),
    );
    let ids = resident_ids(&city);
    assert!(
        ids.len() >= 100,
        "the city has its household heads: {}",
        ids.len()
    );
    let log = d.join("serve.log");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // Ready means a champion serves: the committed fixtures, imported and approved.
    import_committed_champions(d);
    let mut server = serve_logged(d, port, &log);
    wait_ready(&base).await;

    // Act: the tax bureau's files by the command line, the assessor's over the API.
    for kind in [
        "enterprises",
        "tax-grades",
        "tax-payments",
        "public-records",
    ] {
        succeed(
            creditbridge(d)
                .args(["import", kind])
                .arg(city.join(format!("{kind}.csv")))
                .arg("--quiet"),
        );
    }
    let assessor = partner_key(d, "assessor", "assessor");
    let households = std::fs::read(city.join("households.csv")).unwrap();
    assert_eq!(
        upload(&base, &assessor, "households", households.clone()).await,
        201
    );

    // A crash in the middle of an upload of assessments (clear ids spooled), then a restart.
    let assessments = std::fs::read(city.join("farmer-assessments.csv")).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /v1/feeds/farmer-assessments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {assessor}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        assessments.len() * 2
    )
    .unwrap();
    s.write_all(&assessments).unwrap();
    s.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    drop(s);
    let mut server = serve_logged(d, port, &log);
    wait_ready(&base).await;
    assert_eq!(
        upload(&base, &assessor, "farmer-assessments", assessments).await,
        201
    );
    succeed(
        creditbridge(d)
            .args(["import", "loan-outcomes"])
            .arg(city.join("loan-outcomes.csv"))
            .arg("--quiet"),
    );

    // An admin looks a head up (its id in a path), and a second crash, idle this time.
    let admin = partner_key(d, "admin", "admin");
    let looked_up = reqwest::Client::new()
        .get(format!("{base}/v1/consents/subjects/{}", ids[0]))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(looked_up.status(), 200);
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let _server = serve_logged(d, port, &log);
    wait_ready(&base).await;

    // Assert: the data directory and the log hold none of the ids.
    let mut files = Vec::new();
    files_under(&d.join("data"), &mut files);
    files.push(log.clone());
    assert!(files
        .iter()
        .any(|f| f.ends_with("creditbridge.db-wal") || f.ends_with("creditbridge.db")));
    let mut found = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for id in &ids {
            if bytes.windows(id.len()).any(|w| w == id.as_bytes()) {
                found.push(format!("{} in {}", &id[14..], file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "resident ids found at rest (last 4 shown): {found:?}"
    );
    // The scan looked at real data: the households are stored (under keyed hashes).
    let db_size: u64 = files
        .iter()
        .filter(|f| f.to_string_lossy().contains("creditbridge.db"))
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(
        db_size > 100_000,
        "database and WAL hold the city: {db_size} bytes"
    );
}
