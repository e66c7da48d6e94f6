//! The feed pipeline without HTTP: encodings, Chinese headers, large and hostile files, history,
//! retention and personal data. SQLite always; PostgreSQL too when TEST_DATABASE_URL is set.

use std::path::Path;

use crate::common::{backends, test_db, TestDb, TEST_PII_KEY};
use crate::feeds_support::{city, resident_id, s, uscc, Table, GRADE_COLUMNS};
use chrono::NaiveDate;
use creditbridge::domain::Product;
use creditbridge::features;
use creditbridge::feeds::{import, FeedError, FeedKind, FeedRequest};
use creditbridge::lifecycle::dataset::examples;
use creditbridge::pii::PiiKey;

/// The day every batch of these tests is received (`crate::common::test_now()`).
const TODAY: &str = "2026-11-28";

fn pii() -> PiiKey {
    PiiKey::new(TEST_PII_KEY.as_bytes()).unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn load(
    t: &TestDb,
    kind: &str,
    name: &str,
    bytes: &[u8],
) -> Result<creditbridge::feeds::Accepted, FeedError> {
    let path = t.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    load_path(t, kind, &path, None).await
}

async fn load_path(
    t: &TestDb,
    kind: &str,
    path: &Path,
    key: Option<&str>,
) -> Result<creditbridge::feeds::Accepted, FeedError> {
    let req = FeedRequest {
        kind: kind.parse::<FeedKind>().unwrap(),
        source: "cli".into(),
        idempotency_key: key.map(str::to_owned),
        path: path.to_owned(),
        format: None,
        received_at: crate::common::test_now(),
        limits: Default::default(),
        sender: None,
    };
    import(&t.db, &pii(), req, None).await
}

fn table(kind: &str) -> Table {
    city().into_iter().find(|(k, _)| *k == kind).unwrap().1
}

/// Runs the retention purge as if today were `today`.
async fn purge_at(t: &TestDb, today: &str) -> creditbridge::feeds::maintenance::Purged {
    creditbridge::feeds::maintenance::purge_expired(&t.db, date(today))
        .await
        .unwrap()
}

async fn count(t: &TestDb, kind: FeedKind) -> i64 {
    t.db.count_rows(kind).await.unwrap()
}

fn invalid(
    r: Result<creditbridge::feeds::Accepted, FeedError>,
) -> (u64, Vec<creditbridge::feeds::Issue>) {
    match r {
        Err(FeedError::Invalid {
            errors_total,
            errors,
            ..
        }) => (errors_total, errors),
        other => panic!("expected invalid rows, got {other:?}"),
    }
}

const ENTERPRISES_ZH: &[&str] = &[
    "统一社会信用代码",
    "企业名称",
    "行政区划代码",
    "行业门类",
    "企业规模",
    "成立日期",
    "注销日期",
];

#[tokio::test]
async fn a_gbk_file_with_chinese_headers_is_read_as_the_same_text() {
    for backend in backends() {
        let t = test_db(backend).await;
        let csv =
            String::from_utf8(table("enterprises").with_header(ENTERPRISES_ZH).csv()).unwrap();
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(&csv);
        assert!(!unmappable);
        let done = load(&t, "enterprises", "gbk.csv", &gbk).await.unwrap();
        assert_eq!(
            (done.result.rows, done.result.encoding.as_str()),
            (2, "gb18030")
        );
        assert_eq!(
            t.db.enterprise(&uscc(1)).await.unwrap().unwrap().name,
            "湛江糖业有限公司"
        );
    }
}

#[tokio::test]
async fn a_utf8_bom_does_not_spoil_the_first_header() {
    let t = test_db(crate::common::Backend::Sqlite).await;
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(table("enterprises").with_header(ENTERPRISES_ZH).csv());
    let done = load(&t, "enterprises", "bom.csv", &bytes).await.unwrap();
    assert_eq!(
        (done.result.rows, done.result.encoding.as_str()),
        (2, "utf-8-bom")
    );
}

#[tokio::test]
async fn a_broken_row_in_the_middle_of_a_large_file_stores_nothing() {
    for backend in backends() {
        let t = test_db(backend).await;
        let mut rows = Vec::new();
        for i in 0..60_000u32 {
            let (y, m) = (2015 + i / 12 % 10, i % 12 + 1);
            rows.push(vec![
                uscc(i / 120),
                format!("{y}-{m:02}"),
                s("vat"),
                s("1000"),
                s("30"),
                s("30"),
                format!("{y}-{m:02}-20"),
                format!("{y}-{m:02}-21"),
            ]);
        }
        rows[30_000][3] = s("12,5"); // a comma decimal: not an amount
        let t2 = Table::new(
            &[
                "uscc", "period", "tax_type", "revenue", "tax_due", "tax_paid", "filed_on",
                "paid_on",
            ],
            rows,
        );
        let (total, errors) = invalid(load(&t, "tax-payments", "big.csv", &t2.csv()).await);
        assert_eq!(total, 1);
        assert_eq!(errors[0].line, 30_002);
        assert_eq!(errors[0].column.as_deref(), Some("revenue"));
        assert_eq!(count(&t, FeedKind::TaxPayments).await, 0);
        assert_eq!(t.db.count_batches().await.unwrap(), 0);
    }
}

#[tokio::test]
async fn a_large_xlsx_sheet_is_streamed_with_sheet_row_numbers() {
    let t = test_db(crate::common::Backend::Sqlite).await;
    let rows: Vec<Vec<String>> = (0..20_000u32)
        .map(|i| {
            let (y, m) = (2015 + i / 12 % 10, i % 12 + 1);
            vec![
                uscc(i / 120),
                format!("{y}-{m:02}"),
                s("vat"),
                s("1000"),
                s("30"),
                s("30"),
                format!("{y}-{m:02}-20"),
                format!("{y}-{m:02}-21"),
            ]
        })
        .collect();
    let cols = [
        "uscc", "period", "tax_type", "revenue", "tax_due", "tax_paid", "filed_on", "paid_on",
    ];
    // An empty row in the middle is skipped, as a blank CSV line is; later rows keep their
    // sheet row numbers.
    let mut with_gap = rows.clone();
    with_gap.insert(10_000, vec![String::new(); cols.len()]);
    let mut broken = with_gap.clone();
    broken[15_000][5] = s("-30"); // sheet row 15,002: header, then 15,000 rows before it
    let (total, errors) = invalid(
        load(
            &t,
            "tax-payments",
            "broken.xlsx",
            &Table::new(&cols, broken).xlsx(),
        )
        .await,
    );
    assert_eq!(total, 1);
    assert_eq!(errors[0].line, 15_002);
    assert_eq!(errors[0].column.as_deref(), Some("tax_paid"));
    assert_eq!(count(&t, FeedKind::TaxPayments).await, 0);

    let done = load(
        &t,
        "tax-payments",
        "big.xlsx",
        &Table::new(&cols, with_gap).xlsx(),
    )
    .await
    .unwrap();
    assert_eq!(
        (done.result.rows, done.result.format.as_str()),
        (20_000, "xlsx")
    );
    assert_eq!(count(&t, FeedKind::TaxPayments).await, 20_000);

    // A workbook cut short is unreadable, and says so.
    let whole = Table::new(&cols, rows).xlsx();
    let cut = &whole[..whole.len() / 2];
    match load(&t, "tax-payments", "cut.xlsx", cut).await {
        Err(FeedError::Unreadable { what, .. }) => assert!(what.contains("XLSX"), "{what}"),
        other => panic!("expected an unreadable workbook, got {other:?}"),
    }
}

#[tokio::test]
async fn errors_are_capped_at_a_hundred_but_all_counted() {
    let t = test_db(crate::common::Backend::Sqlite).await;
    let mut e = table("enterprises");
    let row = e.rows[0].clone();
    e.rows = (0..250)
        .map(|i| {
            let mut r = row.clone();
            r[0] = uscc(i);
            r[4] = s("huge");
            r
        })
        .collect();
    let (total, errors) = invalid(load(&t, "enterprises", "e.csv", &e.csv()).await);
    assert_eq!((total, errors.len()), (250, 100));
}

#[tokio::test]
async fn hostile_cells_are_stored_verbatim_or_refused_clearly() {
    for backend in backends() {
        let t = test_db(backend).await;
        let mut e = table("enterprises");
        e.rows[0][1] = s("=cmd|' /C calc'!A0");
        // Newlines, tabs, backslashes and a literal \N are what PostgreSQL's COPY text escapes.
        let awkward = "Line one\r\nline \"two\", with comma\ttab \\N back\\slash \\.";
        e.rows[1][1] = s(awkward);
        load(&t, "enterprises", "e.csv", &e.csv()).await.unwrap();
        assert_eq!(
            t.db.enterprise(&uscc(1)).await.unwrap().unwrap().name,
            "=cmd|' /C calc'!A0"
        );
        assert_eq!(
            t.db.enterprise(&uscc(2)).await.unwrap().unwrap().name,
            awkward
        );

        let mut nul = table("enterprises");
        nul.rows[0][1] = s("bad\0name");
        let (_, errors) = invalid(load(&t, "enterprises", "nul.csv", &nul.csv()).await);
        assert!(errors[0].reason.contains("NUL"), "{errors:?}");

        let mut long = table("enterprises");
        long.rows[1][1] = "长".repeat(10_000); // 30 kB: within the cell limit, too long a name
        let (_, errors) = invalid(load(&t, "enterprises", "long.csv", &long.csv()).await);
        assert_eq!(
            (errors[0].line, errors[0].column.as_deref()),
            (3, Some("name"))
        );
        assert!(
            errors[0].reason.contains("10000 characters") && errors[0].reason.len() < 200,
            "{}",
            errors[0].reason
        );
        // A 10 MB cell is not read at all: the cell limit stops the file at its line.
        long.rows[1][1] = "长".repeat(3_500_000);
        match load(&t, "enterprises", "huge.csv", &long.csv()).await {
            Err(FeedError::OverLimit(hit)) => {
                assert_eq!((hit.limit, hit.line), ("max_cell_bytes", Some(3)))
            }
            other => panic!("expected the cell limit, got {other:?}"),
        }

        let jsonl = b"{\"uscc\": \"x\", \"name\": {\"nested\": 1}}\nnot json\n".to_vec();
        let (total, errors) = invalid(load(&t, "enterprises", "bad.jsonl", &jsonl).await);
        assert_eq!(total, 2);
        assert!(
            errors[1].reason.starts_with("not a JSON object"),
            "{errors:?}"
        );
        assert_eq!(
            t.db.enterprise(&uscc(1)).await.unwrap().unwrap().name,
            "=cmd|' /C calc'!A0"
        );
    }
}

#[tokio::test]
async fn the_clear_resident_id_is_nowhere_in_the_sqlite_file() {
    let t = test_db(crate::common::Backend::Sqlite).await;
    load(&t, "households", "h.csv", &table("households").csv())
        .await
        .unwrap();
    load(
        &t,
        "farmer-assessments",
        "a.csv",
        &table("farmer-assessments").csv(),
    )
    .await
    .unwrap();
    load(
        &t,
        "public-records",
        "p.csv",
        &table("public-records").csv(),
    )
    .await
    .unwrap();
    let h =
        t.db.household(&pii().subject_key(&resident_id(11)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (h.id_last4.as_str(), h.birth_year),
        (&resident_id(11)[14..], 1980)
    );
    t.db.close().await; // checkpoints the WAL into the file
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(t.dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("test.db")
        {
            bytes.extend(std::fs::read(p).unwrap());
        }
    }
    assert!(bytes.len() > 10_000);
    for id in [resident_id(11), resident_id(12)] {
        assert!(
            !bytes.windows(18).any(|w| w == id.as_bytes()),
            "resident id found in the database file"
        );
        assert!(!bytes.windows(14).any(|w| w == &id.as_bytes()[..14]));
    }
}

#[tokio::test]
async fn a_new_grade_supersedes_the_old_and_both_are_kept() {
    for backend in backends() {
        let t = test_db(backend).await;
        let cols = GRADE_COLUMNS;
        let april = Table::new(
            &cols,
            vec![vec![
                uscc(1),
                s("2023"),
                s("B"),
                s("85"),
                s(""),
                s("2024-04-20"),
            ]],
        );
        let direct_d = Table::new(
            &cols,
            vec![vec![
                uscc(1),
                s("2023"),
                s("D"),
                s(""),
                s("是"),
                s("2024-09-01"),
            ]],
        );
        load(&t, "tax-grades", "g1.csv", &april.csv())
            .await
            .unwrap();
        let second = load(&t, "tax-grades", "g2.csv", &direct_d.csv())
            .await
            .unwrap();
        assert_eq!(second.result.superseded, 1);
        let history = t.db.grade_history(&uscc(1)).await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].superseded_by, Some(history[1].id));
        assert_ne!(history[0].batch_id, history[1].batch_id);
        // Which one is in force is the features' rule, the one serving and training use.
        assert_eq!(grade_at(&t, &uscc(1), "2024-04-01").await, None);
        assert_eq!(grade_at(&t, &uscc(1), "2024-06-01").await.unwrap(), "B");
        assert_eq!(grade_at(&t, &uscc(1), "2024-10-01").await.unwrap(), "D");
    }
}

