//! Feed batches (one row per file, the idempotency record) and the bulk insert every feed table
//! goes through: multi-row `INSERT` statements on SQLite, `COPY` on PostgreSQL. A batch's rows
//! are staged in many short transactions while the batch is invisible (`storage::staging`), so
//! every row is a new version tagged with its batch and never conflicts with a stored one.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{Db, Dialect, StoreError, Tx};
use crate::{with_db, with_tx};

/// One value of a row. Rows turn themselves into these so that one generic insert can bind them
/// (SQLite) or write them as `COPY` text (PostgreSQL).
#[derive(Debug, Clone)]
pub enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Real(f64),
    OptReal(Option<f64>),
    Bool(bool),
    OptBool(Option<bool>),
    Date(NaiveDate),
    OptDate(Option<NaiveDate>),
}

/// A row of a feed table. `COLUMNS` excludes `batch_id`, which the insert appends.
pub trait FeedRow: Send + 'static {
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    /// The columns that identify a row within a batch (a file may not repeat them).
    const KEY: &'static [&'static str];
    /// Whether a later visible batch's row replaces the one held for the same key (a correction;
    /// the older version is deleted after the flip), or both are kept (grades, assessments:
    /// time-versioned with `superseded_by`).
    const REPLACES: bool;
    fn push_values(self, out: &mut Vec<Val>);
}

/// SQLite allows 32,766 bound parameters per statement; staying well below it keeps one statement
/// text per table (so the prepared statement is cached and reused).
const MAX_PARAMS: usize = 16_000;

/// Rows per statement for a table with `columns` columns (plus batch_id).
pub fn rows_per_statement(columns: usize) -> usize {
    (MAX_PARAMS / (columns + 1)).max(1)
}

/// Rows PostgreSQL takes per `COPY` (there is no parameter limit there).
const PG_ROWS_PER_COPY: usize = 20_000;

/// How many rows the parser hands to `insert_rows` at a time: one statement's worth on SQLite,
/// one `COPY` on PostgreSQL.
pub fn rows_per_chunk(dialect: Dialect, columns: usize) -> usize {
    match dialect {
        Dialect::Sqlite => rows_per_statement(columns),
        Dialect::Postgres => PG_ROWS_PER_COPY,
    }
}

/// The multi-row SQLite insert. Anonymous `?` placeholders: SQLite resolves each named `$N` by a
/// linear search over the names seen so far, which makes preparing a 16,000-parameter statement
/// quadratic (measured: ~25 s per 100,000 rows with `$N`).
fn insert_sql<R: FeedRow>(rows: usize) -> String {
    let mut sql = format!(
        "INSERT INTO {} ({}, batch_id) VALUES ",
        R::TABLE,
        R::COLUMNS.join(", ")
    );
    sql.push_str(&super::values_placeholders(
        Dialect::Sqlite,
        rows,
        R::COLUMNS.len() + 1,
    ));
    sql
}

/// A date as SQLite stores it (sqlx binds a `NaiveDate` there as `%Y-%m-%d` text), written
/// directly: chrono's formatting machinery was the costliest part of binding a feed row.
fn sqlite_date(d: NaiveDate) -> String {
    let (y, m, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&y) {
        return d.format("%Y-%m-%d").to_string(); // chrono's signed form, as sqlx writes it
    }
    let mut s = String::with_capacity(10);
    for (n, width) in [(y as u32, 4), (m, 2), (day, 2)] {
        if width == 2 {
            s.push('-');
        }
        let mut div = 10u32.pow(width - 1);
        while div > 0 {
            s.push(char::from(b'0' + (n / div % 10) as u8));
            div /= 10;
        }
    }
    s
}

/// Appends a value to a `COPY … FROM STDIN` text-format row: backslash, tab, newline and
/// carriage return escaped, so any text arrives as sent.
fn copy_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// A date as PostgreSQL reads it in any DateStyle: ISO order, and `BC` for years before 1
/// (chrono counts a year 0, PostgreSQL calls it 1 BC).
fn copy_date(out: &mut Vec<u8>, d: NaiveDate) {
    use std::io::Write as _;
    let (y, m, day) = (d.year(), d.month(), d.day());
    if y >= 1 {
        let _ = write!(out, "{y:04}-{m:02}-{day:02}");
    } else {
        let _ = write!(out, "{:04}-{m:02}-{day:02} BC", 1 - y);
    }
}

