//! Hostile feed files (issue 18): the shared-strings bomb of the issue, huge cells and rows, deep
//! XML, many sheets and entries, high compression ratios. Each is refused naming its limit and
//! nothing is stored. This binary counts its own allocations, so each test also measures the most
//! memory the refusal held: a bound that holds whatever the machine's speed.

#[path = "api/common/mod.rs"]
mod common;
#[path = "api/feeds_support/mod.rs"]
mod feeds_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use common::{Backend, TestApp, TestDb, TEST_PII_KEY};
use creditbridge::feeds::{import, FeedError, FeedKind, FeedRequest, Limits};
use creditbridge::pii::PiiKey;
use feeds_support::xlsx::{self, Entry};
use feeds_support::{uscc, GRADE_COLUMNS};
use flate2::{Compress, Compression, FlushCompress};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: tests of this binary run on parallel threads.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MIB: usize = 1 << 20;
/// What a refusal may hold: the readers' buffers (a 1 MiB read buffer, 64 KiB stream buffers,
/// a decompressor's window), nothing proportional to what the file would decompress to.
const REFUSAL_BUDGET: usize = 16 * MIB;

/// Raw deflate of `input`. Unless `last`, the stream is left open on a byte boundary (a sync
/// flush) so that more segments may follow.
fn deflate(input: &[u8], last: bool) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(input.len() + input.len() / 8 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    c.compress_vec(input, &mut out, flush).unwrap();
    assert_eq!(
        c.total_in() as usize,
        input.len(),
        "output buffer too small"
    );
    out
}

/// A deflated part: `prefix`, `unit` `times` over, `suffix`. The unit is compressed once and its
/// segment repeated (it refers to nothing before it), so a gigabyte costs a kilobyte to make.
/// `declared` overrides the size the headers claim. The CRC is left 0: every such part is
/// refused before its end, where the CRC would be checked.
fn repeated(
    name: &str,
    prefix: &str,
    unit: &[u8],
    times: usize,
    suffix: &str,
    declared: Option<u32>,
) -> Entry {
    let mut data = deflate(prefix.as_bytes(), false);
    let segment = deflate(unit, false);
    for _ in 0..times {
        data.extend_from_slice(&segment);
    }
    data.extend(deflate(suffix.as_bytes(), true));
    let size = prefix.len() + unit.len() * times + suffix.len();
    Entry {
        name: name.to_owned(),
        method: 8,
        data,
        crc: 0,
        declared_size: declared.unwrap_or(u32::try_from(size).expect("under 4 GiB")),
    }
}

fn header_sheet() -> String {
    let header: Vec<String> = GRADE_COLUMNS.iter().map(|s| s.to_string()).collect();
    xlsx::sheet(&[header])
}

/// A one-sheet tax-grades workbook (a header row only) with `parts` replacing or joining its own.
fn book(parts: Vec<Entry>) -> Vec<u8> {
    let mut entries: Vec<Entry> = xlsx::parts(header_sheet().into_bytes())
        .into_iter()
        .filter(|(name, _)| !parts.iter().any(|p| p.name == *name))
        .map(|(name, data)| Entry::stored(name, data))
        .collect();
    entries.extend(parts);
    xlsx::zip_entries(&entries)
}

const SST_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1024" uniqueCount="1024">"#;

/// The issue's workbook: 1,024 shared strings of 1 MiB each.
fn shared_strings_bomb(declared: Option<u32>) -> Vec<u8> {
    let unit = format!("<si><t>{}</t></si>", "a".repeat(MIB));
    book(vec![repeated(
        "xl/sharedStrings.xml",
        SST_OPEN,
        unit.as_bytes(),
        1024,
        "</sst>",
        declared,
    )])
}

/// Imports `body` as a tax-grades feed under `limits`, expecting a refusal; returns the error and
/// the most memory held above what was in use just before, and checks that nothing was stored.
async fn refused(t: &TestDb, body: &[u8], limits: Limits) -> (FeedError, usize) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(body).unwrap();
    let req = FeedRequest {
        kind: FeedKind::TaxGrades,
        source: "cli".into(),
        idempotency_key: None,
        path: f.path().to_owned(),
        format: None, // sniffed, as an upload without a Content-Type
        limits,
        received_at: common::test_now(),
        sender: None,
    };
    let pii = PiiKey::new(TEST_PII_KEY.as_bytes()).unwrap();
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let result = import(&t.db, &pii, req, None).await;
    let peak = PEAK.load(Relaxed).saturating_sub(base);
    let err = result.expect_err("the file is refused");
    eprintln!("refused holding at most {peak} bytes more: {err}");
    assert_eq!(t.db.count_rows(FeedKind::TaxGrades).await.unwrap(), 0);
    (err, peak)
}

fn limit(err: &FeedError) -> (&'static str, Option<u64>) {
    match err {
        FeedError::OverLimit(hit) => (hit.limit, hit.line),
        other => panic!("expected a limit, got: {other}"),
    }
}

