//! The audit trail's table: append-only rows chained by SHA-256. Writers serialise on the single
//! `audit_chain_head` row (SQLite: the write lock of BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE), so
//! replicas sharing one database still build one chain.

use chrono::{DateTime, Utc};

use super::{Db, StoreError, Tx};
use crate::with_db;

/// One row as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub event_id: String,
    pub recorded_at: DateTime<Utc>,
    pub kind: String,
    pub partner_id: Option<String>,
    pub subject_key: Option<String>,
    pub outcome: String,
    pub body: String,
    pub prev_hash: String,
    pub row_hash: String,
}

/// A row before it is chained.
#[derive(Clone, Debug)]
pub struct PendingRow {
    pub event_id: String,
    pub recorded_at: DateTime<Utc>,
    pub kind: String,
    pub partner_id: Option<String>,
    pub subject_key: Option<String>,
    pub outcome: String,
    pub body: String,
}

/// A delivered score kept for drift monitoring: no subject, only the model's view of it.
#[derive(Clone, Debug)]
pub struct Observation {
    pub product: String,
    pub model_id: String,
    pub scored_at: DateTime<Utc>,
    pub score: i32,
    /// Bin index per scorecard characteristic, in scorecard order.
    pub bins: Vec<usize>,
    pub shadow_model_id: Option<String>,
    pub shadow_score: Option<i32>,
}

/// Rows per INSERT statement (10 columns: far below both dialects' parameter limits). A group
/// is usually one statement; each length is a distinct statement, prepared once per connection
/// and kept (see the statement cache in `Db::connect`).
const ROWS_PER_STATEMENT: usize = 512;

/// Log rows added to the subject index per transaction.
const INDEX_BATCH_ROWS: i64 = 50_000;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain's last row, as its writer left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// `rows` chained after `head`: (seq, row, prev_hash, row_hash) each, and the new head.
fn chain_rows<'r>(
    head: &ChainHead,
    rows: &'r [PendingRow],
    chain: impl Fn(&str, &str) -> String,
) -> (Vec<(i64, &'r PendingRow, String, String)>, ChainHead) {
    let (mut seq, mut hash) = (head.seq, head.hash.clone());
    let mut chained = Vec::with_capacity(rows.len());
    for row in rows {
        seq += 1;
        let row_hash = chain(&hash, &row.body);
        chained.push((
            seq,
            row,
            std::mem::replace(&mut hash, row_hash.clone()),
            row_hash,
        ));
    }
    (chained, ChainHead { seq, hash })
}

const INSERT_AUDIT: &str = "INSERT INTO audit_log (seq, event_id, recorded_at, kind, partner_id, subject_key, outcome, body, prev_hash, row_hash) VALUES ";
const INSERT_OBSERVATIONS: &str = "INSERT INTO score_observations (product, model_id, scored_at, score, bins, shadow_model_id, shadow_score) VALUES ";

fn observation_bins(observations: &[Observation]) -> Vec<String> {
    observations
        .iter()
        .map(|o| serde_json::to_string(&o.bins).expect("integers serialise"))
        .collect()
}

/// Binds one audit row's ten values, in `INSERT_AUDIT` order.
macro_rules! bind_audit_row {
    ($q:expr, $seq:expr, $row:expr, $prev:expr, $hash:expr) => {
        $q.bind($seq)
            .bind(&$row.event_id)
            .bind($row.recorded_at)
            .bind(&$row.kind)
            .bind(&$row.partner_id)
            .bind(&$row.subject_key)
            .bind(&$row.outcome)
            .bind(&$row.body)
            .bind($prev)
            .bind($hash)
    };
}

/// Binds one observation's seven values, in `INSERT_OBSERVATIONS` order.
macro_rules! bind_observation {
    ($q:expr, $o:expr, $bins:expr) => {
        $q.bind(&$o.product)
            .bind(&$o.model_id)
            .bind($o.scored_at)
            .bind(i64::from($o.score))
            .bind($bins)
            .bind(&$o.shadow_model_id)
            .bind($o.shadow_score.map(i64::from))
    };
}

/// Appends `rows` (and the observations committed with them) in one transaction; returns their
/// sequence numbers and the new head. `chain` computes a row's hash from the previous hash and
/// the row's body. `known` is the head the caller's own last append left, if it keeps one (the
/// audit writer does): the group is then chained after it without reading it back
/// ([`append_after`]), unless another writer has moved the chain on since.
pub async fn append(
    db: &Db,
    known: Option<&ChainHead>,
    rows: &[PendingRow],
    observations: &[Observation],
    chain: impl Fn(&str, &str) -> String,
) -> Result<(Vec<i64>, ChainHead), StoreError> {
    if let Some(head) = known {
        if let Some(done) = append_after(db, head, rows, observations, &chain).await? {
            return Ok(done);
        }
    }
    append_after_current(db, rows, observations, chain).await
}

/// Appends `rows` after the head read, under the write lock, from the database.
async fn append_after_current(
    db: &Db,
    rows: &[PendingRow],
    observations: &[Observation],
    chain: impl Fn(&str, &str) -> String,
) -> Result<(Vec<i64>, ChainHead), StoreError> {
    let mut tx = db.begin().await?;
    let head_sql = match &tx {
        Tx::Sqlite(_) => "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1",
        Tx::Postgres(_) => {
            "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE"
        }
    };
    let (seq, hash): (i64, String) =
        crate::with_tx!(&mut tx, c => sqlx::query_as(head_sql).fetch_one(c).await)?;
    let dialect = tx.dialect();
    // Chain first, then insert with multi-row statements: one round trip carries the group.
    let (chained, head) = chain_rows(&ChainHead { seq, hash }, rows, chain);
    for part in chained.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "{INSERT_AUDIT}{}",
            super::values_placeholders(dialect, part.len(), 10)
        );
        crate::with_tx!(&mut tx, c => {
            let mut q = sqlx::query(&sql);
            for (seq, row, prev_hash, row_hash) in part {
                q = bind_audit_row!(q, *seq, row, prev_hash, row_hash);
            }
            q.execute(c).await.map(|_| ())
        })
        .map_err(|e| StoreError::from_insert(e, "audit event"))?;
    }
    crate::with_tx!(&mut tx, c => sqlx::query(
        "UPDATE audit_chain_head SET last_seq = $1, last_hash = $2 WHERE id = 1")
        .bind(head.seq).bind(&head.hash).execute(c).await.map(|_| ()))?;
    let bins = observation_bins(observations);
    let observed: Vec<_> = observations.iter().zip(&bins).collect();
    for part in observed.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "{INSERT_OBSERVATIONS}{}",
            super::values_placeholders(dialect, part.len(), 7)
        );
        crate::with_tx!(&mut tx, c => {
            let mut q = sqlx::query(&sql);
            for (o, bins) in part {
                q = bind_observation!(q, o, *bins);
            }
            q.execute(c).await.map(|_| ())
        })?;
    }
    let seqs = chained.iter().map(|(seq, ..)| *seq).collect();
    tx.commit().await?;
    Ok((seqs, head))
}

