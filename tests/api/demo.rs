//! The first-run pipeline end to end at a small size: generate, import through the feeds,
//! retrain both products, issue keys. A city this small holds too few out-of-time defaults for
//! the gates to judge a model on, so the demo must leave both products without a champion, say
//! why, and refuse scores, rather than force its models past the gates (the small-city
//! demo promoted a farmer model with out-of-time AUC 0.303).

use crate::common::{score_body, Backend, TestApp};
use creditbridge::demo::{self, DemoSize};
use creditbridge::domain::Role;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_demo_city_promotes_nothing_past_the_gates_and_says_why() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let data_dir = app.test_db.dir.path().join("demo");
    let size = DemoSize {
        enterprises: 1200,
        households: 1200,
        seed: 11,
    };
    let prepared = demo::prepare(&app.state, &data_dir, &size)
        .await
        .expect("demo pipeline");

    assert_eq!(
        prepared.partners.len(),
        Role::ALL.len(),
        "one partner of each role"
    );
    assert!(prepared.champions.is_empty(), "{:?}", prepared.champions);
    assert_eq!(prepared.without_champion.len(), 2);
    for (_, why) in &prepared.without_champion {
        assert!(why.contains("insufficient_evidence"), "{why}");
        assert!(why.contains("at least 30 are needed"), "{why}");
    }
    let text = demo::instructions(&prepared, &app.address);
    assert!(text.contains(&prepared.sample_enterprise) && text.contains("/v1/scores"));
    assert!(text.contains("sme     none: candidate sme-"), "{text}");
    assert!(text.contains("Scores for farmer are refused"), "{text}");
    // One console user per role, each password printed once and stored only as its hash: each
    // signs in to /console with what the instructions printed.
    assert_eq!(
        prepared
            .console_users
            .iter()
            .map(|u| (u.name.as_str(), u.role.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("demo-operator", "operator"),
            ("demo-analyst", "analyst"),
            ("demo-auditor", "auditor")
        ]
    );
    assert!(text.contains(&format!("{}/console", app.address)), "{text}");
    for u in &prepared.console_users {
        assert!(u.password.chars().count() >= 20);
        assert!(text.contains(&u.password), "{text}");
        let row = app.state.db.console_user(&u.name).await.unwrap().unwrap();
        assert!(row.password_hash.starts_with("$argon2id$"));
        assert!(!row.password_hash.contains(&u.password));
        let mut c = crate::common::console::ConsoleClient::new(&app);
        assert_eq!(
            c.sign_in(&u.name, &u.password).await.status,
            303,
            "{}",
            u.name
        );
    }
    assert_ne!(
        prepared.console_users[0].password,
        prepared.console_users[1].password
    );
    // Nothing was promoted, forced or requested.
    let events: Vec<Value> = crate::common::audit_entries(&app.state.db).await;
    assert!(!events.iter().any(|e| matches!(
        e["kind"].as_str().unwrap_or(""),
        "model.promoted" | "model.forced" | "model.rolled_back"
    )));
    // Each demo partner and its key are in the ledger.
    let count = |kind: &str| events.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(count("partner.added"), prepared.partners.len());
    assert_eq!(count("key.issued"), prepared.partners.len());

    let key = |role: Role| {
        prepared
            .partners
            .iter()
            .find(|p| p.role == role)
            .unwrap()
            .key
            .clone()
    };
    // The consents dated as the printed instructions date theirs, which the bounds must accept.
    let printed = |field: &str, len: usize| {
        let from = text.find(&format!("\"{field}\":\"")).expect(field) + field.len() + 4;
        text[from..from + len].to_owned()
    };
    let (signed_at, valid_until) = (printed("signed_at", 20), printed("valid_until", 10));
    assert_eq!(
        signed_at, "2026-11-28T00:00:00Z",
        "signed on the clock's day"
    );
    for (product, subject, role, purpose) in [
        (
            "sme",
            prepared.sample_enterprise.clone(),
            Role::Bank,
            "loan_application",
        ),
        (
            "farmer",
            prepared.sample_household.clone(),
            Role::Insurer,
            "underwriting",
        ),
    ] {
        let key = key(role);
        let (status, consent) = app
            .register_consent(
                &key,
                json!({
                    "subject": subject, "purpose": purpose, "valid_until": valid_until,
                    "evidence_sha256": "c".repeat(64), "signed_at": signed_at
                }),
            )
            .await;
        assert_eq!(status, 201, "{product}");
        let consent_id = consent["consent_id"].as_str().unwrap();
        let (status, s) = app
            .score(&key, score_body(product, &subject, purpose, consent_id))
            .await;
        assert_eq!(status, 503, "{product}");
        assert!(
            s["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("no champion model for {product}")),
            "{s}"
        );
    }

    // Run again on the same data directory: the city is reused, old demo keys are revoked.
    let again = demo::prepare(&app.state, &data_dir, &size).await.unwrap();
    let old_bank = key(Role::Bank);
    assert!(app
        .state
        .db
        .partner_by_key(&old_bank)
        .await
        .unwrap()
        .is_some_and(|(p, _)| !p.active));
    assert_ne!(again.partners[0].key, prepared.partners[0].key);
    // The same console accounts, new passwords: the first run's no longer open them.
    for (first, second) in prepared.console_users.iter().zip(&again.console_users) {
        assert_eq!(first.name, second.name);
        assert_ne!(first.password, second.password);
        let mut c = crate::common::console::ConsoleClient::new(&app);
        assert_eq!(c.sign_in(&first.name, &first.password).await.status, 401);
        assert_eq!(c.sign_in(&second.name, &second.password).await.status, 303);
    }
    let added: Vec<Value> = crate::common::audit_entries(&app.state.db)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "console.user_added")
        .collect();
    assert_eq!(added.len(), 6, "three added, three given new passwords");
    assert!(added[3..].iter().all(|e| e["password_reset"] == true));
    assert!(!added
        .iter()
        .any(|e| e.to_string().contains(&again.console_users[0].password)));
    app.sequence().await;
    let v = creditbridge::audit::verify(&app.state.db, &app.verifier(), &[])
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
}
