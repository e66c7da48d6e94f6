//! The storage scenario on every backend: each table's kind of row goes in and comes back,
//! a grade is superseded with both versions kept, a household is stored under its keyed hash.

use crate::common::fixtures::{self, feed, RESIDENT, USCC};
use crate::common::{backends, test_db, TestApp};
use creditbridge::audit::{Actor, AuditEvent, AuditSubject, EventKind};
use creditbridge::domain::{Product, Purpose, Role, SubjectId};
use creditbridge::features;
use creditbridge::feeds::FeedKind;
use creditbridge::storage::consents::NewConsent;

#[tokio::test]
async fn every_kind_of_row_round_trips_on_every_backend() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let (state, db) = (&app.state, &app.state.db);
        fixtures::seed_subjects(state).await;
        feed(state, FeedKind::LoanOutcomes, &format!(
            "loan_id,product,subject_id,disbursed_on,amount,term_months,defaulted,defaulted_on\n\
             L-1,sme,{USCC},2025-01-10,300000,12,true,2025-09-01\nL-2,farmer,{RESIDENT},2025-02-01,50000,12,,\n"
        )).await;

        // Reference data from the feeds.
        let e = db.enterprise(USCC).await.unwrap().expect("enterprise");
        assert_eq!(
            (e.region_code.as_str(), e.industry.as_str()),
            ("440802", "F")
        );
        let grades = db.grade_history(USCC).await.unwrap();
        assert_eq!(
            grades.iter().map(|g| g.grade.as_str()).collect::<Vec<_>>(),
            ["A", "B"]
        );
        let payments = db.tax_payments(USCC, "2000-01", "2100-12").await.unwrap();
        assert_eq!(payments.len(), 24, "{backend:?}");

        // Superseding keeps both versions and points the old at the new.
        feed(
            state,
            FeedKind::TaxGrades,
            &format!(
            "uscc,year,grade,score,direct_d,effective_from\n{USCC},2025,C,55,false,2026-04-20\n"
        ),
        )
        .await;
        let grades = db.grade_history(USCC).await.unwrap();
        let of_2025: Vec<_> = grades.iter().filter(|g| g.year == 2025).collect();
        assert_eq!(of_2025.len(), 2, "both versions are kept");
        let (old, new) = (of_2025[0], of_2025[1]);
        assert_eq!((old.grade.as_str(), new.grade.as_str()), ("B", "C"));
        assert_eq!(old.superseded_by, Some(new.id));
        assert_ne!(old.batch_id, new.batch_id);
        let june = "2026-06-01".parse().unwrap();
        let facts = creditbridge::storage::facts::sme_facts(db, USCC, june)
            .await
            .unwrap();
        let in_force = features::sme::grade_at(&facts.grades, june).unwrap();
        assert_eq!(in_force.grade.as_str(), "C");

        // A household is found by its keyed hash, with only the last 4 characters in clear.
        let key = state
            .pii
            .subject_ref(&SubjectId::parse(RESIDENT, crate::common::test_today()).unwrap())
            .key;
        let h = db.household(&key).await.unwrap().expect("household");
        assert_eq!(
            (h.id_last4.as_str(), h.birth_year, h.members),
            ("002X", 1949, 4)
        );
        assert_eq!(db.assessment_history(&key).await.unwrap().len(), 1);
        let today = crate::common::test_now().date_naive();
        let facts = creditbridge::storage::facts::sme_facts(db, USCC, today)
            .await
            .unwrap();
        assert_eq!(
            facts.records.iter().filter(|r| r.counts_at(today)).count(),
            1
        );
        let loans = db.loans_of(USCC).await.unwrap();
        assert_eq!((loans.len(), loans[0].defaulted), (1, Some(true)));
        assert_eq!(
            db.loans_of(&key).await.unwrap()[0].defaulted,
            None,
            "outcome not yet known"
        );

        // Partners, consents, the audit trail, the registry, monitoring observations.
        let p = db
            .add_partner("湛江农商银行", Role::Bank, crate::common::test_now())
            .await
            .unwrap();
        assert_eq!(
            db.partner_by_key(&p.key).await.unwrap().unwrap().0.name,
            "湛江农商银行"
        );
        let subject = state
            .pii
            .subject_ref(&SubjectId::parse(USCC, crate::common::test_today()).unwrap());
        let cid = db
            .add_consent(&NewConsent {
                partner_id: &p.id,
                subject_type: subject.subject_type,
                subject_key: &subject.key,
                subject_masked: &subject.masked,
                purpose: Purpose::LoanApplication,
                valid_until: "2027-12-31".parse().unwrap(),
                evidence_sha256: &"d".repeat(64),
                signed_at: crate::common::test_now(),
                created_at: crate::common::test_now(),
            })
            .await
            .unwrap();
        let c = db.consent(&cid).await.unwrap();
        assert_eq!(
            (c.partner_id.as_str(), c.purpose.as_str()),
            (p.id.as_str(), "loan_application")
        );
        db.revoke_consent(&cid, crate::common::test_now())
            .await
            .unwrap();
        assert!(db.consent(&cid).await.unwrap().revoked_at.is_some());
        assert!(matches!(
            db.revoke_consent(&cid, crate::common::test_now()).await,
            Err(creditbridge::storage::StoreError::Conflict(_))
        ));

        let keyed_hash = state.pii.subject_key(USCC);
        let ev = AuditEvent::new(
            EventKind::ScoreDelivered,
            Actor::System,
            crate::common::test_now(),
        )
        .subject(AuditSubject {
            keyed_hash: keyed_hash.clone(),
            last4: "0001".into(),
        });
        state.audit.record(ev).await.unwrap();
        assert_eq!(
            db.ledger_for_subject(&keyed_hash, 10).await.unwrap().len(),
            1,
            "not yet sequenced, found in the log's tail"
        );

        fixtures::install_champion(state, "sme", "sme-store-1", 9).await;
        let m = db.champion("sme").await.unwrap().unwrap();
        assert_eq!(
            (m.id.as_str(), m.status.as_str()),
            ("sme-store-1", "champion")
        );
        assert!(
            training::Model::from_json(&m.artifact).is_ok(),
            "the artifact loads back"
        );
        assert!(state.champions.get(Product::Sme).is_some());
        app.stop().await;
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_a_second_connection_sees_the_same_schema() {
    for backend in backends() {
        let t = test_db(backend).await;
        t.db.migrate()
            .await
            .expect("re-running migrations is a no-op");
        let again = creditbridge::storage::Db::connect(&t.url, 2).await.unwrap();
        again.ping().await.unwrap();
        assert_eq!(again.dialect(), t.db.dialect());
    }
}

#[tokio::test]
async fn an_unsupported_url_is_a_clear_error() {
    let err = creditbridge::storage::Db::connect("mysql://localhost/x", 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sqlite://"), "{err}");
}