/// Appends `rows` after `head`, the head this writer's own last commit left, without reading
/// it back: on SQLite the whole group (write lock, head update, rows, observations, commit) goes
/// to the database as one batch of statements, one round trip to SQLite's connection thread
/// instead of six, each of which under load waited for that thread to be scheduled.
///
/// Another writer sharing the database (a replica, a CLI command) may have moved the chain on
/// since. Then the head update matches no row, which the statement after it turns into a
/// primary-key error (it inserts the head row again exactly when `changes()` is 0), and the
/// group's sequence numbers are taken too; the batch stops at the error, is rolled back, and
/// `Ok(None)` says to append the group after the head read from the database, as [`append`]
/// then does. PostgreSQL always returns `None`.
pub async fn append_after(
    db: &Db,
    head: &ChainHead,
    rows: &[PendingRow],
    observations: &[Observation],
    chain: impl Fn(&str, &str) -> String,
) -> Result<Option<(Vec<i64>, ChainHead)>, StoreError> {
    let Db::Sqlite(pool) = db else {
        return Ok(None);
    };
    if rows.len() > ROWS_PER_STATEMENT || observations.len() > ROWS_PER_STATEMENT {
        return Ok(None);
    }
    let (chained, next) = chain_rows(head, rows, chain);
    let bins = observation_bins(observations);
    let mut sql = String::from(
        "BEGIN IMMEDIATE; \
         UPDATE audit_chain_head SET last_seq = ?, last_hash = ? WHERE id = 1 AND last_seq = ? AND last_hash = ?; \
         INSERT INTO audit_chain_head (id, last_seq, last_hash) SELECT 1, 0, '' WHERE changes() = 0; ",
    );
    if !rows.is_empty() {
        sql.push_str(INSERT_AUDIT);
        sql.push_str(&super::values_placeholders(
            super::Dialect::Sqlite,
            rows.len(),
            10,
        ));
        sql.push_str("; ");
    }
    if !observations.is_empty() {
        sql.push_str(INSERT_OBSERVATIONS);
        sql.push_str(&super::values_placeholders(
            super::Dialect::Sqlite,
            observations.len(),
            7,
        ));
        sql.push_str("; ");
    }
    sql.push_str("COMMIT;");
    let mut q = sqlx::query(&sql)
        .bind(next.seq)
        .bind(&next.hash)
        .bind(head.seq)
        .bind(&head.hash);
    for (seq, row, prev_hash, row_hash) in &chained {
        q = bind_audit_row!(q, *seq, row, prev_hash, row_hash);
    }
    for (o, bins) in observations.iter().zip(&bins) {
        q = bind_observation!(q, o, bins);
    }
    let mut conn = pool.acquire().await?;
    match q.execute(&mut *conn).await {
        Ok(_) => Ok(Some((chained.iter().map(|(seq, ..)| *seq).collect(), next))),
        Err(e) => {
            roll_back(&mut conn).await;
            match StoreError::from_insert(e, "audit event") {
                // The chain moved on under this writer.
                StoreError::Conflict(_) => Ok(None),
                other => Err(other),
            }
        }
    }
}