/// The grade in force for `uscc` at `d`, as the features see it.
async fn grade_at(t: &TestDb, uscc: &str, d: &str) -> Option<String> {
    let facts = creditbridge::storage::facts::sme_facts(&t.db, uscc, date(d))
        .await
        .unwrap();
    features::sme::grade_at(&facts.grades, date(d)).map(|g| g.grade.to_string())
}

#[tokio::test]
async fn late_tax_months_are_purged_five_years_after_they_were_settled() {
    for backend in backends() {
        let t = test_db(backend).await;
        let cols = [
            "uscc", "period", "tax_type", "revenue", "tax_due", "tax_paid", "filed_on", "paid_on",
        ];
        let row = |period: &str, due: &str, paid: &str, filed: &str, paid_on: &str| {
            vec![
                uscc(1),
                s(period),
                s("vat"),
                s("1000"),
                s(due),
                s(paid),
                s(filed),
                s(paid_on),
            ]
        };
        let payments = Table::new(
            &cols,
            vec![
                // On time (deadline 2017-02-15): not negative, kept for good.
                row("2017-01", "30", "30", "2017-02-10", "2017-02-10"),
                // Filed and paid late, on 2017-04-01: the event ended then.
                row("2017-02", "30", "30", "2017-04-01", "2017-04-01"),
                // Filed on time, paid late on 2017-06-30.
                row("2017-03", "30", "30", "2017-04-10", "2017-06-30"),
                // Half paid: arrears still open, the event has not ended.
                row("2017-04", "30", "15", "2017-05-10", "2017-05-10"),
                // Nothing due, filed late on 2017-08-01.
                row("2017-05", "0", "0", "2017-08-01", ""),
                // The deadline itself is on time; the day after is late.
                row("2017-06", "30", "30", "2017-07-15", "2017-07-15"),
                row("2017-07", "30", "30", "2017-08-16", "2017-08-16"),
            ],
        );
        load(&t, "tax-payments", "tp.csv", &payments.csv())
            .await
            .unwrap();
        let purge = |today: &'static str| {
            let purged = purge_at(&t, today);
            async move { purged.await.late_tax_months }
        };
        let periods = || async {
            t.db.tax_payments(&uscc(1), "2017-01", "2017-12")
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.period)
                .collect::<Vec<_>>()
        };

        assert_eq!(
            purge("2022-04-01").await,
            0,
            "{backend:?}: 5 years not over"
        );
        assert_eq!(purge("2022-04-02").await, 1, "{backend:?}");
        assert_eq!(
            periods().await,
            ["2017-01", "2017-03", "2017-04", "2017-05", "2017-06", "2017-07"]
        );
        assert_eq!(purge("2022-06-30").await, 0, "{backend:?}");
        assert_eq!(purge("2022-07-01").await, 1, "{backend:?}");
        assert_eq!(purge("2022-08-02").await, 1, "{backend:?}");
        assert_eq!(purge("2022-08-17").await, 1, "{backend:?}");
        assert_eq!(
            purge("2040-01-01").await,
            0,
            "{backend:?}: open arrears never end"
        );
        assert_eq!(
            periods().await,
            ["2017-01", "2017-04", "2017-06"],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn d_grades_are_purged_five_years_after_their_event_ended() {
    for backend in backends() {
        let t = test_db(backend).await;
        let cols = GRADE_COLUMNS;
        let row = |u: u32, year: &str, grade: &str, direct: &str, from: &str| {
            vec![uscc(u), s(year), s(grade), s(""), s(direct), s(from)]
        };
        let annual = Table::new(
            &cols,
            vec![
                // 1: B for 2016, overridden by a direct D (below), then C for 2017.
                row(1, "2016", "B", "", "2017-04-20"),
                row(1, "2017", "C", "", "2018-04-20"),
                // 2: a D and nothing after it (the enterprise closed).
                row(2, "2019", "D", "", "2020-04-20"),
                // 3: a D, then B the next year.
                row(3, "2020", "D", "", "2021-04-20"),
                row(3, "2021", "B", "", "2022-04-20"),
            ],
        );
        let direct_d = Table::new(&cols, vec![row(1, "2016", "D", "是", "2017-09-01")]);
        load(&t, "tax-grades", "annual.csv", &annual.csv())
            .await
            .unwrap();
        let second = load(&t, "tax-grades", "direct.csv", &direct_d.csv())
            .await
            .unwrap();
        assert_eq!(second.result.superseded, 1);
        assert_eq!(grade_at(&t, &uscc(1), "2017-10-01").await.unwrap(), "D");
        let purge = |today: &'static str| {
            let purged = purge_at(&t, today);
            async move { purged.await.tax_grades }
        };

        // 1's D ended when C took effect (2018-04-20, before its year was out): kept through
        // 2023-04-20, gone the day after, with the B it had overridden; C stays.
        assert_eq!(
            purge("2023-04-20").await,
            0,
            "{backend:?}: 5 years not over"
        );
        assert_eq!(count(&t, FeedKind::TaxGrades).await, 6);
        assert_eq!(purge("2023-04-21").await, 2, "{backend:?}");
        assert_eq!(grade_at(&t, &uscc(1), "2017-10-01").await, None);
        assert_eq!(grade_at(&t, &uscc(1), "2018-05-01").await.unwrap(), "C");
        assert_eq!(purge("2023-04-21").await, 0, "a second run finds nothing");

        // 2's D has no successor: it ended a year after it took effect (2021-04-20).
        assert_eq!(purge("2026-04-20").await, 0, "{backend:?}");
        assert_eq!(grade_at(&t, &uscc(2), "2026-04-20").await.unwrap(), "D");
        assert_eq!(purge("2026-04-21").await, 1, "{backend:?}");
        assert_eq!(grade_at(&t, &uscc(2), "2026-04-21").await, None);

        // 3's D ended when B took effect (2022-04-20); B is not negative and stays.
        assert_eq!(purge("2027-04-20").await, 0, "{backend:?}");
        assert_eq!(purge("2027-04-21").await, 1, "{backend:?}");
        assert_eq!(grade_at(&t, &uscc(3), "2021-05-01").await, None);
        assert_eq!(grade_at(&t, &uscc(3), "2022-05-01").await.unwrap(), "B");
        let mut left = Vec::new();
        for u in [1, 2, 3] {
            for g in t.db.grade_history(&uscc(u)).await.unwrap() {
                left.push((u, g.year, g.grade));
            }
        }
        assert_eq!(left, [(1, 2017, s("C")), (3, 2021, s("B"))], "{backend:?}");
    }
}

