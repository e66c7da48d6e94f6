//! The storage scenario on every backend: each table's kind of row goes in and comes back,
//! a grade is superseded with both versions kept, a household is stored under its keyed hash.

use crate::common::fixtures::{self, feed, RESIDENT, USCC};
use crate::common::{backends, test_db, TestApp};
use creditbridge::audit::AuditEvent;
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
            .subject_ref(&SubjectId::parse(RESIDENT).unwrap())
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
        let subject = state.pii.subject_ref(&SubjectId::parse(USCC).unwrap());
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

        let mut ev = AuditEvent::new("evt-1", "score", crate::common::test_now());
        ev.subject_key = Some(subject.key.clone());
        state.audit.record(ev).await.unwrap();
        assert_eq!(
            db.audit_for_subject(&subject.key, 10).await.unwrap().len(),
            1
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

#[tokio::test]
async fn a_subjects_history_joins_the_indexed_rows_and_the_logs_tail() {
    use creditbridge::audit::chain_hash;
    use creditbridge::storage::audit::append;
    for backend in backends() {
        // Arrange: 7 events for subject a, 5 for b, interleaved, appended beside the audit
        // writer (which indexes only what it wrote itself), so no indexer runs but the test's.
        let t = test_db(backend).await;
        let state = &crate::common::state_over(&t).await;
        let db = &state.db;
        let record = |i: usize| {
            let mut ev = AuditEvent::new(format!("evt-{i}"), "score", crate::common::test_now());
            ev.subject_key = Some(
                if i.is_multiple_of(2) || i > 9 {
                    "a"
                } else {
                    "b"
                }
                .to_owned(),
            );
            ev
        };
        for i in 0..6 {
            append(db, None, &[record(i).to_pending()], &[], chain_hash)
                .await
                .unwrap();
        }
        // Act: part of the log is indexed, a batch of 4 (twice, so one batch is partial).
        assert_eq!(db.audit_index_subjects_batch(4).await.unwrap(), 4);
        for i in 6..12 {
            append(db, None, &[record(i).to_pending()], &[], chain_hash)
                .await
                .unwrap();
        }
        let ids = |rows: Vec<creditbridge::storage::audit::AuditRow>| {
            rows.into_iter().map(|r| r.event_id).collect::<Vec<_>>()
        };
        let a_before = ids(db.audit_for_subject("a", 100).await.unwrap());

        // Assert: newest first, every row once, whichever part of the log it sat in.
        assert_eq!(
            a_before,
            ["evt-11", "evt-10", "evt-8", "evt-6", "evt-4", "evt-2", "evt-0"]
        );
        assert_eq!(
            ids(db.audit_for_subject("b", 2).await.unwrap()),
            ["evt-9", "evt-7"]
        );
        // Reading caught the index up; another pass finds nothing to add and nothing changes.
        assert_eq!(db.index_audit_subjects().await.unwrap(), 0);
        assert_eq!(ids(db.audit_for_subject("a", 100).await.unwrap()), a_before);
        // The housekeeping a server runs beside the writer works on either dialect.
        db.checkpoint().await.unwrap();
    }
}

#[tokio::test]
async fn the_writer_chains_after_its_own_head_and_steps_aside_when_the_chain_moved_on() {
    use creditbridge::audit::{chain_hash, verify};
    use creditbridge::storage::audit::{append, append_after, ChainHead};
    for backend in backends() {
        let t = test_db(backend).await;
        let db = &t.db;
        let rows = |from: usize, n: usize| -> Vec<_> {
            (from..from + n)
                .map(|i| {
                    AuditEvent::new(format!("evt-{i}"), "score", crate::common::test_now())
                        .to_pending()
                })
                .collect()
        };
        let chain_after = |head: &ChainHead, from: usize, n: usize| {
            let (head, rows) = (head.clone(), rows(from, n));
            async move {
                append_after(db, &head, &rows, &[], chain_hash)
                    .await
                    .unwrap()
            }
        };
        let count = || async {
            let n: i64 = creditbridge::with_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(p).await).unwrap();
            n
        };

        // A first group the ordinary way, then one after the head it left.
        let (seqs, head) = append(db, None, &rows(0, 3), &[], chain_hash)
            .await
            .unwrap();
        assert_eq!(seqs, [1, 2, 3]);
        let head = match (backend, chain_after(&head, 3, 2).await) {
            (crate::common::Backend::Sqlite, Some((seqs, next))) => {
                assert_eq!(seqs, [4, 5]);
                assert_eq!(next.seq, 5);
                next
            }
            (crate::common::Backend::Postgres, None) => {
                append(db, None, &rows(3, 2), &[], chain_hash)
                    .await
                    .unwrap()
                    .1
            }
            (b, other) => panic!("{b:?}: unexpected {other:?}"),
        };

        // Another writer (a replica) moves the chain on: the stale head is refused, nothing of
        // the group is kept, and the connection is usable for the ordinary append.
        let (_, moved) = append(db, None, &rows(5, 1), &[], chain_hash)
            .await
            .unwrap();
        assert_eq!(moved.seq, 6);
        assert_eq!(chain_after(&head, 6, 2).await, None);
        assert_eq!(count().await, 6);
        let (seqs, head) = append(db, None, &rows(6, 2), &[], chain_hash)
            .await
            .unwrap();
        assert_eq!(seqs, [7, 8]);
        // A head whose sequence number is free but whose hash is not the chain's: only the head
        // update can tell, and it refuses too.
        let forged = ChainHead {
            seq: head.seq,
            hash: "f".repeat(64),
        };
        assert_eq!(chain_after(&forged, 8, 1).await, None);
        assert_eq!(count().await, 8);
        let v = verify(db).await.unwrap();
        assert!(v.ok, "{backend:?}: {v:?}");
        assert_eq!(v.rows_checked, 8);
    }
}

#[tokio::test]
async fn the_audit_writer_indexes_what_it_wrote_once_it_falls_idle() {
    for backend in backends() {
        let t = test_db(backend).await;
        let state = &crate::common::state_over(&t).await;
        for i in 0..5 {
            let mut ev = AuditEvent::new(format!("evt-{i}"), "score", crate::common::test_now());
            ev.subject_key = Some("a".to_owned());
            state.audit.record(ev).await.unwrap();
        }
        // Far fewer rows than a batch between groups: only the idle pass indexes them.
        let mut pending = -1;
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let (upto,): (i64,) = creditbridge::with_db!(&state.db, p => sqlx::query_as(
                "SELECT upto_seq FROM audit_subject_indexed WHERE id = 1").fetch_one(p).await)
            .unwrap();
            pending = 5 - upto;
            if pending == 0 {
                break;
            }
        }
        assert_eq!(pending, 0, "{backend:?}: the writer left rows unindexed");
    }
}
