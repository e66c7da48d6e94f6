//! A feed batch's life in the tables (docs/feeds.md, Staging): opened invisible, its rows staged
//! in short transactions, made visible by one short transaction (`publish`), then the older
//! versions of the keys it replaced deleted a slice at a time (`compact_slice`). A refused batch,
//! or one whose importer died, is deleted a slice at a time (`discard_slice`, then `forget`).
//! Readers see only visible batches (the `visible_*` views of migration 0013), so the batch is
//! all or nothing to them whatever moment a crash picks; no transaction here holds SQLite's one
//! write lock for longer than a slice.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::feeds::{self, BatchRecord, FeedRow};
use super::{Db, StoreError, Tx};
use crate::{with_db, with_tx};

/// Where a kind's rows are kept and what tells its rows apart within a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub table: &'static str,
    pub key: &'static [&'static str],
    /// A later visible version of a key replaces the earlier one (which `compact_slice` deletes).
    pub replaces: bool,
}

impl Shape {
    pub fn of<R: FeedRow>() -> Shape {
        Shape {
            table: R::TABLE,
            key: R::KEY,
            replaces: R::REPLACES,
        }
    }

    fn columns(&self) -> String {
        self.key.join(", ")
    }

    /// `(a, b) > ($n, $n+1)`, the row value compared with placeholders from `$first` on.
    fn compare(&self, op: &str, first: usize) -> String {
        let params: Vec<String> = (0..self.key.len())
            .map(|i| format!("${}", first + i))
            .collect();
        format!("({}) {op} ({})", self.columns(), params.join(", "))
    }
}

/// Opens a batch, invisible, with its staging entry: committed at once, so the idempotency key is
/// claimed before any row is written.
pub async fn open(db: &Db, batch: &BatchRecord, at: DateTime<Utc>) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    feeds::insert_batch(&mut tx, batch).await?;
    let sql = "INSERT INTO feed_staging (batch_id, state, heartbeat_at) VALUES ($1, 'staging', $2)";
    with_tx!(&mut tx, conn => sqlx::query(sql).bind(&batch.id).bind(at).execute(conn).await.map(|_| ()))?;
    tx.commit().await
}

