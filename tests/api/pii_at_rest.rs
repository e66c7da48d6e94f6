//! Personal data at rest: a process started with another PII key refuses to start; the SQLite
//! files, the generated key and the feed spools are readable by their owner only; a spool left by
//! a process killed mid-upload is gone after the next start.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::common::process::{
    creditbridge, free_port, import_committed_champions, partner_key, serve, wait_ready,
};
use crate::common::{backends, test_clock, test_db, test_settings};
use creditbridge::startup::build_state_with;

#[tokio::test]
async fn a_process_with_another_pii_key_refuses_to_start_naming_the_setting() {
    for backend in backends() {
        // Arrange: the database is first used with the test key.
        let t = test_db(backend).await;
        let first = build_state_with(test_settings(&t.url, t.dir.path()), test_clock()).await;
        first.expect("first start records the key's fingerprint");

        // Act: a replica configured with another key.
        let mut other = test_settings(&t.url, t.dir.path());
        other.pii_key = Some("another-pii-key-fedcba9876543210".to_owned().into());
        let refused = build_state_with(other, test_clock()).await;

        // Assert
        let message = format!("{:#}", refused.err().expect("refused"));
        assert!(message.contains("CREDITBRIDGE_PII_KEY"), "{message}");
        assert!(message.contains("original key"), "{message}");
        assert!(
            !message.contains("another-pii-key"),
            "never the key itself: {message}"
        );
        // The right key still starts.
        build_state_with(test_settings(&t.url, t.dir.path()), test_clock())
            .await
            .expect("the original key starts");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_files_and_the_generated_key_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // Arrange: an embedded setup that keeps its key where earlier versions put it.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cb.db").display());
    let legacy = dir.path().join("pii.key");
    std::fs::write(&legacy, "00112233445566778899aabbccddeeff").unwrap();
    let mut settings = test_settings(&url, dir.path());
    settings.pii_key = None;

    // Act
    let state = build_state_with(settings, test_clock()).await.unwrap();
    crate::common::fixtures::seed_subjects(&state).await;

    // Assert
    let key = dir.path().join("secrets/pii.key");
    assert!(
        !legacy.exists() && key.exists(),
        "the key moved into secrets/"
    );
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&dir.path().join("secrets")), 0o700);
    assert_eq!(mode(&dir.path().join("cb.db")), 0o600);
    assert_eq!(
        mode(&dir.path().join("cb.db-wal")),
        0o600,
        "SQLite copies the mode"
    );
}

fn spools(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(d.join("data/spool")) {
        Ok(e) => e.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_upload_leaves_no_spool_after_restart() {
    // Arrange: a server and an assessor's key.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // Ready needs champions: serve no longer promotes the committed fixtures on its own.
    import_committed_champions(d);
    let mut server = serve(creditbridge(d), port);
    wait_ready(&base).await;
    let key = partner_key(d, "assessor", "assessor");

    // Act: half of a household feed is on its way when the server is killed.
    let mut half = String::from("head_id,region_code,village_code,village_name,members,labourers,education,land_mu,main_activity\n");
    for _ in 0..200 {
        half.push_str("11010519491231002X,440825,440825100201,下桥村,4,2,junior,12.5,pineapple\n");
    }
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /v1/feeds/households HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        half.len() * 4
    )
    .unwrap();
    s.write_all(half.as_bytes()).unwrap();
    s.flush().unwrap();
    // The file exists before its first bytes land: wait for the bytes, not the name.
    let written = |d: &std::path::Path| {
        spools(d)
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
    };
    for _ in 0..200 {
        if written(d) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let spooled = spools(d);
    assert_eq!(
        spooled.len(),
        1,
        "the upload is being spooled under data/spool"
    );
    assert!(written(d), "the spool holds the bytes received so far");
    server.0.kill().unwrap(); // SIGKILL: no destructor runs
    server.0.wait().unwrap();
    drop(s);
    assert_eq!(
        spools(d).len(),
        1,
        "a killed process leaves its spool behind"
    );

    // Assert: the next start sweeps it.
    let _again = serve(creditbridge(d), port);
    wait_ready(&base).await;
    assert!(spools(d).is_empty(), "left: {:?}", spools(d));
}