/// Ends whatever transaction a failed batch left open on `conn` (none, if BEGIN itself failed).
async fn roll_back(conn: &mut sqlx::pool::PoolConnection<sqlx::Sqlite>) {
    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut **conn).await {
        tracing::debug!(error = %e, "rollback after a failed audit batch");
    }
}

impl Db {
    /// Observations of `product` scored by `model_id` since `from`: (score, bins JSON).
    pub async fn observations(
        &self,
        product: &str,
        model_id: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<(i64, String, Option<i64>)>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT score, bins, shadow_score FROM score_observations WHERE product = $1 AND model_id = $2 AND scored_at >= $3")
            .bind(product).bind(model_id).bind(from).fetch_all(p).await)?)
    }

    /// Rows in chain order, `limit` at a time after `after_seq` (for streaming verification).
    pub async fn audit_rows(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let sql = "SELECT seq, event_id, recorded_at, kind, partner_id, subject_key, outcome, body, prev_hash, row_hash \
                   FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";
        Ok(with_db!(self, p => sqlx::query_as(sql).bind(after_seq).bind(limit).fetch_all(p).await)?)
    }

    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1").fetch_one(p).await)?)
    }

    /// A subject's query history, newest first: the rows the subject index holds, and those
    /// after it from the log's tail. Indexes what is pending first, so the tail stays short even
    /// where no server runs the indexer.
    pub async fn audit_for_subject(
        &self,
        subject_key: &str,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.index_audit_subjects().await?;
        let sql = "SELECT seq, event_id, recorded_at, kind, partner_id, subject_key, outcome, body, prev_hash, row_hash \
                   FROM audit_log WHERE seq IN ( \
                     SELECT seq FROM audit_subject_index WHERE subject_key = $1 \
                     UNION ALL \
                     SELECT seq FROM audit_log WHERE subject_key = $1 \
                       AND seq > (SELECT upto_seq FROM audit_subject_indexed WHERE id = 1)) \
                   ORDER BY seq DESC LIMIT $2";
        Ok(
            with_db!(self, p => sqlx::query_as(sql).bind(subject_key).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Adds the log's rows not yet in the subject index, sorted by subject so that each subject's
    /// new rows land together (a few pages per subject, not a random page per row). Returns how
    /// many rows of the log it covered. Replicas may run it at once: the marker row serialises
    /// them.
    pub async fn audit_index_subjects_batch(&self, max_rows: i64) -> Result<i64, StoreError> {
        // Look before taking the write lock: usually the writer has kept the index up to date.
        let (upto, head): (i64, i64) = with_db!(self, p => sqlx::query_as(
            "SELECT (SELECT upto_seq FROM audit_subject_indexed WHERE id = 1), \
                    (SELECT last_seq FROM audit_chain_head WHERE id = 1)").fetch_one(p).await)?;
        if upto >= head {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let lock = match &tx {
            Tx::Sqlite(_) => "SELECT upto_seq FROM audit_subject_indexed WHERE id = 1",
            Tx::Postgres(_) => "SELECT upto_seq FROM audit_subject_indexed WHERE id = 1 FOR UPDATE",
        };
        let (upto,): (i64,) =
            crate::with_tx!(&mut tx, c => sqlx::query_as(lock).fetch_one(c).await)?;
        let (top,): (Option<i64>,) = crate::with_tx!(&mut tx, c => sqlx::query_as(
            "SELECT MAX(seq) FROM audit_log WHERE seq > $1 AND seq <= $2")
            .bind(upto).bind(upto.saturating_add(max_rows)).fetch_one(c).await)?;
        let Some(top) = top else {
            return Ok(0);
        };
        crate::with_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO audit_subject_index (subject_key, seq) \
             SELECT subject_key, seq FROM audit_log WHERE seq > $1 AND seq <= $2 AND subject_key IS NOT NULL \
             ORDER BY subject_key, seq ON CONFLICT DO NOTHING")
            .bind(upto).bind(top).execute(c).await.map(|_| ()))?;
        crate::with_tx!(&mut tx, c => sqlx::query(
            "UPDATE audit_subject_indexed SET upto_seq = $1 WHERE id = 1")
            .bind(top).execute(c).await.map(|_| ()))?;
        tx.commit().await?;
        Ok(top - upto)
    }

    /// Runs [`Db::audit_index_subjects_batch`] until the index has caught up with the log.
    pub async fn index_audit_subjects(&self) -> Result<i64, StoreError> {
        let mut total = 0;
        loop {
            let n = self.audit_index_subjects_batch(INDEX_BATCH_ROWS).await?;
            total += n;
            if n < INDEX_BATCH_ROWS {
                return Ok(total);
            }
        }
    }
}