/// One row's values in `COPY` text format, `batch_id` last.
fn copy_row(out: &mut Vec<u8>, vals: impl Iterator<Item = Val>, batch_id: &str) {
    use std::io::Write as _;
    const NULL: &[u8] = b"\\N";
    for v in vals {
        match v {
            Val::Text(x) | Val::OptText(Some(x)) => copy_text(out, &x),
            Val::Int(x) => {
                let _ = write!(out, "{x}");
            }
            Val::Real(x) | Val::OptReal(Some(x)) => {
                let _ = write!(out, "{x}"); // shortest text that reads back as the same f64
            }
            Val::Bool(x) | Val::OptBool(Some(x)) => out.push(if x { b't' } else { b'f' }),
            Val::Date(x) | Val::OptDate(Some(x)) => copy_date(out, x),
            Val::OptText(None) | Val::OptReal(None) | Val::OptBool(None) | Val::OptDate(None) => {
                out.extend_from_slice(NULL)
            }
        }
        out.push(b'\t');
    }
    copy_text(out, batch_id);
    out.push(b'\n');
}

/// PostgreSQL: the rows go into the table by one `COPY`. Binding a multi-row `INSERT` ran at
/// ~100,000 rows/s on the project machine; most of PostgreSQL's remaining time is the table's
/// own indexes.
async fn copy_rows_pg<R: FeedRow>(
    conn: &mut sqlx::PgConnection,
    batch_id: &str,
    rows: Vec<R>,
) -> Result<(), StoreError> {
    let columns = format!("{}, batch_id", R::COLUMNS.join(", "));
    let mut data = Vec::with_capacity(rows.len() * 128);
    let mut vals = Vec::with_capacity(R::COLUMNS.len());
    for row in rows {
        row.push_values(&mut vals);
        copy_row(&mut data, vals.drain(..), batch_id);
    }
    let mut copy = conn
        .copy_in_raw(&format!("COPY {} ({columns}) FROM STDIN", R::TABLE))
        .await?;
    if let Err(e) = copy.send(data).await {
        let _ = copy.abort("sending rows failed").await;
        return Err(e.into());
    }
    copy.finish().await?;
    Ok(())
}

