//! PII key rotation (issue 17): the database's data key, wrapped under the operator's key, is
//! re-wrapped under a new key in one transaction with the new fingerprint and an audit record.
//! Every stored keyed hash stays valid; the old key no longer starts the service.

use creditbridge::domain::{Role, SubjectId};
use creditbridge::pii::PiiKey;
use creditbridge::pii_custody::{self, CustodyError, PII_DATA_KEY};
use creditbridge::startup::build_state_with;
use serde_json::Value;

use crate::common::fixtures::{self, RESIDENT};
use crate::common::process::{creditbridge, succeed};
use crate::common::{
    backends, test_clock, test_db, test_now, test_settings, EVIDENCE, TEST_PII_KEY,
};

const NEW_KEY: &str = "new-pii-key-5f0c2a9e77d14b6b8f3e";

fn registration() -> creditbridge::consent::Registration {
    creditbridge::consent::Registration {
        subject: SubjectId::parse(RESIDENT, crate::common::test_today()).unwrap(),
        purpose: "loan_application".parse().unwrap(),
        valid_until: "2027-06-30".parse().unwrap(),
        evidence_sha256: EVIDENCE.into(),
        signed_at: "2026-11-01T09:00:00Z".parse().unwrap(),
    }
}

#[tokio::test]
async fn a_rotation_round_trip_keeps_every_subject_reachable_and_retires_the_old_key() {
    for backend in backends() {
        // Arrange: a household and a consent for its head, stored under the first key.
        let t = test_db(backend).await;
        let state = build_state_with(test_settings(&t.url, t.dir.path()), test_clock())
            .await
            .unwrap();
        fixtures::seed_subjects(&state).await;
        let bank = state
            .db
            .add_partner("bank", Role::Bank, test_now())
            .await
            .unwrap();
        let bank = state.db.partner(&bank.id).await.unwrap();
        state
            .register_consent(&bank, &registration())
            .await
            .unwrap();
        let hashed_before = state.pii.subject_key(RESIDENT);
        let old = PiiKey::new(TEST_PII_KEY.as_bytes()).unwrap();
        let new = PiiKey::new(NEW_KEY.as_bytes()).unwrap();

        // Act
        let rotated = pii_custody::rotate(&state.db, &state.audit, &old, &new, "test", test_now())
            .await
            .unwrap();

        // Assert: a process with the new key starts and finds the head by identity number.
        let mut with_new = test_settings(&t.url, t.dir.path());
        with_new.pii_key = Some(NEW_KEY.to_owned().into());
        let after = build_state_with(with_new, test_clock())
            .await
            .expect("the new key starts");
        assert_eq!(after.pii.subject_key(RESIDENT), hashed_before);
        let (_, consents) = after
            .subject_consents(&SubjectId::parse(RESIDENT, crate::common::test_today()).unwrap())
            .await
            .unwrap();
        assert_eq!(consents.len(), 1);
        let households: i64 = creditbridge::with_db!(&after.db, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM households WHERE subject_key = $1").bind(&hashed_before).fetch_one(p).await)
        .unwrap();
        assert_eq!(households, 1);

        // The old key is refused at start, naming the setting, and cannot rotate again.
        let refused = build_state_with(test_settings(&t.url, t.dir.path()), test_clock()).await;
        let message = format!("{:#}", refused.err().expect("the old key is refused"));
        assert!(message.contains("CREDITBRIDGE_PII_KEY"), "{message}");
        let again =
            pii_custody::rotate(&after.db, &after.audit, &old, &new, "test", test_now()).await;
        assert!(
            matches!(again, Err(CustodyError::WrongKey { .. })),
            "{again:?}"
        );
        let same =
            pii_custody::rotate(&after.db, &after.audit, &new, &new, "test", test_now()).await;
        assert!(matches!(same, Err(CustodyError::SameKey)), "{same:?}");

        // One audit record, with fingerprints only; the stored data key is wrapped, not clear.
        let entries: Vec<Value> = crate::common::audit_entries(&after.db)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "pii_key.rotated")
            .collect();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0]["new_fingerprint"],
            rotated.new_fingerprint.as_str()
        );
        let text = entries[0].to_string();
        assert!(!text.contains(NEW_KEY) && !text.contains(TEST_PII_KEY));
        let wrapped = after.db.meta(PII_DATA_KEY).await.unwrap().unwrap();
        assert!(new.unwrap(&wrapped).is_ok() && old.unwrap(&wrapped).is_err());
    }
}

