//! The retention purge as operators run it (`maintenance purge`): a dry run counts exactly what
//! an applied run deletes and deletes nothing; a date after today is refused; every run, dry or
//! applied, is in the audit trail with its counts.

use crate::common::{backends, fixtures, TestApp};
use creditbridge::clock::Clock;
use creditbridge::domain::FeedKind;
use creditbridge::feeds::maintenance::{purge, PurgeError};
use serde_json::Value;

/// Two dishonest-debtor listings that ended in 2019 and 2020 (past the 5-year retention on the
/// test clock's 2026-11-28) and one still displayed.
const RECORDS: &str =
    "record_id,subject_type,subject_id,kind,severity,listed_at,display_until,repaired_at\n\
    OLD-1,enterprise,91110000600037341L,dishonest_debtor,normal,2017-01-01,2019-06-01,\n\
    OLD-2,enterprise,91110000600037341L,admin_penalty,normal,2018-01-01,2020-01-01,\n\
    NEW-1,enterprise,91110000600037341L,dishonest_debtor,normal,2026-10-01,2028-10-01,\n";

async fn purge_records(app: &TestApp) -> Vec<Value> {
    crate::common::audit_entries(&app.state.db)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "purge")
        .collect()
}

#[tokio::test]
async fn a_dry_run_counts_what_a_purge_deletes_and_deletes_nothing() {
    for backend in backends() {
        // Arrange
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        fixtures::feed_named(&app.state, "public-records", RECORDS).await;
        let (db, audit) = (&app.state.db, &app.state.audit);
        let before = db.count_rows(FeedKind::PublicRecords).await.unwrap();

        // Act
        let preview = purge(db, audit, app.clock.now(), None, true).await.unwrap();
        let unchanged = db.count_rows(FeedKind::PublicRecords).await.unwrap();
        let applied = purge(db, audit, app.clock.now(), None, false)
            .await
            .unwrap();

        // Assert
        assert!(preview.dry_run && !applied.dry_run);
        assert_eq!(preview.public_records, 2, "{preview:?}");
        assert_eq!(unchanged, before, "a dry run deletes nothing");
        assert_eq!(
            (
                applied.public_records,
                applied.loan_defaults,
                applied.tax_grades,
                applied.late_tax_months
            ),
            (
                preview.public_records,
                preview.loan_defaults,
                preview.tax_grades,
                preview.late_tax_months
            ),
        );
        assert_eq!(
            db.count_rows(FeedKind::PublicRecords).await.unwrap(),
            before - 2
        );
        let records = purge_records(&app).await;
        assert_eq!(records.len(), 2, "both runs are audited");
        assert_eq!(records[0]["outcome"], "dry_run");
        assert_eq!(records[1]["outcome"], "applied");
        assert_eq!(records[1]["detail"]["public_records"], 2);
        assert_eq!(records[1]["detail"]["cutoff"], "2021-11-28");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_purge_measured_from_a_date_after_today_is_refused_and_deletes_nothing() {
    for backend in backends() {
        // Arrange: on a copy, `--today 2035` once wiped about 30k records that were still owed.
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        fixtures::feed_named(&app.state, "public-records", RECORDS).await;
        let db = &app.state.db;
        let before = db.count_rows(FeedKind::PublicRecords).await.unwrap();
        let future = "2035-01-01".parse().unwrap();

        // Act
        let refused = purge(db, &app.state.audit, app.clock.now(), Some(future), false).await;

        // Assert
        let err = refused.unwrap_err();
        assert!(matches!(err, PurgeError::FutureDate { .. }), "{err}");
        assert!(err.to_string().contains("2035-01-01") && err.to_string().contains("2026-11-28"));
        assert_eq!(
            db.count_rows(FeedKind::PublicRecords).await.unwrap(),
            before
        );
        assert!(purge_records(&app).await.is_empty());

        // An earlier date is the operator's to choose: measured from it, nothing recent goes.
        let earlier = "2024-12-31".parse().unwrap();
        let p = purge(db, &app.state.audit, app.clock.now(), Some(earlier), false)
            .await
            .unwrap();
        assert_eq!(p.public_records, 1, "only the listing that ended in 2019");
        app.stop().await;
    }
}
