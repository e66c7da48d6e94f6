//! `POST /v1/feeds/{kind}` end to end on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

use crate::common::{backends, TestApp};
use crate::feeds_support::{city, uscc, Table};
use creditbridge::domain::FeedKind;
use reqwest::StatusCode;

const CSV: &str = "text/csv";
const JSONL: &str = "application/x-ndjson";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn count(app: &TestApp, kind: FeedKind) -> i64 {
    app.state.db.count_rows(kind).await.unwrap()
}

async fn batches(app: &TestApp) -> i64 {
    app.state.db.count_batches().await.unwrap()
}

#[tokio::test]
async fn every_kind_is_accepted_in_every_format() {
    for backend in backends() {
        for (format, ct) in [("csv", CSV), ("jsonl", JSONL), ("xlsx", XLSX)] {
            let app = TestApp::spawn(backend).await;
            let admin = app.partner_key("admin").await;
            for (kind, table) in city() {
                let body = match format {
                    "csv" => table.csv(),
                    "jsonl" => table.jsonl(),
                    _ => table.xlsx(),
                };
                let (status, _, json) = app.feed(&admin, kind, Some(ct), None, body).await;
                assert_eq!(
                    status,
                    StatusCode::CREATED,
                    "{backend:?} {format} {kind}: {json}"
                );
                assert_eq!(json["rows"], 2, "{format} {kind}");
                assert_eq!(json["format"], format);
                assert_eq!(
                    count(&app, kind.parse().unwrap()).await,
                    2,
                    "{format} {kind}"
                );
            }
            // The values survive every format unchanged (money as exact fen).
            let paid = app
                .state
                .db
                .tax_payments(&uscc(1), "2024-01", "2024-01")
                .await
                .unwrap();
            assert_eq!(
                (paid[0].revenue, paid[0].tax_paid),
                (12_000_050, 360_002),
                "{format}"
            );
            app.stop().await;
        }
    }
}

#[tokio::test]
async fn the_format_is_sniffed_when_no_content_type_is_given() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let admin = app.partner_key("admin").await;
    let (_, t) = city().remove(0);
    for body in [t.csv(), t.jsonl(), t.xlsx()] {
        let (status, _, json) = app.feed(&admin, "enterprises", None, None, body).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
    }
    app.stop().await;
}

#[tokio::test]
async fn each_role_may_send_only_its_own_feeds() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let bank = app.partner_key("bank").await;
    let tax = app.partner_key("tax_bureau").await;
    let (_, t) = city().remove(0);
    let (status, _, json) = app
        .feed(&bank, "enterprises", Some(CSV), None, t.csv())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json["error"]["code"], "role_not_allowed");
    let (status, _, _) = app.feed(&tax, "households", Some(CSV), None, t.csv()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .feed(&tax, "enterprises", Some(CSV), None, t.csv())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let resp = app
        .client
        .post(app.url("/v1/feeds/enterprises"))
        .body(t.csv())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, _, _) = app.feed(&tax, "weather", Some(CSV), None, t.csv()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(count(&app, FeedKind::Enterprises).await, 2);
    app.stop().await;
}

#[tokio::test]
async fn a_replay_returns_the_original_result_and_a_changed_body_under_the_same_key_is_a_conflict()
{
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let tax = app.partner_key("tax_bureau").await;
        let (_, t) = city().remove(0);
        let (s1, _, first) = app
            .feed(&tax, "enterprises", Some(CSV), Some("batch-7"), t.csv())
            .await;
        assert_eq!(s1, StatusCode::CREATED);
        let (s2, h2, again) = app
            .feed(&tax, "enterprises", Some(CSV), Some("batch-7"), t.csv())
            .await;
        assert_eq!(s2, StatusCode::OK);
        assert_eq!(h2["idempotent-replayed"], "true");
        assert_eq!(again, first);
        assert_eq!(batches(&app).await, 1);

        let mut changed = t.clone();
        changed.rows[0][1] = "Another name".into();
        let (s3, _, json) = app
            .feed(
                &tax,
                "enterprises",
                Some(CSV),
                Some("batch-7"),
                changed.csv(),
            )
            .await;
        assert_eq!(s3, StatusCode::CONFLICT, "{json}");
        assert_eq!(
            app.state
                .db
                .enterprise(&uscc(1))
                .await
                .unwrap()
                .unwrap()
                .name,
            "湛江糖业有限公司"
        );

        // Without a key the content hash is the key: the same file twice is stored once.
        let (s4, _, _) = app
            .feed(&tax, "enterprises", Some(CSV), None, changed.csv())
            .await;
        let (s5, _, _) = app
            .feed(&tax, "enterprises", Some(CSV), None, changed.csv())
            .await;
        assert_eq!((s4, s5), (StatusCode::CREATED, StatusCode::OK));
        assert_eq!(batches(&app).await, 2);
        // Keys are per source: another partner may use the same key.
        let other = app.partner_key("tax_bureau").await;
        let (s6, _, _) = app
            .feed(
                &other,
                "enterprises",
                Some(CSV),
                Some("batch-7"),
                changed.csv(),
            )
            .await;
        assert_eq!(s6, StatusCode::CREATED);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let app = TestApp::spawn_with(crate::common::Backend::Sqlite, |s| {
        s.body_limit_bytes = 4096
    })
    .await;
    let tax = app.partner_key("tax_bureau").await;
    let (_, mut t) = city().remove(0);
    let row = t.rows[0].clone();
    for i in 0..200 {
        let mut r = row.clone();
        r[0] = uscc(100 + i);
        t.rows.push(r);
    }
    let (status, _, json) = app
        .feed(&tax, "enterprises", Some(CSV), None, t.csv())
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["error"]["code"], "payload_too_large");
    assert_eq!(count(&app, FeedKind::Enterprises).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn invalid_rows_are_listed_with_line_and_column_and_nothing_is_stored() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let tax = app.partner_key("tax_bureau").await;
    let t = Table::new(
        &["uscc", "year", "grade", "score", "effective_from"],
        vec![
            vec![
                uscc(1),
                "2023".into(),
                "A".into(),
                "95".into(),
                "2024-04-20".into(),
            ],
            vec![
                uscc(2),
                "2023".into(),
                "A".into(),
                "85".into(),
                "2024-02-30".into(),
            ],
            vec![
                uscc(1),
                "2023".into(),
                "B".into(),
                "80".into(),
                "2024-04-20".into(),
            ],
        ],
    );
    let (status, _, json) = app.feed(&tax, "tax-grades", Some(CSV), None, t.csv()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    let details = &json["error"]["details"];
    assert_eq!(details["errors_total"], 3, "{json}");
    let errors = details["errors"].as_array().unwrap();
    assert_eq!(
        (errors[0]["line"].as_u64(), errors[0]["column"].as_str()),
        (Some(3), Some("effective_from"))
    );
    assert!(errors[0]["reason"]
        .as_str()
        .unwrap()
        .contains("not a real date"));
    assert_eq!(
        (errors[1]["line"].as_u64(), errors[1]["column"].as_str()),
        (Some(3), Some("grade"))
    );
    assert!(errors[1]["reason"].as_str().unwrap().contains("gives B"));
    assert!(errors[2]["reason"]
        .as_str()
        .unwrap()
        .contains("same uscc, year and effective_from as line 2"));
    assert_eq!(count(&app, FeedKind::TaxGrades).await, 0);
    assert_eq!(batches(&app).await, 0);
    app.stop().await;
}