#[tokio::test]
async fn the_issues_shared_strings_bomb_is_refused_before_it_is_decompressed() {
    let _one = SERIAL.lock().await;
    let t = common::test_db(Backend::Sqlite).await;
    let body = shared_strings_bomb(None);
    assert!(body.len() < 2 * MIB, "a {} byte workbook", body.len());

    // Its headers say 1 GiB: refused from the directory alone.
    let (err, peak) = refused(&t, &body, Limits::default()).await;
    assert_eq!(limit(&err).0, "max_shared_strings_bytes", "{err}");
    assert!(
        err.to_string()
            .contains("feed_limits.max_shared_strings_bytes"),
        "{err}"
    );
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");

    // The same bomb declaring 1,000 bytes is cut while decompressing, at its first long string…
    let liar = shared_strings_bomb(Some(1000));
    let (err, peak) = refused(&t, &liar, Limits::default()).await;
    assert_eq!(limit(&err).0, "max_cell_bytes", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");
    // …and with long strings allowed, at the table's size limit, never past it.
    let lax = Limits {
        max_cell_bytes: 2 * MIB as u64,
        ..Limits::default()
    };
    let (err, peak) = refused(&t, &liar, lax).await;
    assert_eq!(limit(&err).0, "max_shared_strings_bytes", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");
}

#[tokio::test]
async fn the_bomb_over_http_is_a_413_naming_the_limit() {
    let _one = SERIAL.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let key = app.partner_key("tax_bureau").await;
    let resp = app
        .client
        .post(app.url("/v1/feeds/tax-grades"))
        .bearer_auth(&key)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(shared_strings_bomb(None))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert!(resp.headers().contains_key("x-request-id"));
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["error"]["code"], "feed_limit_exceeded", "{json}");
    assert_eq!(
        json["error"]["details"]["limit"],
        "feed_limits.max_shared_strings_bytes"
    );
    assert_eq!(
        json["error"]["details"]["max"],
        Limits::default().max_shared_strings_bytes
    );
    let db = &app.state.db;
    assert_eq!(db.count_rows(FeedKind::TaxGrades).await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn many_shared_strings_are_counted_while_decompressing() {
    let _one = SERIAL.lock().await;
    let t = common::test_db(Backend::Sqlite).await;
    let unit = "<si><t>a</t></si>".repeat(1000);
    let body = book(vec![repeated(
        "xl/sharedStrings.xml",
        SST_OPEN,
        unit.as_bytes(),
        11,
        "</sst>",
        None,
    )]);
    let few = Limits {
        max_shared_strings: 10_000,
        ..Limits::default()
    };
    let (err, peak) = refused(&t, &body, few).await;
    assert_eq!(limit(&err).0, "max_shared_strings", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");
}

#[tokio::test]
async fn a_huge_cell_is_refused_in_every_format() {
    let _one = SERIAL.lock().await;
    let t = common::test_db(Backend::Sqlite).await;
    // XLSX: a 40 MiB inline string. Its ratio alone condemns it under the defaults…
    let open = header_sheet().replace(
        "</sheetData></worksheet>",
        r#"<row r="2"><c r="A2" t="inlineStr"><is><t>"#,
    );
    let close = "</t></is></c></row></sheetData></worksheet>";
    let cell = repeated(
        "xl/worksheets/sheet1.xml",
        &open,
        "b".repeat(MIB).as_bytes(),
        40,
        close,
        None,
    );
    let body = book(vec![cell]);
    let (err, _) = refused(&t, &body, Limits::default()).await;
    assert_eq!(limit(&err).0, "max_zip_ratio", "{err}");
    // …and with any ratio allowed, the cell's length stops it 32 KiB in.
    let any_ratio = Limits {
        max_zip_ratio: 1 << 40,
        ..Limits::default()
    };
    let (err, peak) = refused(&t, &body, any_ratio).await;
    assert_eq!(limit(&err).0, "max_cell_bytes", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");

    // CSV: a 10 MiB quoted cell running over many lines, refused at the line it starts on.
    let mut csv = GRADE_COLUMNS.join(",").into_bytes();
    csv.extend_from_slice(b"\n");
    csv.extend_from_slice(format!("{},2023,A,95,false,\"", uscc(1)).as_bytes());
    csv.extend_from_slice("x\n".repeat(5 * MIB).as_bytes());
    csv.extend_from_slice(b"\"\n");
    let (err, peak) = refused(&t, &csv, Limits::default()).await;
    assert_eq!(limit(&err), ("max_cell_bytes", Some(2)), "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");

    // JSON Lines: a 10 MiB line.
    let mut jsonl = format!("{{\"uscc\":\"{}\"}}\n{{\"uscc\":\"", uscc(1)).into_bytes();
    jsonl.extend_from_slice("y".repeat(10 * MIB).as_bytes());
    jsonl.extend_from_slice(b"\"}\n");
    let (err, peak) = refused(&t, &jsonl, Limits::default()).await;
    assert_eq!(limit(&err), ("max_row_bytes", Some(2)), "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");
}

#[tokio::test]
async fn deep_xml_is_refused() {
    let _one = SERIAL.lock().await;
    let t = common::test_db(Backend::Sqlite).await;
    let deep = header_sheet().replace(
        "<sheetData>",
        &format!(
            "{}{}<sheetData>",
            "<x>".repeat(10_000),
            "</x>".repeat(10_000)
        ),
    );
    let body = book(vec![Entry::stored(
        "xl/worksheets/sheet1.xml",
        deep.into_bytes(),
    )]);
    let (err, peak) = refused(&t, &body, Limits::default()).await;
    assert_eq!(limit(&err).0, "max_xml_depth", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");
}

#[tokio::test]
async fn many_sheets_and_many_entries_are_refused() {
    let _one = SERIAL.lock().await;
    let t = common::test_db(Backend::Sqlite).await;
    // 100,000 sheets declared in the workbook part.
    let sheets: String = (1..=100_000)
        .map(|i| format!(r#"<sheet name="S{i}" sheetId="{i}" r:id="rId1"/>"#))
        .collect();
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets></workbook>"#
    );
    let body = book(vec![Entry::stored(
        "xl/workbook.xml",
        workbook.into_bytes(),
    )]);
    let (err, peak) = refused(&t, &body, Limits::default()).await;
    assert_eq!(limit(&err).0, "max_sheets", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");

    // 5,000 sheet parts: refused from the raw central directory, before the zip crate reads it.
    let parts: Vec<Entry> = (1..=5000)
        .map(|i| {
            Entry::stored(
                &format!("xl/worksheets/s{i}.xml"),
                header_sheet().into_bytes(),
            )
        })
        .collect();
    let body = book(parts);
    let (err, peak) = refused(&t, &body, Limits::default()).await;
    assert_eq!(limit(&err).0, "max_zip_entries", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");
}

#[tokio::test]
async fn a_high_compression_ratio_is_refused_declared_or_not() {
    let _one = SERIAL.lock().await;
    let t = common::test_db(Backend::Sqlite).await;
    // 512 MiB of empty rows behind the header: about 1,000 to 1.
    let open = header_sheet().replace("</sheetData></worksheet>", "");
    let zeros = |declared| {
        book(vec![repeated(
            "xl/worksheets/sheet1.xml",
            &open,
            "<row/>".repeat(MIB / 6).as_bytes(),
            512,
            "</sheetData></worksheet>",
            declared,
        )])
    };
    let (err, peak) = refused(&t, &zeros(None), Limits::default()).await;
    assert_eq!(limit(&err).0, "max_zip_ratio", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");
    // Declaring 1,000 bytes, it is cut once the real ratio shows, a few dozen MiB in.
    let (err, peak) = refused(&t, &zeros(Some(1000)), Limits::default()).await;
    assert_eq!(limit(&err).0, "max_zip_ratio", "{err}");
    assert!(peak < REFUSAL_BUDGET, "held {peak} bytes");
}

#[tokio::test]
async fn a_cell_far_right_is_refused_by_the_row_width() {
    let _one = SERIAL.lock().await;
    let t = common::test_db(Backend::Sqlite).await;
    let sheet = header_sheet().replace(
        "</sheetData>",
        r#"<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c><c r="XFD2"><v>1</v></c></row></sheetData>"#,
    );
    let body = book(vec![Entry::stored(
        "xl/worksheets/sheet1.xml",
        sheet.into_bytes(),
    )]);
    let (err, _) = refused(&t, &body, Limits::default()).await;
    assert_eq!(limit(&err), ("max_row_cells", Some(2)), "{err}");
}

#[tokio::test]
async fn a_workbook_within_the_limits_is_read_through_the_vetted_copy() {
    let _one = SERIAL.lock().await;
    let t = common::test_db(Backend::Sqlite).await;
    // Shared strings, and a binary part that calamine is never given.
    let sst = format!(
        r#"{SST_OPEN}<si><t>{}</t></si><si><t>A</t></si></sst>"#,
        uscc(1)
    );
    let sheet = header_sheet().replace(
        "</sheetData>",
        r#"<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2"><v>2023</v></c><c r="C2" t="s"><v>1</v></c><c r="D2"><v>95</v></c><c r="E2" t="inlineStr"><is><t>false</t></is></c><c r="F2" t="inlineStr"><is><t>2024-04-20</t></is></c></row></sheetData>"#,
    );
    let body = book(vec![
        Entry::stored("xl/sharedStrings.xml", sst.into_bytes()),
        Entry::stored("xl/worksheets/sheet1.xml", sheet.into_bytes()),
        Entry::stored(
            "xl/media/image1.png",
            vec![0x89, b'P', b'N', b'G', b'<', 0, 0xFF],
        ),
    ]);
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&body).unwrap();
    let req = FeedRequest {
        kind: FeedKind::TaxGrades,
        source: "cli".into(),
        idempotency_key: None,
        path: f.path().to_owned(),
        format: None,
        limits: Limits::default(),
        received_at: common::test_now(),
        sender: None,
    };
    let pii = PiiKey::new(TEST_PII_KEY.as_bytes()).unwrap();
    let accepted = import(&t.db, &pii, req, None).await.expect("accepted");
    assert_eq!(accepted.result.rows, 1);
    assert_eq!(t.db.count_rows(FeedKind::TaxGrades).await.unwrap(), 1);
}