#[tokio::test]
async fn a_reassessment_supersedes_the_earlier_assessment_of_that_year() {
    let t = test_db(crate::common::Backend::Sqlite).await;
    load(&t, "households", "h.csv", &table("households").csv())
        .await
        .unwrap();
    load(
        &t,
        "farmer-assessments",
        "a1.csv",
        &table("farmer-assessments").csv(),
    )
    .await
    .unwrap();
    let mut again = table("farmer-assessments");
    again.rows.truncate(1);
    again.rows[0][2] = s("2024-12-01");
    again.rows[0][3] = s("75");
    again.rows[0][4] = s("AA");
    let done = load(&t, "farmer-assessments", "a2.csv", &again.csv())
        .await
        .unwrap();
    assert_eq!(done.result.superseded, 1);
    let key = pii().subject_key(&resident_id(11));
    assert_eq!(t.db.assessment_history(&key).await.unwrap().len(), 2);
    // Which one is in force is the features' rule, the one serving and training use.
    let facts = creditbridge::storage::facts::farmer_facts(&t.db, &key)
        .await
        .unwrap();
    let at =
        |d| features::farmer::assessment_at(&facts.assessments, date(d)).map(|a| a.grade.as_str());
    assert_eq!(at("2024-11-01"), None);
    assert_eq!(at("2024-11-30").unwrap(), "AAA");
    assert_eq!(at("2025-01-01").unwrap(), "AA");
}

