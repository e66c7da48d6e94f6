//! Imports never stall scoring (issue 18, item 5): a batch is staged in short transactions while
//! invisible and made visible at once. Held between two of its transactions, an import lets
//! scores and revocations through and shows readers nothing of itself; a refused file leaves
//! nothing visible or staged; a batch whose importer died (an aborted task here, `kill -9` of
//! the real binary below) is never visible and is deleted once its lease has run out.
//! SQLite always; PostgreSQL too when TEST_DATABASE_URL is set.

use std::sync::Arc;
use std::time::Duration;

use creditbridge::feeds::{FeedError, FeedKind, FeedRequest, Hooks, Limits, Pause};
use creditbridge::storage::feed_tables::shape_of;
use creditbridge::storage::Db;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::common::fixtures::{self, USCC};
use crate::common::process::{creditbridge, free_port, serve};
use crate::common::{backends, score_body, test_db, test_today, Backend, TestApp};
use crate::feeds_support::uscc;

const PAYMENTS_HEADER: &str = "uscc,period,tax_type,revenue,tax_due,tax_paid,filed_on,paid_on\n";

/// A month `back` months before the fixtures' day, as `YYYY-MM`, and the 10th of the month after
/// it (on time).
fn month(back: u32) -> (String, String) {
    let m = test_today() - chrono::Months::new(back);
    let filed = (m + chrono::Months::new(1)).format("%Y-%m-10").to_string();
    (m.format("%Y-%m").to_string(), filed)
}

/// Corrections of the fixture enterprise's three late months (now filed on time), then `others`
/// enterprises' payments for the last month: a file that spans several small transactions.
fn corrections_then_others(others: u32) -> String {
    let mut csv = String::from(PAYMENTS_HEADER);
    for back in 1..=3 {
        let (period, filed) = month(back);
        csv.push_str(&format!(
            "{USCC},{period},vat,200000.00,6000.00,6000.00,{filed},{filed}\n"
        ));
    }
    let (period, filed) = month(1);
    for n in 0..others {
        csv.push_str(&format!(
            "{},{period},vat,1000.00,30.00,30.00,{filed},{filed}\n",
            uscc(n)
        ));
    }
    csv
}

fn request(app: &TestApp, path: &std::path::Path, key: Option<&str>, per_tx: u64) -> FeedRequest {
    FeedRequest {
        kind: FeedKind::TaxPayments,
        source: "cli".into(),
        idempotency_key: key.map(str::to_owned),
        path: path.to_owned(),
        format: None,
        received_at: app.state.clock.now(),
        limits: Limits {
            rows_per_transaction: per_tx,
            ..Default::default()
        },
        sender: None,
    }
}

/// A pause after every staging transaction: reports the rows staged so far on the returned
/// receiver, then waits until the test sends on the channel it got with them.
fn held() -> (Pause, mpsc::Receiver<(u64, oneshot::Sender<()>)>) {
    let (report, reports) = mpsc::channel(1);
    let report = Arc::new(Mutex::new(report));
    let pause: Pause = Arc::new(move |staged| {
        let report = report.clone();
        Box::pin(async move {
            let (go, wait) = oneshot::channel();
            let _ = report.lock().await.send((staged, go)).await;
            let _ = wait.await;
        })
    });
    (pause, reports)
}

/// The fixture enterprise's months that were filed after the deadline, as readers see them;
/// asserts on the way that readers see each of its 24 months once (one version per key).
async fn late_months(db: &Db) -> usize {
    let (from, _) = month(24);
    let (to, _) = month(1);
    let months = db.tax_payments(USCC, &from, &to).await.unwrap();
    assert_eq!(months.len(), 24, "one version of each month: {months:?}");
    months
        .iter()
        .filter(|p| p.filed_on.format("%d").to_string() == "28")
        .count()
}