/// Inserts `rows` into `R::TABLE` tagged with `batch_id`: on SQLite in as few multi-row
/// statements as its parameter limit allows, on PostgreSQL by `COPY` (`copy_rows_pg`).
pub async fn insert_rows<R: FeedRow>(
    tx: &mut Tx,
    batch_id: &str,
    rows: Vec<R>,
) -> Result<(), StoreError> {
    let conn = match tx {
        Tx::Postgres(t) => return copy_rows_pg(t, batch_id, rows).await,
        Tx::Sqlite(t) => &mut **t,
    };
    let width = R::COLUMNS.len();
    let per = rows_per_statement(width);
    let mut rows = rows.into_iter().peekable();
    let full_sql = insert_sql::<R>(per);
    while rows.peek().is_some() {
        let mut vals = Vec::with_capacity(per * width);
        let mut n = 0;
        for row in rows.by_ref().take(per) {
            row.push_values(&mut vals);
            n += 1;
        }
        debug_assert_eq!(vals.len(), n * width, "{} values per row", R::TABLE);
        let partial;
        let sql = if n == per {
            &full_sql
        } else {
            partial = insert_sql::<R>(n);
            &partial
        };
        let mut q = sqlx::query(sql);
        let mut vals = vals.into_iter();
        for _ in 0..n {
            for v in vals.by_ref().take(width) {
                q = match v {
                    Val::Text(x) => q.bind(x),
                    Val::OptText(x) => q.bind(x),
                    Val::Int(x) => q.bind(x),
                    Val::Real(x) => q.bind(x),
                    Val::OptReal(x) => q.bind(x),
                    Val::Bool(x) => q.bind(x),
                    Val::OptBool(x) => q.bind(x),
                    Val::Date(x) => q.bind(sqlite_date(x)),
                    Val::OptDate(x) => q.bind(x.map(sqlite_date)),
                };
            }
            q = q.bind(batch_id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A stored batch: what the idempotency check compares and what a replay returns.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchRecord {
    pub id: String,
    pub kind: String,
    pub source: String,
    pub idempotency_key: String,
    pub content_sha256: String,
    pub format: String,
    pub rows_stored: i64,
    pub result_json: String,
    pub received_at: DateTime<Utc>,
    /// `None` while the batch is being staged (or was abandoned): not an answer to replay yet.
    pub visible_seq: Option<i64>,
}

const BATCH_COLUMNS: &str =
    "id, kind, source, idempotency_key, content_sha256, format, rows_stored, \
    result_json, received_at, visible_seq";

impl Db {
    /// The batch a source already sent under `key`, if any.
    pub async fn feed_batch_by_key(
        &self,
        source: &str,
        key: &str,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM feed_batches WHERE source = $1 AND idempotency_key = $2"
        );
        Ok(
            with_db!(self, p => sqlx::query_as::<_, BatchRecord>(&sql).bind(source).bind(key).fetch_optional(p).await)?,
        )
    }

    pub async fn feed_batch(&self, id: &str) -> Result<BatchRecord, StoreError> {
        let sql = format!("SELECT {BATCH_COLUMNS} FROM feed_batches WHERE id = $1");
        with_db!(self, p => sqlx::query_as::<_, BatchRecord>(&sql).bind(id).fetch_optional(p).await)?
            .ok_or(StoreError::NotFound)
    }
}

/// Claims (source, key) for a new batch inside `tx`, invisible (`visible_seq` NULL) until
/// `staging::publish`. A concurrent or earlier batch under the same key makes this a `Conflict`,
/// raised by the unique constraint rather than a racy check.
pub async fn insert_batch(tx: &mut Tx, b: &BatchRecord) -> Result<(), StoreError> {
    let sql = "INSERT INTO feed_batches (id, kind, source, idempotency_key, content_sha256, format, rows_stored, \
               result_json, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    with_tx!(tx, conn => sqlx::query(sql)
        .bind(&b.id).bind(&b.kind).bind(&b.source).bind(&b.idempotency_key).bind(&b.content_sha256)
        .bind(&b.format).bind(b.rows_stored).bind(&b.result_json).bind(b.received_at)
        .execute(conn).await.map(|_| ()))
    .map_err(|e| StoreError::from_insert(e, "feed batch under this idempotency key"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_escape_what_copy_text_format_treats_specially() {
        let mut out = Vec::new();
        let vals = [
            Val::Text("a\tb\nc\r\\.".into()),
            Val::Text("=cmd|' /C calc'!A0 \"引号\"".into()),
            Val::OptText(None),
            Val::Int(-7),
            Val::Real(0.1),
            Val::OptReal(None),
            Val::Bool(true),
            Val::OptBool(Some(false)),
            Val::Date(NaiveDate::from_ymd_opt(2025, 4, 2).unwrap()),
            Val::OptDate(None),
            Val::Date(NaiveDate::from_ymd_opt(0, 1, 1).unwrap()),
        ];
        copy_row(&mut out, vals.into_iter(), "01JD");
        let text = String::from_utf8(out).unwrap();
        let fields: Vec<&str> = text.strip_suffix('\n').unwrap().split('\t').collect();
        assert_eq!(
            fields,
            [
                "a\\tb\\nc\\r\\\\.",
                "=cmd|' /C calc'!A0 \"引号\"",
                "\\N",
                "-7",
                "0.1",
                "\\N",
                "t",
                "f",
                "2025-04-02",
                "\\N",
                "0001-01-01 BC",
                "01JD",
            ]
        );
    }

    #[test]
    fn sqlite_dates_are_written_as_sqlx_writes_them() {
        for d in [
            "2025-04-12",
            "0001-01-01",
            "0999-12-31",
            "1900-02-28",
            "2024-02-29",
            "9999-12-31",
        ] {
            let date: NaiveDate = d.parse().unwrap();
            assert_eq!(sqlite_date(date), d);
            assert_eq!(sqlite_date(date), date.format("%F").to_string());
        }
        let far = NaiveDate::from_ymd_opt(12_345, 6, 7).unwrap();
        assert_eq!(sqlite_date(far), far.format("%F").to_string());
        let before = NaiveDate::from_ymd_opt(-4, 6, 7).unwrap();
        assert_eq!(sqlite_date(before), before.format("%F").to_string());
    }
}