#[tokio::test]
async fn loan_outcomes_must_name_a_known_subject() {
    let t = test_db(crate::common::Backend::Sqlite).await;
    let (total, errors) =
        invalid(load(&t, "loan-outcomes", "l.csv", &table("loan-outcomes").csv()).await);
    assert_eq!(total, 2);
    assert!(errors[0].reason.contains("not known"));
    assert!(
        !errors[1].reason.contains(&resident_id(12)),
        "a resident id echoed in an error"
    );
    load(&t, "enterprises", "e.csv", &table("enterprises").csv())
        .await
        .unwrap();
    load(&t, "households", "h.csv", &table("households").csv())
        .await
        .unwrap();
    load(&t, "loan-outcomes", "l.csv", &table("loan-outcomes").csv())
        .await
        .unwrap();
    // The stored outcome is what retraining takes once its 12 months are over.
    let matured = |as_of| examples(&t.db, Product::Farmer, date(as_of), date("2000-01-01"));
    let by_august = matured("2024-08-01").await.unwrap();
    assert_eq!((by_august.len(), by_august[0].bad), (1, true));
    assert!(matured("2024-06-01").await.unwrap().is_empty());
}

#[tokio::test]
async fn public_records_count_until_display_ends_or_repair_and_purge_after_five_years() {
    for backend in backends() {
        let t = test_db(backend).await;
        let cols = [
            "record_id",
            "subject_type",
            "subject_id",
            "kind",
            "listed_at",
            "display_until",
            "repaired_at",
        ];
        let p = Table::new(
            &cols,
            vec![
                vec![
                    s("A"),
                    s("enterprise"),
                    uscc(1),
                    s("dishonest_debtor"),
                    s("2018-01-01"),
                    s("2020-01-01"),
                    s(""),
                ],
                vec![
                    s("B"),
                    s("enterprise"),
                    uscc(1),
                    s("admin_penalty"),
                    s("2019-01-01"),
                    s("2022-01-01"),
                    s("2019-06-01"),
                ],
                vec![
                    s("C"),
                    s("enterprise"),
                    uscc(2),
                    s("red_list"),
                    s("2017-01-01"),
                    s("2018-01-01"),
                    s(""),
                ],
                vec![
                    s("D"),
                    s("person"),
                    resident_id(11),
                    s("dishonest_debtor"),
                    s("2023-01-01"),
                    s("2025-01-01"),
                    s(""),
                ],
            ],
        );
        load(&t, "public-records", "p.csv", &p.csv()).await.unwrap();
        // Whether a record counts is the features' rule (`RecordFact::counts_at`).
        let u1 = uscc(1);
        let active = |d| {
            let (db, u1) = (t.db.clone(), u1.clone());
            async move {
                let facts = creditbridge::storage::facts::sme_facts(&db, &u1, date(d))
                    .await
                    .unwrap();
                facts
                    .records
                    .iter()
                    .filter(|r| r.counts_at(date(d)))
                    .count()
            }
        };
        assert_eq!(active("2019-03-01").await, 2);
        assert_eq!(active("2019-06-01").await, 1, "repaired on that day");
        assert_eq!(active("2020-01-02").await, 0, "display window over");
        let person = pii().subject_key(&resident_id(11));
        let facts = creditbridge::storage::facts::farmer_facts(&t.db, &person)
            .await
            .unwrap();
        let counting = |d| {
            facts
                .records
                .iter()
                .filter(|r| r.counts_at(date(d)))
                .count()
        };
        assert_eq!((counting("2024-01-01"), counting("2025-01-02")), (1, 0));

        // B ended (repair) 2019-06-01, A ended 2020-01-01; red lists are not negative.
        let purged = creditbridge::feeds::maintenance::purge_expired(&t.db, date("2024-12-31"))
            .await
            .unwrap();
        assert_eq!(purged.public_records, 1);
        let purged = creditbridge::feeds::maintenance::purge_expired(&t.db, date("2025-01-02"))
            .await
            .unwrap();
        assert_eq!(purged.public_records, 1);
        assert_eq!(count(&t, FeedKind::PublicRecords).await, 2);
    }
}

