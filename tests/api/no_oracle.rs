//! No membership oracle, no forged labels (issue 17): a bank's loan outcomes are taken only for
//! subjects it holds a consent for; every other row gets one generic reason, the same whether the
//! subject exists or not, and the refusal is audited as counts and digests. Admins, who own the
//! registers, keep the precise messages.

use serde_json::Value;

use crate::common::fixtures::{self, RESIDENT, USCC};
use crate::common::{backends, TestApp};

const HEADER: &str =
    "loan_id,product,subject_id,disbursed_on,amount,term_months,defaulted,defaulted_on\n";

/// A valid resident id (GB 11643 check character) for a head born in 1960–1979.
fn resident_id(n: u32) -> String {
    let body = format!(
        "440825{}{:02}{:02}{:03}",
        1960 + n % 20,
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// 10,000 made-up household heads and `extra`, then one row that is bad in itself (amount 0)
/// so that nothing would be stored.
fn probe(extra: &str) -> String {
    let mut csv = String::from(HEADER);
    for n in 0..10_000u32 {
        csv.push_str(&format!(
            "P-{n},farmer,{},2026-01-10,50000,12,true,2026-06-01\n",
            resident_id(n)
        ));
    }
    csv.push_str(&format!(
        "P-X,farmer,{extra},2026-01-10,50000,12,true,2026-06-01\n"
    ));
    csv.push_str(&format!("P-BAD,sme,{USCC},2026-01-10,0,12,false,\n"));
    csv
}

async fn upload(app: &TestApp, key: &str, csv: String) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/v1/feeds/loan-outcomes"))
        .bearer_auth(key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// What the answer tells, less the request's own id.
fn told(mut answer: Value) -> Value {
    answer["error"]
        .as_object_mut()
        .unwrap()
        .remove("request_id");
    answer
}

#[tokio::test]
async fn the_oracle_of_the_issue_learns_nothing_about_who_exists() {
    for backend in backends() {
        // Arrange: one real household head (RESIDENT) among the candidates, or a made-up one.
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        let bank = app.partner("bank").await;
        let made_up = resident_id(20_000);
        assert_ne!(made_up, RESIDENT);

        // Act
        let (status_real, real) = upload(&app, &bank.key, probe(RESIDENT)).await;
        let (status_none, none) = upload(&app, &bank.key, probe(&made_up)).await;

        // Assert: the two answers are the same, word for word.
        assert_eq!((status_real, status_none), (422, 422));
        assert_eq!(
            told(real.clone()),
            told(none),
            "the answer depends on who exists"
        );
        // 10,002 rows not the bank's (the last one's subject too) and the zero amount.
        assert_eq!(real["error"]["details"]["errors_total"], 10_003);
        let reasons: std::collections::BTreeSet<&str> = real["error"]["details"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reason"].as_str().unwrap())
            .collect();
        assert_eq!(reasons.len(), 1, "one generic reason: {reasons:?}");
        assert!(reasons
            .iter()
            .next()
            .unwrap()
            .contains("holds a consent for"));
        assert!(!real.to_string().contains(RESIDENT));
        let loans: i64 = creditbridge::with_db!(&app.state.db, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM loans").fetch_one(p).await)
        .unwrap();
        assert_eq!(loans, 0);

        // The refusals are audited for the bank, as counts and digests only.
        let refusals: Vec<Value> = crate::common::audit_entries(&app.state.db)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "feed.refused" && !e["not_eligible"].is_null())
            .collect();
        assert_eq!(refusals.len(), 2);
        let (first, second) = (&refusals[0]["not_eligible"], &refusals[1]["not_eligible"]);
        assert_eq!(refusals[0]["partner_id"], bank.id.as_str());
        assert_eq!(first["rows"], 10_002);
        assert_eq!(first["subjects_sha256"].as_str().unwrap().len(), 64);
        assert_ne!(first["subjects_sha256"], second["subjects_sha256"]);
        let subject_key = app.state.pii.subject_key(RESIDENT);
        assert!(refusals.iter().all(|e| {
            let text = e.to_string();
            !text.contains(RESIDENT) && !text.contains(&subject_key)
        }));

        // An admin owns the registers and keeps the precise message.
        let admin = app.partner_key("admin").await;
        let (status, answer) = upload(&app, &admin, probe(RESIDENT)).await;
        assert_eq!(status, 422);
        // 10,000 unknown heads and the zero amount: the real head is known to an admin.
        assert_eq!(answer["error"]["details"]["errors_total"], 10_001);
        assert!(answer
            .to_string()
            .contains("no household with this head is known"));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_bank_reports_outcomes_only_for_subjects_it_holds_a_consent_for() {
    for backend in backends() {
        // Arrange: both subjects exist; bank A holds a consent for the enterprise only.
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        let a = app.partner("bank").await;
        let b = app.partner("bank").await;
        app.consent(&a.key, USCC, "loan_application").await;
        let forged = format!("{HEADER}F-1,farmer,{RESIDENT},2026-01-10,50000,12,true,2026-06-01\n");
        let own = format!("{HEADER}L-1,sme,{USCC},2026-01-10,500000,12,false,\n");

        // Act / Assert: a default posted for a household A never lent to is refused...
        let (status, answer) = upload(&app, &a.key, forged).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer.to_string().contains("holds a consent for"));
        // ...as is B's outcome for A's customer...
        let (status, _) = upload(&app, &b.key, own.clone()).await;
        assert_eq!(status, 422);
        // ...while A's own outcome is stored.
        let (status, answer) = upload(&app, &a.key, own).await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["rows"], 1);
        app.stop().await;
    }
}

#[test]
fn the_made_up_ids_are_valid_resident_ids() {
    for n in [0, 1, 999, 10_000, 20_000] {
        assert!(
            creditbridge::domain::ResidentId::parse_as_of(
                &resident_id(n),
                crate::common::test_today()
            )
            .is_ok(),
            "{n}"
        );
    }
}
