//! Feed batches (one row per accepted file, the idempotency record) and the bulk insert every
//! feed table goes through: multi-row `INSERT … ON CONFLICT` statements inside the batch's
//! transaction, so a file is stored whole or not at all.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{Db, StoreError, Tx};
use crate::{with_db, with_tx};

/// One bound value. Rows turn themselves into these so that a single generic insert can bind
/// them on either dialect (the `with_tx!` body is type-checked once per driver).
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
    /// What happens when the row's key is already held, e.g. `ON CONFLICT (uscc) DO UPDATE SET …`
    /// (a correction replaces the earlier values) or "" for append-only tables.
    const ON_CONFLICT: &'static str;
    fn push_values(self, out: &mut Vec<Val>);
}

/// SQLite allows 32,766 bound parameters per statement and PostgreSQL 65,535; staying well below
/// both keeps one statement text per table (so the prepared statement is cached and reused).
const MAX_PARAMS: usize = 16_000;

/// Rows per statement for a table with `columns` columns (plus batch_id).
pub fn rows_per_statement(columns: usize) -> usize {
    (MAX_PARAMS / (columns + 1)).max(1)
}

/// SQLite gets anonymous `?` placeholders: it resolves each named `$N` by a linear search over
/// the names seen so far, which makes preparing a 16,000-parameter statement quadratic (measured:
/// ~25 s per 100,000 rows with `$N`).
fn insert_sql<R: FeedRow>(rows: usize, positional: bool) -> String {
    let width = R::COLUMNS.len() + 1;
    let mut sql = format!(
        "INSERT INTO {} ({}, batch_id) VALUES ",
        R::TABLE,
        R::COLUMNS.join(", ")
    );
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            if positional {
                sql.push('?');
            } else {
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            n += 1;
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(R::ON_CONFLICT);
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

/// Inserts `rows` into `R::TABLE` tagged with `batch_id`, in as few statements as the parameter
/// limits allow.
pub async fn insert_rows<R: FeedRow>(
    tx: &mut Tx,
    batch_id: &str,
    rows: Vec<R>,
) -> Result<(), StoreError> {
    let width = R::COLUMNS.len();
    let per = rows_per_statement(width);
    let mut rows = rows.into_iter().peekable();
    let sqlite = matches!(tx, Tx::Sqlite(_));
    let full_sql = insert_sql::<R>(per, sqlite);
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
            partial = insert_sql::<R>(n, sqlite);
            &partial
        };
        with_tx!(tx, conn => {
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
                        Val::Date(x) if sqlite => q.bind(sqlite_date(x)),
                        Val::Date(x) => q.bind(x),
                        Val::OptDate(x) if sqlite => q.bind(x.map(sqlite_date)),
                        Val::OptDate(x) => q.bind(x),
                    };
                }
                q = q.bind(batch_id);
            }
            q.execute(conn).await.map(|_| ())
        })?;
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
}

const BATCH_COLUMNS: &str =
    "id, kind, source, idempotency_key, content_sha256, format, rows_stored, result_json, received_at";

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

/// Claims (source, key) for a new batch inside `tx`. A concurrent or earlier batch under the
/// same key makes this a `Conflict`, raised by the unique constraint rather than a racy check.
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

/// Records the outcome of a batch once all its rows are in.
pub async fn finish_batch(
    tx: &mut Tx,
    id: &str,
    rows_stored: i64,
    result_json: &str,
) -> Result<(), StoreError> {
    let sql = "UPDATE feed_batches SET rows_stored = $1, result_json = $2 WHERE id = $3";
    with_tx!(tx, conn => sqlx::query(sql).bind(rows_stored).bind(result_json).bind(id).execute(conn).await.map(|_| ()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