#[tokio::test]
async fn an_unknown_column_is_a_warning_and_a_missing_one_an_error() {
    let t = test_db(crate::common::Backend::Sqlite).await;
    let mut e = table("enterprises");
    e.header.push(s("colour"));
    for r in &mut e.rows {
        r.push(s("red"));
    }
    let done = load(&t, "enterprises", "e.csv", &e.csv()).await.unwrap();
    assert_eq!(done.result.warnings_total, 1);
    let mut m = table("enterprises");
    m.header.remove(2);
    for r in &mut m.rows {
        r.remove(2);
    }
    let (_, errors) = invalid(load(&t, "enterprises", "m.csv", &m.csv()).await);
    assert!(errors[0]
        .reason
        .contains("region_code (行政区划代码) is missing"));
}

/// Issue 18: a tax grade for year 2100 effective today masked a same-day direct D (the newest
/// grade of the day won, and the `tax_grade_d` flag vanished). A grade year may be at most the
/// effective year + 1, so the masking batch is refused, naming the line and the column, and the
/// direct D stays the enterprise's grade.
#[tokio::test]
async fn a_grade_for_year_2100_cannot_mask_a_direct_d() {
    for backend in backends() {
        let t = test_db(backend).await;
        let e = uscc(1);
        let enterprise = table("enterprises");
        load(&t, "enterprises", "e.csv", &enterprise.csv())
            .await
            .unwrap();
        let direct_d = Table::new(
            &GRADE_COLUMNS,
            vec![vec![
                e.clone(),
                s("2025"),
                s("D"),
                s(""),
                s("true"),
                s("2026-05-20"),
            ]],
        );
        load(&t, "tax-grades", "d.csv", &direct_d.csv())
            .await
            .unwrap();
        let mask = Table::new(
            &GRADE_COLUMNS,
            vec![vec![
                e.clone(),
                s("2100"),
                s("A"),
                s("95"),
                s("false"),
                s("2026-05-20"),
            ]],
        );
        let err = load(&t, "tax-grades", "mask.csv", &mask.csv())
            .await
            .unwrap_err();
        let FeedError::Invalid { errors, .. } = err else {
            panic!("{backend:?}: {err}")
        };
        assert_eq!(errors[0].line, 2, "{errors:?}");
        assert_eq!(errors[0].column.as_deref(), Some("year"), "{errors:?}");
        assert!(errors[0].reason.contains("2026 + 1"), "{errors:?}");
        assert_eq!(t.db.count_rows(FeedKind::TaxGrades).await.unwrap(), 1);
        // Next year's grade is still plausible.
        let next = Table::new(
            &GRADE_COLUMNS,
            vec![vec![
                e,
                s("2027"),
                s("A"),
                s("95"),
                s("false"),
                s("2026-05-21"),
            ]],
        );
        load(&t, "tax-grades", "next.csv", &next.csv())
            .await
            .unwrap();
    }
}