/// In a staging transaction: the batch's importer is alive at `at`. `NotFound` if the batch was
/// discarded meanwhile (its lease ran out), so the importer stops instead of staging for nobody.
pub async fn heartbeat(tx: &mut Tx, batch_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    let sql = "UPDATE feed_staging SET heartbeat_at = $1 WHERE batch_id = $2 AND state = 'staging'";
    let n = with_tx!(tx, conn => sqlx::query(sql).bind(at).bind(batch_id).execute(conn).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Makes a staged batch visible, with its answer, as the latest batch: the one short transaction
/// readers see the whole batch appear in. Returns its place in the visible order. The staging
/// entry stays while older versions remain to delete (`compacting`), else it goes.
pub async fn publish(
    tx: &mut Tx,
    batch_id: &str,
    rows_stored: i64,
    result_json: &str,
    compacting: bool,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    if let Tx::Postgres(t) = tx {
        // Two batches published at once would read the same MAX: publications take turns (the
        // lock is held to the commit; SQLite's write lock does the same there).
        sqlx::query("SELECT pg_advisory_xact_lock(7318201)")
            .execute(&mut **t)
            .await?;
    }
    let (seq,): (i64,) = with_tx!(tx, conn => sqlx::query_as(
        "SELECT COALESCE(MAX(visible_seq), 0) + 1 FROM feed_batches").fetch_one(conn).await)?;
    let sql = "UPDATE feed_batches SET rows_stored = $1, result_json = $2, visible_seq = $3 \
               WHERE id = $4 AND visible_seq IS NULL";
    let n = with_tx!(tx, conn => sqlx::query(sql).bind(rows_stored).bind(result_json).bind(seq)
        .bind(batch_id).execute(conn).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(StoreError::NotFound); // discarded meanwhile: nothing to show
    }
    if compacting {
        let sql =
            "UPDATE feed_staging SET state = 'compacting', heartbeat_at = $1 WHERE batch_id = $2";
        with_tx!(tx, conn => sqlx::query(sql).bind(at).bind(batch_id).execute(conn).await.map(|_| ()))?;
    } else {
        let sql = "DELETE FROM feed_staging WHERE batch_id = $1";
        with_tx!(tx, conn => sqlx::query(sql).bind(batch_id).execute(conn).await.map(|_| ()))?;
    }
    Ok(seq)
}

/// Deletes up to `limit` rows of an invisible batch from `shape.table`, in one short
/// transaction; how many went (0: none left).
pub async fn discard_slice(
    db: &Db,
    shape: Shape,
    batch_id: &str,
    limit: i64,
) -> Result<u64, StoreError> {
    let (t, k) = (shape.table, shape.columns());
    let sql = format!(
        "DELETE FROM {t} WHERE (batch_id, {k}) IN \
         (SELECT batch_id, {k} FROM {t} WHERE batch_id = $1 LIMIT $2) \
         AND EXISTS (SELECT 1 FROM feed_batches o WHERE o.id = $1 AND o.visible_seq IS NULL)"
    );
    let mut tx = db.begin().await?;
    let n = with_tx!(&mut tx, conn => sqlx::query(&sql).bind(batch_id).bind(limit).execute(conn).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(n)
}

/// Forgets an invisible batch whose rows are gone (`discard_slice`): its record and staging
/// entry, so its idempotency key may be used again.
pub async fn forget(db: &Db, batch_id: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, conn => sqlx::query("DELETE FROM feed_staging WHERE batch_id = $1")
        .bind(batch_id).execute(conn).await.map(|_| ()))?;
    with_tx!(&mut tx, conn => sqlx::query(
        "DELETE FROM feed_batches WHERE id = $1 AND visible_seq IS NULL")
        .bind(batch_id).execute(conn).await.map(|_| ()))?;
    tx.commit().await
}

/// Deletes, in one short transaction, the versions that visible batches older than `seq` hold
/// for the next `limit` keys of `batch_id` after `after` (key order). Returns the slice's last
/// key to continue after, or `None` when the batch's keys are done. Readers never notice: the
/// views already show the newer version.
pub async fn compact_slice(
    db: &Db,
    shape: Shape,
    batch_id: &str,
    seq: i64,
    after: Option<&[String]>,
    limit: usize,
) -> Result<Option<Vec<String>>, StoreError> {
    debug_assert!(
        shape.replaces,
        "only replacing kinds have older versions to delete"
    );
    let (t, k, width) = (shape.table, shape.columns(), shape.key.len());
    let lower = match after {
        Some(_) => format!(" AND {}", shape.compare(">", 2)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {k} FROM {t} WHERE batch_id = $1{lower} ORDER BY {k} LIMIT 1 OFFSET {}",
        limit.max(1) - 1
    );
    let upper: Option<Vec<String>> = with_db!(db, p => {
        let mut q = sqlx::query(&sql).bind(batch_id);
        for v in after.unwrap_or_default() {
            q = q.bind(v);
        }
        match q.fetch_optional(p).await? {
            Some(row) => Some((0..width).map(|i| row.try_get::<String, _>(i)).collect::<Result<Vec<_>, _>>()?),
            None => None,
        }
    });
    let lower = match after {
        Some(_) => format!(" AND {}", shape.compare(">", 3)),
        None => String::new(),
    };
    let upper_cond = match &upper {
        Some(_) => format!(
            " AND {}",
            shape.compare("<=", 3 + if after.is_some() { width } else { 0 })
        ),
        None => String::new(),
    };
    let sql = format!(
        "DELETE FROM {t} WHERE ({k}) IN \
         (SELECT {k} FROM {t} WHERE batch_id = $1{lower}{upper_cond}) \
         AND EXISTS (SELECT 1 FROM feed_batches o WHERE o.id = {t}.batch_id AND o.visible_seq < $2)"
    );
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, conn => {
        let mut q = sqlx::query(&sql).bind(batch_id).bind(seq);
        for v in after.unwrap_or_default().iter().chain(upper.iter().flatten()) {
            q = q.bind(v);
        }
        q.execute(conn).await.map(|_| ())
    })?;
    tx.commit().await?;
    Ok(upper)
}

/// The batch's older versions are all deleted: it leaves staging.
pub async fn compacted(db: &Db, batch_id: &str) -> Result<(), StoreError> {
    with_db!(db, p => sqlx::query("DELETE FROM feed_staging WHERE batch_id = $1")
        .bind(batch_id).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// A batch not finished: being staged (or abandoned while staged), or visible with older
/// versions still to delete.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfinished {
    pub batch_id: String,
    pub kind: String,
    /// `Some` once visible (then only compaction is left).
    pub visible_seq: Option<i64>,
    /// When its importer last made progress; `None` for a batch with no staging entry.
    pub heartbeat_at: Option<DateTime<Utc>>,
}

/// id, kind, visible_seq, heartbeat_at
type UnfinishedRow = (String, String, Option<i64>, Option<DateTime<Utc>>);

impl Db {
    /// Every unfinished batch, oldest first.
    pub async fn unfinished_batches(&self) -> Result<Vec<Unfinished>, StoreError> {
        let sql = "SELECT b.id, b.kind, b.visible_seq, s.heartbeat_at FROM feed_batches b \
                   LEFT JOIN feed_staging s ON s.batch_id = b.id \
                   WHERE b.visible_seq IS NULL OR s.batch_id IS NOT NULL ORDER BY b.id";
        let rows: Vec<UnfinishedRow> = with_db!(self, p => sqlx::query_as(sql).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(batch_id, kind, visible_seq, heartbeat_at)| Unfinished {
                batch_id,
                kind,
                visible_seq,
                heartbeat_at,
            })
            .collect())
    }

    /// Rows of `table` that belong to batches not (yet) visible: what a refusal or a crash
    /// must not leave behind once cleaned up.
    pub async fn staged_rows(&self, shape: Shape) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE batch_id IN \
             (SELECT id FROM feed_batches WHERE visible_seq IS NULL)",
            shape.table
        );
        let (n,): (i64,) = with_db!(self, p => sqlx::query_as(&sql).fetch_one(p).await)?;
        Ok(n)
    }
}