fn late_filing_reason(score: &serde_json::Value) -> bool {
    score["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["characteristic"] == "late_filing_months_24m")
}

async fn ready_app(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-test-1", 1).await;
    app
}

#[tokio::test]
async fn an_import_held_between_transactions_lets_scores_and_revocations_through_and_shows_nothing()
{
    for backend in backends() {
        // Arrange: a scored enterprise with three late months; a correction of them followed by
        // 40 other enterprises' rows, staged 5 rows per transaction.
        let app = ready_app(backend).await;
        let bank = app.partner_key("bank").await;
        let other_bank = app.partner("bank").await;
        let consent = app.consent(&bank, USCC, "loan_application").await;
        let spare = app.consent(&bank, USCC, "post_loan").await;
        let (status, before) = app
            .score(&bank, score_body("sme", USCC, "loan_application", &consent))
            .await;
        assert_eq!(status, 200, "{backend:?} {before}");
        assert!(late_filing_reason(&before), "{before}");
        let rows_before = app
            .state
            .db
            .count_rows(FeedKind::TaxPayments)
            .await
            .unwrap();
        let batches_before = app.state.db.count_batches().await.unwrap();
        let path = app.test_db.dir.path().join("corrections.csv");
        std::fs::write(&path, corrections_then_others(40)).unwrap();
        let (pause, mut reports) = held();

        // Act: the import stops after its first transaction (the corrections are staged).
        let state = app.state.clone();
        let req = request(&app, &path, Some("corrections-1"), 5);
        let import = tokio::spawn(async move {
            let hooks = Hooks {
                progress: None,
                between_transactions: Some(pause),
            };
            state.import_feed_with(req, hooks).await
        });
        let (staged, go) = reports
            .recv()
            .await
            .expect("the import stages a transaction");
        assert_eq!(staged, 5, "{backend:?}: the first transaction's rows");
        let db = &app.state.db;
        assert!(
            db.staged_rows(shape_of(FeedKind::TaxPayments))
                .await
                .unwrap()
                >= 5,
            "{backend:?}: the rows are in the table, staged"
        );

        // Assert: readers see nothing of the batch, not even its corrected months.
        assert_eq!(
            db.count_rows(FeedKind::TaxPayments).await.unwrap(),
            rows_before
        );
        assert_eq!(db.count_batches().await.unwrap(), batches_before);
        assert_eq!(
            late_months(db).await,
            3,
            "{backend:?}: the corrections are not visible"
        );
        // Scores are delivered (each with its audit entry written) and see the old facts.
        for _ in 0..3 {
            let (status, s) = app
                .score(&bank, score_body("sme", USCC, "loan_application", &consent))
                .await;
            assert_eq!(status, 200, "{backend:?} {s}");
            assert_eq!(s["score"], before["score"], "{backend:?}");
            assert!(late_filing_reason(&s), "{backend:?} {s}");
        }
        // A consent and a partner key are revoked.
        let (status, revoked) = app.revoke_consent(&bank, &spare).await;
        assert_eq!(status, 200, "{backend:?} {revoked}");
        app.state
            .revoke_partner_key(&other_bank.key_id, creditbridge::audit::Actor::operator())
            .await
            .expect("a key is revoked while the import waits");
        // The same file under the same key meanwhile: not replayed, not stored twice.
        let again = app
            .state
            .import_feed(request(&app, &path, Some("corrections-1"), 5), None)
            .await;
        assert!(
            matches!(again, Err(FeedError::InProgress { .. })),
            "{backend:?}: {again:?}"
        );

        // Act: let the import run to its end.
        let _ = go.send(());
        let releaser = tokio::spawn(async move {
            while let Some((_, go)) = reports.recv().await {
                let _ = go.send(());
            }
        });
        let accepted = import.await.unwrap().expect("the batch is accepted");
        releaser.abort();

        // Assert: the whole batch at once, its replaced versions gone, nothing left staged.
        assert_eq!(accepted.result.rows, 43);
        assert_eq!(
            db.count_rows(FeedKind::TaxPayments).await.unwrap(),
            rows_before + 40,
            "{backend:?}: three corrections replace, forty rows are new"
        );
        assert_eq!(
            db.count_stored_rows(FeedKind::TaxPayments).await.unwrap(),
            rows_before + 40,
            "{backend:?}: the replaced versions were deleted"
        );
        assert_eq!(
            db.staged_rows(shape_of(FeedKind::TaxPayments))
                .await
                .unwrap(),
            0
        );
        assert!(db.unfinished_batches().await.unwrap().is_empty());
        assert_eq!(
            late_months(db).await,
            0,
            "{backend:?}: the corrections are visible"
        );
        let (status, after) = app
            .score(&bank, score_body("sme", USCC, "loan_application", &consent))
            .await;
        assert_eq!(status, 200, "{backend:?} {after}");
        assert!(
            after["score"] != before["score"] || !late_filing_reason(&after),
            "{backend:?}: the score uses the corrected months at once: {before} {after}"
        );
        // And now the same key replays the answer.
        let replay = app
            .state
            .import_feed(request(&app, &path, Some("corrections-1"), 5), None)
            .await
            .expect("a replay");
        assert!(replay.replayed);
        assert_eq!(replay.result.batch_id, accepted.result.batch_id);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_file_refused_at_its_last_row_leaves_nothing_visible_and_nothing_staged() {
    for backend in backends() {
        // Arrange: 30 valid rows, staged 4 per transaction, then a month that does not exist.
        let app = ready_app(backend).await;
        let db = &app.state.db;
        let rows_before = db.count_rows(FeedKind::TaxPayments).await.unwrap();
        let stored_before = db.count_stored_rows(FeedKind::TaxPayments).await.unwrap();
        let batches_before = db.count_batches().await.unwrap();
        let mut csv = corrections_then_others(27);
        let (period, _) = month(1);
        csv.push_str(&format!(
            "{},{period},vat,1.00,0,0,2026-02-30,\n",
            uscc(900)
        ));
        let path = app.test_db.dir.path().join("bad-last.csv");
        std::fs::write(&path, &csv).unwrap();
        let (pause, mut reports) = held();
        let state = app.state.clone();
        let req = request(&app, &path, Some("bad-last"), 4);
        let import = tokio::spawn(async move {
            let hooks = Hooks {
                progress: None,
                between_transactions: Some(pause),
            };
            state.import_feed_with(req, hooks).await
        });
        // The rows before the bad one were staged (seen between two transactions) ...
        let mut staged_seen = 0;
        while let Some((staged, go)) = reports.recv().await {
            if staged_seen == 0 {
                staged_seen = db
                    .staged_rows(shape_of(FeedKind::TaxPayments))
                    .await
                    .unwrap();
                assert_eq!(
                    db.count_rows(FeedKind::TaxPayments).await.unwrap(),
                    rows_before,
                    "{backend:?}"
                );
            }
            assert!(staged <= 30, "{backend:?}");
            let _ = go.send(());
        }
        assert!(
            staged_seen >= 4,
            "{backend:?}: rows were staged before the refusal"
        );

        // Act: the import ends.
        let refused = import.await.unwrap();

        // Assert: refused with the line and column, and nothing of it is left anywhere.
        let Err(FeedError::Invalid { errors, .. }) = refused else {
            panic!("{backend:?}: expected a refusal, got {refused:?}");
        };
        assert_eq!(errors[0].line, 32, "{backend:?}: {errors:?}");
        assert_eq!(errors[0].column.as_deref(), Some("filed_on"));
        assert_eq!(
            db.count_rows(FeedKind::TaxPayments).await.unwrap(),
            rows_before
        );
        assert_eq!(
            db.count_stored_rows(FeedKind::TaxPayments).await.unwrap(),
            stored_before,
            "{backend:?}: the staged rows were deleted"
        );
        assert_eq!(db.count_batches().await.unwrap(), batches_before);
        assert!(db.unfinished_batches().await.unwrap().is_empty());
        assert_eq!(late_months(db).await, 3);
        // The key is free again: the corrected file is accepted under it.
        csv.truncate(csv.trim_end().rfind('\n').unwrap() + 1);
        std::fs::write(&path, &csv).unwrap();
        let accepted = app
            .state
            .import_feed(request(&app, &path, Some("bad-last"), 4), None)
            .await
            .expect("the corrected file under the same key");
        assert_eq!(accepted.result.rows, 30);
        assert!(!accepted.replayed);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_batch_whose_importer_died_is_never_visible_and_is_deleted_once_its_lease_ran_out() {
    for backend in backends() {
        // Arrange: an import stopped for good between two transactions (its task aborted, as a
        // process dies: no clean-up runs).
        let app = ready_app(backend).await;
        let db = &app.state.db;
        let rows_before = db.count_rows(FeedKind::TaxPayments).await.unwrap();
        let stored_before = db.count_stored_rows(FeedKind::TaxPayments).await.unwrap();
        let path = app.test_db.dir.path().join("abandoned.csv");
        std::fs::write(&path, corrections_then_others(20)).unwrap();
        let (pause, mut reports) = held();
        let state = app.state.clone();
        let req = request(&app, &path, Some("abandoned"), 5);
        let import = tokio::spawn(async move {
            let hooks = Hooks {
                progress: None,
                between_transactions: Some(pause),
            };
            state.import_feed_with(req, hooks).await
        });
        let (_, go) = reports.recv().await.unwrap();
        import.abort();
        let _ = import.await;
        drop(go);
        let shape = shape_of(FeedKind::TaxPayments);
        assert_eq!(db.staged_rows(shape).await.unwrap(), 5, "{backend:?}");
        assert_eq!(
            db.count_rows(FeedKind::TaxPayments).await.unwrap(),
            rows_before
        );
        assert_eq!(
            late_months(db).await,
            3,
            "{backend:?}: none of it is visible"
        );
        let lease = Duration::from_secs(600);
        let now = app.state.clock.now();

        // Act & Assert: within its lease the batch is taken for alive and left alone ...
        let done = creditbridge::feeds::staging::finish_abandoned(db, now, lease, 2)
            .await
            .unwrap();
        assert_eq!(done, Default::default(), "{backend:?}");
        assert_eq!(db.staged_rows(shape).await.unwrap(), 5);
        // ... and the same key is still being stored, not replayed.
        let again = app
            .state
            .import_feed(request(&app, &path, Some("abandoned"), 5), None)
            .await;
        assert!(
            matches!(again, Err(FeedError::InProgress { .. })),
            "{again:?}"
        );

        // ... after it, its rows and record are deleted and the key may be sent again.
        let later = now + chrono::Duration::seconds(601);
        let done = creditbridge::feeds::staging::finish_abandoned(db, later, lease, 2)
            .await
            .unwrap();
        assert_eq!(done.discarded, 1, "{backend:?}");
        assert_eq!(db.staged_rows(shape).await.unwrap(), 0);
        assert_eq!(
            db.count_stored_rows(FeedKind::TaxPayments).await.unwrap(),
            stored_before
        );
        assert!(db.unfinished_batches().await.unwrap().is_empty());
        let accepted = app
            .state
            .import_feed(request(&app, &path, Some("abandoned"), 5), None)
            .await
            .expect("the key is free again");
        assert_eq!(accepted.result.rows, 23);
        assert_eq!(late_months(db).await, 0);
        app.stop().await;
    }
}

/// `n` enterprises' payments for 24 months: `24 n` rows.
fn many_payments(n: u32) -> String {
    let mut csv = String::from(PAYMENTS_HEADER);
    let months: Vec<(String, String)> = (1..=24).map(month).collect();
    for e in 0..n {
        let code = uscc(e);
        for (period, filed) in &months {
            csv.push_str(&format!(
                "{code},{period},vat,1000.00,30.00,30.00,{filed},{filed}\n"
            ));
        }
    }
    csv
}

#[tokio::test]
async fn kill_9_of_the_real_binary_mid_import_leaves_nothing_visible_and_the_next_start_deletes_it()
{
    for backend in backends() {
        // Arrange: a database and a file of 240,000 payments for the command-line import.
        let t = test_db(backend).await;
        let d = t.dir.path();
        let file = d.join("payments.csv");
        std::fs::write(&file, many_payments(10_000)).unwrap();
        let shape = shape_of(FeedKind::TaxPayments);
        let mut cmd = creditbridge(d);
        cmd.env("CREDITBRIDGE_DATABASE_URL", &t.url)
            .args(["import", "tax-payments"])
            .arg(&file)
            .arg("--quiet")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut import = crate::common::process::Server(cmd.spawn().expect("start import"));

        // Act: killed once its first transactions are staged.
        let mut staged = 0;
        for _ in 0..6_000 {
            staged = t.db.staged_rows(shape).await.unwrap();
            if staged > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        import.0.kill().unwrap(); // SIGKILL: no destructor, no clean-up
        import.0.wait().unwrap();
        assert!(
            staged > 0,
            "{backend:?}: the import staged rows before it was killed"
        );
        assert!(
            staged < 240_000,
            "{backend:?}: killed mid-import ({staged} rows staged)"
        );

        // Assert: nothing of it is visible ...
        assert_eq!(t.db.count_rows(FeedKind::TaxPayments).await.unwrap(), 0);
        assert_eq!(t.db.count_batches().await.unwrap(), 0);
        assert!(
            t.db.staged_rows(shape).await.unwrap() > 0,
            "its rows are left behind"
        );

        // ... and the next start, after the importer's lease has run out (a day later), deletes
        // its rows and record.
        let mut again = creditbridge(d);
        let day_later = (crate::common::test_now() + chrono::Duration::days(1))
            .format("@%Y-%m-%d %H:%M:%S")
            .to_string();
        again
            .env("CREDITBRIDGE_DATABASE_URL", &t.url)
            .env("FAKETIME", day_later);
        let _server = serve(again, free_port());
        let mut left = i64::MAX;
        for _ in 0..3_000 {
            left = t.db.staged_rows(shape).await.unwrap();
            if left == 0 && t.db.unfinished_batches().await.unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(left, 0, "{backend:?}: the staged rows were deleted");
        assert!(t.db.unfinished_batches().await.unwrap().is_empty());
        assert_eq!(
            t.db.count_stored_rows(FeedKind::TaxPayments).await.unwrap(),
            0
        );
        assert_eq!(t.db.count_batches().await.unwrap(), 0);
    }
}

#[tokio::test]
async fn migration_0013_keeps_every_stored_batch_visible_and_a_later_correction_replaces_it() {
    for backend in backends() {
        // Arrange: a database as deployments held it before staging, with two batches.
        let (e1, e2) = (uscc(1), uscc(2));
        let seed = format!(
            "INSERT INTO feed_batches (id, kind, source, idempotency_key, content_sha256, format, \
                rows_stored, result_json, received_at) VALUES \
             ('01B1', 'enterprises', 'cli', 'k1', 'a', 'csv', 1, '{{}}', '2026-10-01T00:00:00Z'), \
             ('01B2', 'enterprises', 'cli', 'k2', 'b', 'csv', 1, '{{}}', '2026-11-01T00:00:00Z');
             INSERT INTO enterprises (uscc, name, region_code, industry, size, founded_on, batch_id) VALUES \
             ('{e1}', 'old name', '440802', 'C', 'small', '2010-01-01', '01B1'), \
             ('{e2}', 'second', '440802', 'F', 'micro', '2012-01-01', '01B2');"
        );
        let (url, dir) = crate::common::db_before_migration(backend, 13, &seed).await;

        // Act: the new binary's migrations run.
        let db = Db::connect(&url, 2).await.expect("migrate");

        // Assert: both batches are visible, in the order received, with their rows.
        assert_eq!(db.count_batches().await.unwrap(), 2, "{backend:?}");
        assert_eq!(db.feed_batch("01B1").await.unwrap().visible_seq, Some(1));
        assert_eq!(db.feed_batch("01B2").await.unwrap().visible_seq, Some(2));
        assert_eq!(db.count_rows(FeedKind::Enterprises).await.unwrap(), 2);
        assert_eq!(db.enterprise(&e1).await.unwrap().unwrap().name, "old name");

        // And a correction imported now replaces the migrated row.
        let path = dir.path().join("correction.csv");
        std::fs::write(
            &path,
            format!("uscc,name,region_code,industry,size,founded_on,closed_on\n{e1},new name,440802,C,small,2010-01-01,\n"),
        )
        .unwrap();
        let req = FeedRequest {
            kind: FeedKind::Enterprises,
            source: "cli".into(),
            idempotency_key: None,
            path,
            format: None,
            received_at: crate::common::test_now(),
            limits: Limits::default(),
            sender: None,
        };
        let pii = creditbridge::pii::PiiKey::new(crate::common::TEST_PII_KEY.as_bytes()).unwrap();
        creditbridge::feeds::import(&db, &pii, req, None)
            .await
            .expect("the correction is accepted");
        assert_eq!(db.enterprise(&e1).await.unwrap().unwrap().name, "new name");
        assert_eq!(db.count_rows(FeedKind::Enterprises).await.unwrap(), 2);
        assert_eq!(
            db.count_stored_rows(FeedKind::Enterprises).await.unwrap(),
            2,
            "{backend:?}: the migrated version was deleted after the flip"
        );
        db.close().await;
    }
}