/// Issue 18: enterprises founded in year 0 or 9999 and a tax period 9999-12 were accepted.
/// Founding dates before 1949 or after today and periods starting after today are refused with
/// line and column; the whole batch with them.
#[tokio::test]
async fn implausible_founding_dates_and_future_periods_are_refused() {
    let t = test_db(crate::common::Backend::Sqlite).await;
    let mut enterprises = table("enterprises");
    enterprises.rows[0][5] = s("0000-01-01");
    enterprises.rows[1][5] = s("9999-01-01");
    let err = load(&t, "enterprises", "e.csv", &enterprises.csv())
        .await
        .unwrap_err();
    let FeedError::Invalid { errors, .. } = err else {
        panic!("{err}")
    };
    let found: Vec<_> = errors
        .iter()
        .map(|i| (i.line, i.column.clone().unwrap(), i.reason.clone()))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!((found[0].0, found[0].1.as_str()), (2, "founded_on"));
    assert!(found[0].2.contains("before 1949"), "{found:?}");
    assert_eq!((found[1].0, found[1].1.as_str()), (3, "founded_on"));
    assert!(found[1].2.contains("after today (2026-11-28)"), "{found:?}");
    assert_eq!(t.db.count_rows(FeedKind::Enterprises).await.unwrap(), 0);
    // The day itself is plausible, the day after is not.
    enterprises.rows[0][5] = s("1949-01-01");
    enterprises.rows[1][5] = s(TODAY);
    load(&t, "enterprises", "e2.csv", &enterprises.csv())
        .await
        .unwrap();

    let mut payments = table("tax-payments");
    payments.rows[1][1] = s("9999-12");
    payments.rows[1][6] = s("9999-12-20");
    let err = load(&t, "tax-payments", "p.csv", &payments.csv())
        .await
        .unwrap_err();
    let FeedError::Invalid { errors, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].column.as_deref()),
        (3, Some("period"))
    );
    assert!(errors[0].reason.contains("in the future"), "{errors:?}");
    payments.rows[1][1] = s("2026-06");
    payments.rows[1][6] = s("2026-06-01");
    load(&t, "tax-payments", "p2.csv", &payments.csv())
        .await
        .unwrap();
}