#[tokio::test]
async fn a_database_from_before_the_data_key_keeps_the_hashes_it_was_made_with() {
    for backend in backends() {
        // Arrange: as an earlier version left it — households hashed with the key itself, and
        // the key's fingerprint recorded, no data key.
        let t = test_db(backend).await;
        let old = PiiKey::new(TEST_PII_KEY.as_bytes()).unwrap();
        t.db.set_meta(pii_custody::PII_FINGERPRINT, &old.fingerprint())
            .await
            .unwrap();
        let (kind, csv) = fixtures::subject_feeds()
            .into_iter()
            .find(|(k, _)| *k == "households")
            .unwrap();
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        std::io::Write::write_all(&mut f, csv.as_bytes()).unwrap();
        creditbridge::feeds::import(
            &t.db,
            &old,
            creditbridge::feeds::FeedRequest {
                kind: kind.parse().unwrap(),
                source: "cli".into(),
                idempotency_key: None,
                path: f.path().to_path_buf(),
                format: None,
                received_at: test_now(),
                limits: Default::default(),
                sender: None,
            },
            None,
        )
        .await
        .unwrap();

        // Act
        let state = build_state_with(test_settings(&t.url, t.dir.path()), test_clock())
            .await
            .unwrap();

        // Assert: the data key is the key the hashes were made with, now kept wrapped, and a
        // rotation keeps it.
        assert_eq!(state.pii.subject_key(RESIDENT), old.subject_key(RESIDENT));
        let new = PiiKey::new(NEW_KEY.as_bytes()).unwrap();
        pii_custody::rotate(&state.db, &state.audit, &old, &new, "test", test_now())
            .await
            .unwrap();
        let mut with_new = test_settings(&t.url, t.dir.path());
        with_new.pii_key = Some(NEW_KEY.to_owned().into());
        let after = build_state_with(with_new, test_clock()).await.unwrap();
        assert_eq!(after.pii.subject_key(RESIDENT), old.subject_key(RESIDENT));
    }
}

#[test]
fn the_command_line_rotates_and_the_old_key_no_longer_starts() {
    // Arrange: an embedded setup with a partner, and the new key in a file.
    let dir = tempfile::tempdir().unwrap();
    succeed(creditbridge(dir.path()).args(["partners", "add", "--name", "bank", "--role", "bank"]));
    let key_file = dir.path().join("new.key");
    std::fs::write(&key_file, format!("{NEW_KEY}\n")).unwrap();

    // Act
    let out = succeed(
        creditbridge(dir.path())
            .args(["maintenance", "rotate-pii-key", "--new-key-file"])
            .arg(&key_file),
    );

    // Assert
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["new_fingerprint"].as_str().unwrap().len(), 12);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(NEW_KEY));
    let old = creditbridge(dir.path())
        .args(["partners", "list"])
        .output()
        .unwrap();
    assert!(!old.status.success());
    assert!(String::from_utf8_lossy(&old.stderr).contains("CREDITBRIDGE_PII_KEY"));
    succeed(
        creditbridge(dir.path())
            .env("CREDITBRIDGE_PII_KEY", NEW_KEY)
            .args(["partners", "list"]),
    );
    // A key file that is too short is refused, naming the option.
    std::fs::write(&key_file, "short").unwrap();
    let short = creditbridge(dir.path())
        .env("CREDITBRIDGE_PII_KEY", NEW_KEY)
        .args(["maintenance", "rotate-pii-key", "--new-key-file"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&short.stderr).contains("--new-key-file"));
}
