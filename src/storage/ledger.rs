//! The audit ledger's tables (migration 0006): entries appended by plain inserts, and what the one
//! sequencer writes (leaf indexes, tree nodes, subject index, signed checkpoints, its state). The
//! tree logic and the signing live in `audit`; this module only moves rows.
//!
//! The sequencer and the verifier work on a connection of their own ([`LedgerConn`]): the
//! sequencer's PostgreSQL connection holds the advisory lock that makes it the only one, and the
//! verifier reads everything in one snapshot (one read transaction).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, SqliteConnection};

use super::audit::Observation;
use super::{values_placeholders, Db, Dialect, StoreError, Tx};
use crate::with_db;

/// An entry as the writer inserts it. `leaf` is the exact byte string hashed into the tree.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub event_id: String,
    pub recorded_at: DateTime<Utc>,
    pub kind: String,
    pub actor: String,
    pub partner_id: Option<String>,
    pub subject_key: Option<String>,
    pub subject_last4: Option<String>,
    pub correlation_id: Option<String>,
    pub leaf: Vec<u8>,
    pub leaf_hash: Vec<u8>,
}

/// An entry as stored, with its leaf index once sequenced.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StoredEntry {
    pub entry_no: i64,
    pub leaf_index: Option<i64>,
    pub event_id: String,
    pub recorded_at: DateTime<Utc>,
    pub kind: String,
    pub actor: String,
    pub partner_id: Option<String>,
    pub subject_key: Option<String>,
    pub subject_last4: Option<String>,
    pub correlation_id: Option<String>,
    pub leaf: Vec<u8>,
    pub leaf_hash: Vec<u8>,
}

const ENTRY_COLUMNS: &str =
    "e.entry_no, l.leaf_index, e.event_id, e.recorded_at, e.kind, e.actor, e.partner_id, \
     e.subject_key, e.subject_last4, e.correlation_id, e.leaf, e.leaf_hash";

const INSERT_ENTRIES: &str = "INSERT INTO ledger_entries (event_id, recorded_at, kind, actor, partner_id, subject_key, subject_last4, correlation_id, leaf, leaf_hash) VALUES ";
const INSERT_OBSERVATIONS: &str = "INSERT INTO score_observations (product, model_id, scored_at, score, bins, shadow_model_id, shadow_score) VALUES ";

/// Rows per multi-row INSERT (10 values each: far below both dialects' parameter limits).
const ROWS_PER_STATEMENT: usize = 512;

macro_rules! bind_entry {
    ($q:expr, $e:expr) => {
        $q.bind(&$e.event_id)
            .bind($e.recorded_at)
            .bind(&$e.kind)
            .bind(&$e.actor)
            .bind(&$e.partner_id)
            .bind(&$e.subject_key)
            .bind(&$e.subject_last4)
            .bind(&$e.correlation_id)
            .bind(&$e.leaf)
            .bind(&$e.leaf_hash)
    };
}

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

/// Appends `entries` and the score observations that go with them in one transaction. Nothing is
/// read: no head row, no lock any other writer waits on beyond the database's own.
pub async fn append_entries(
    db: &Db,
    entries: &[NewEntry],
    observations: &[Observation],
) -> Result<(), StoreError> {
    let bins: Vec<String> = observations
        .iter()
        .map(|o| serde_json::to_string(&o.bins).expect("integers serialise"))
        .collect();
    match db {
        Db::Sqlite(pool)
            if entries.len() <= ROWS_PER_STATEMENT && observations.len() <= ROWS_PER_STATEMENT =>
        {
            // One batch of statements: one round trip to SQLite's connection thread per group.
            let mut sql = String::from("BEGIN IMMEDIATE; ");
            if !entries.is_empty() {
                sql.push_str(INSERT_ENTRIES);
                sql.push_str(&values_placeholders(Dialect::Sqlite, entries.len(), 10));
                sql.push_str("; ");
            }
            if !observations.is_empty() {
                sql.push_str(INSERT_OBSERVATIONS);
                sql.push_str(&values_placeholders(Dialect::Sqlite, observations.len(), 7));
                sql.push_str("; ");
            }
            sql.push_str("COMMIT;");
            let mut q = sqlx::query(&sql);
            for e in entries {
                q = bind_entry!(q, e);
            }
            for (o, b) in observations.iter().zip(&bins) {
                q = bind_observation!(q, o, b);
            }
            let mut conn = pool.acquire().await?;
            if let Err(e) = q.execute(&mut *conn).await {
                if let Err(r) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                    tracing::debug!(error = %r, "rollback after a failed ledger batch");
                }
                return Err(StoreError::from_insert(e, "ledger entry"));
            }
            Ok(())
        }
        _ => {
            let mut tx = db.begin().await?;
            let dialect = tx.dialect();
            insert_entries(&mut tx, entries).await?;
            let observed: Vec<_> = observations.iter().zip(&bins).collect();
            for part in observed.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "{INSERT_OBSERVATIONS}{}",
                    values_placeholders(dialect, part.len(), 7)
                );
                crate::with_tx!(&mut tx, c => {
                    let mut q = sqlx::query(&sql);
                    for (o, b) in part {
                        q = bind_observation!(q, o, *b);
                    }
                    q.execute(c).await.map(|_| ())
                })?;
            }
            tx.commit().await
        }
    }
}

/// The sequencer's state row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerState {
    pub size: u64,
    /// The frontier's hashes, 32 bytes each, largest subtree first.
    pub frontier: Vec<u8>,
    pub lease_epoch: i64,
    pub verifying_key: Option<String>,
    /// Where the next sequencing run starts: an entry number (SQLite) or a transaction id
    /// (PostgreSQL), as text.
    pub watermark: String,
}

/// An entry taken by the sequencer.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Unsequenced {
    pub entry_no: i64,
    pub leaf: Vec<u8>,
    pub leaf_hash: Vec<u8>,
    pub subject_key: Option<String>,
}

/// One leaf as the verifier reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LeafRow {
    pub leaf_index: i64,
    pub event_id: String,
    pub kind: String,
    pub subject_key: Option<String>,
    pub leaf: Vec<u8>,
    pub leaf_hash: Vec<u8>,
}

/// A connection of its own for the sequencer or the verifier (detached from the pool: the
/// sequencer's PostgreSQL session holds the advisory lock for as long as it lives).
pub enum LedgerConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            LedgerConn::Sqlite(x) => {
                let $c = &mut *x;
                $body
            }
            LedgerConn::Postgres(x) => {
                let $c = &mut *x;
                $body
            }
        }
    };
}

/// The advisory lock key of the sequencer: "cb-ledger" in ASCII, as a number.
const SEQUENCER_LOCK: i64 = 0x6362_2d6c_6564_6772;

impl Db {
    /// A connection of its own, out of the pool.
    pub async fn ledger_conn(&self) -> Result<LedgerConn, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => LedgerConn::Sqlite(p.acquire().await?.detach()),
            Db::Postgres(p) => LedgerConn::Postgres(p.acquire().await?.detach()),
        })
    }

    /// Entries of a subject (by keyed hash), newest first: those the subject index holds and
    /// those not yet sequenced.
    pub async fn ledger_for_subject(
        &self,
        subject_key: &str,
        limit: i64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let tail = match self.dialect() {
            Dialect::Sqlite => "entry_no > (SELECT entry_watermark FROM ledger_state WHERE id = 1)",
            Dialect::Postgres => "xid >= (SELECT xid_watermark FROM ledger_state WHERE id = 1)",
        };
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries e LEFT JOIN ledger_leaves l ON l.entry_no = e.entry_no \
             WHERE e.entry_no IN ( \
               SELECT l2.entry_no FROM ledger_subject_index s JOIN ledger_leaves l2 ON l2.leaf_index = s.leaf_index \
                 WHERE s.subject_key = $1 \
               UNION ALL \
               SELECT entry_no FROM ledger_entries WHERE subject_key = $1 AND {tail}) \
             ORDER BY e.recorded_at DESC, e.entry_no DESC LIMIT $2"
        );
        Ok(
            with_db!(self, p => sqlx::query_as(&sql).bind(subject_key).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Delivered scores recorded from `from` (included) to `to` (excluded) that name a subject,
    /// as (recorded at, subject keyed hash, leaf), oldest first; at most `limit`. The product
    /// and grade are in the leaf's body, which the caller decodes.
    pub async fn delivered_scores(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(DateTime<Utc>, String, Vec<u8>)>, StoreError> {
        let sql = "SELECT recorded_at, subject_key, leaf FROM ledger_entries \
             WHERE kind = 'score.delivered' AND subject_key IS NOT NULL \
             AND recorded_at >= $1 AND recorded_at < $2 ORDER BY recorded_at, entry_no LIMIT $3";
        Ok(
            with_db!(self, p => sqlx::query_as(sql).bind(from).bind(to).bind(limit).fetch_all(p).await)?,
        )
    }

    /// One entry by its event id, with its leaf index once sequenced.
    pub async fn ledger_entry(&self, event_id: &str) -> Result<StoredEntry, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries e LEFT JOIN ledger_leaves l ON l.entry_no = e.entry_no \
             WHERE e.event_id = $1"
        );
        with_db!(self, p => sqlx::query_as(&sql).bind(event_id).fetch_optional(p).await)?
            .ok_or(StoreError::NotFound)
    }

    /// Every entry in entry order (tests and small tools; the verifier pages in its snapshot).
    pub async fn ledger_entries(
        &self,
        after_entry_no: i64,
        limit: i64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries e LEFT JOIN ledger_leaves l ON l.entry_no = e.entry_no \
             WHERE e.entry_no > $1 ORDER BY e.entry_no LIMIT $2"
        );
        Ok(
            with_db!(self, p => sqlx::query_as(&sql).bind(after_entry_no).bind(limit).fetch_all(p).await)?,
        )
    }

    /// The newest signed checkpoint, or one of the given size: (size, note).
    pub async fn ledger_checkpoint(&self, size: Option<u64>) -> Result<(i64, String), StoreError> {
        let found: Option<(i64, String)> = match size {
            None => with_db!(self, p => sqlx::query_as(
                "SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(p).await)?,
            Some(n) => with_db!(self, p => sqlx::query_as(
                "SELECT size, note FROM ledger_checkpoints WHERE size = $1").bind(n as i64).fetch_optional(p).await)?,
        };
        found.ok_or(StoreError::NotFound)
    }

    /// The hashes of perfect subtrees (level 0: leaf hashes by leaf index), in the order asked;
    /// `None` where the sequencer has not written the node.
    pub async fn ledger_nodes(
        &self,
        nodes: &[(u8, u64)],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut out = Vec::with_capacity(nodes.len());
        for &(level, index) in nodes {
            let hash: Option<(Vec<u8>,)> = if level == 0 {
                with_db!(self, p => sqlx::query_as(
                    "SELECT e.leaf_hash FROM ledger_leaves l JOIN ledger_entries e ON e.entry_no = l.entry_no WHERE l.leaf_index = $1")
                    .bind(index as i64).fetch_optional(p).await)?
            } else {
                with_db!(self, p => sqlx::query_as(
                    "SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2")
                    .bind(i16::from(level)).bind(index as i64).fetch_optional(p).await)?
            };
            out.push(hash.map(|h| h.0));
        }
        Ok(out)
    }

    /// Entries recorded and not yet sequenced: those past the sequencer's watermark (an index
    /// range on either dialect, so cheap enough for every metrics scrape).
    pub async fn ledger_lag(&self) -> Result<i64, StoreError> {
        Ok(with_db!(self, p => match self.dialect() {
            Dialect::Sqlite => sqlx::query_scalar(
                "SELECT COUNT(*) FROM ledger_entries \
                 WHERE entry_no > (SELECT entry_watermark FROM ledger_state WHERE id = 1)"),
            Dialect::Postgres => sqlx::query_scalar(
                "SELECT COUNT(*) FROM ledger_entries \
                 WHERE xid >= (SELECT xid_watermark FROM ledger_state WHERE id = 1)"),
        }.fetch_one(p).await)?)
    }

    /// When the newest checkpoint was signed, if one was.
    pub async fn newest_checkpoint_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_scalar(
            "SELECT signed_at FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(p).await)?)
    }

    /// Entries in the ledger, sequenced or not.
    pub async fn ledger_count(&self) -> Result<i64, StoreError> {
        Ok(
            with_db!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries").fetch_one(p).await)?,
        )
    }
}

impl LedgerConn {
    pub fn dialect(&self) -> Dialect {
        match self {
            LedgerConn::Sqlite(_) => Dialect::Sqlite,
            LedgerConn::Postgres(_) => Dialect::Postgres,
        }
    }

    async fn exec(&mut self, sql: &str) -> Result<(), StoreError> {
        on_conn!(self, c => sqlx::query(sql).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// PostgreSQL: tries to become the one sequencer (a session advisory lock, released when
    /// this connection ends, so a holder that dies frees it). SQLite: the one process is it.
    pub async fn try_lock_sequencer(&mut self) -> Result<bool, StoreError> {
        match self {
            LedgerConn::Sqlite(_) => Ok(true),
            LedgerConn::Postgres(c) => Ok(sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(SEQUENCER_LOCK)
                .fetch_one(c)
                .await?),
        }
    }

    /// Takes over the sequencer's state: bumps the lease epoch (so a sequencer that lost its
    /// lease can no longer save state) and records the public key.
    pub async fn take_over(&mut self, verifying_key: &str) -> Result<LedgerState, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "UPDATE ledger_state SET lease_epoch = lease_epoch + 1, verifying_key = $1 WHERE id = 1 \
                 RETURNING size, frontier, lease_epoch, verifying_key, CAST(entry_watermark AS TEXT)",
            Dialect::Postgres => "UPDATE ledger_state SET lease_epoch = lease_epoch + 1, verifying_key = $1 WHERE id = 1 \
                 RETURNING size, frontier, lease_epoch, verifying_key, xid_watermark::text",
        };
        let (size, frontier, lease_epoch, verifying_key, watermark): (
            i64,
            Vec<u8>,
            i64,
            Option<String>,
            String,
        ) = on_conn!(self, c => sqlx::query_as(sql).bind(verifying_key).fetch_one(c).await)?;
        Ok(LedgerState {
            size: size as u64,
            frontier,
            lease_epoch,
            verifying_key,
            watermark,
        })
    }

    /// The newest checkpoint's size and signing time, if any.
    pub async fn newest_checkpoint(&mut self) -> Result<Option<(u64, DateTime<Utc>)>, StoreError> {
        let row: Option<(i64, DateTime<Utc>)> = on_conn!(self, c => sqlx::query_as(
            "SELECT size, signed_at FROM ledger_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(c).await)?;
        Ok(row.map(|(s, t)| (s as u64, t)))
    }

    /// Starts the sequencer's write transaction (SQLite: takes the write lock at once).
    pub async fn begin_write(&mut self) -> Result<(), StoreError> {
        self.exec(match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        })
        .await
    }

    /// Starts the verifier's read transaction: everything read until [`LedgerConn::end`] comes
    /// from one snapshot (SQLite WAL: fixed at the first read; PostgreSQL: REPEATABLE READ).
    pub async fn begin_snapshot(&mut self) -> Result<(), StoreError> {
        self.exec(match self.dialect() {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        })
        .await
    }

    pub async fn commit(&mut self) -> Result<(), StoreError> {
        self.exec("COMMIT").await
    }

    /// Ends a transaction without keeping anything (also after a failure; errors are logged).
    pub async fn end(&mut self) {
        if let Err(e) = self.exec("ROLLBACK").await {
            tracing::debug!(error = %e, "ledger rollback");
        }
    }

    /// The state row, locked for the rest of the transaction.
    pub async fn state(&mut self) -> Result<LedgerState, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT size, frontier, lease_epoch, verifying_key, CAST(entry_watermark AS TEXT) FROM ledger_state WHERE id = 1",
            Dialect::Postgres => "SELECT size, frontier, lease_epoch, verifying_key, xid_watermark::text FROM ledger_state WHERE id = 1 FOR UPDATE",
        };
        let (size, frontier, lease_epoch, verifying_key, watermark): (
            i64,
            Vec<u8>,
            i64,
            Option<String>,
            String,
        ) = on_conn!(self, c => sqlx::query_as(sql).fetch_one(c).await)?;
        Ok(LedgerState {
            size: size as u64,
            frontier,
            lease_epoch,
            verifying_key,
            watermark,
        })
    }

    /// Entries not yet sequenced after `watermark`, in entry order, and the watermark after
    /// them. PostgreSQL takes only entries of transactions that have ended (below the oldest
    /// running one): a transaction still running may commit later with a lower entry number.
    pub async fn unsequenced(
        &mut self,
        watermark: &str,
        limit: i64,
    ) -> Result<(Vec<Unsequenced>, String), StoreError> {
        match self {
            LedgerConn::Sqlite(c) => {
                let after: i64 = watermark.parse().unwrap_or(0);
                let rows: Vec<Unsequenced> = sqlx::query_as(
                    "SELECT entry_no, leaf, leaf_hash, subject_key FROM ledger_entries \
                     WHERE entry_no > $1 ORDER BY entry_no LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *c)
                .await?;
                let next = rows.last().map_or(after, |r| r.entry_no);
                Ok((rows, next.to_string()))
            }
            LedgerConn::Postgres(c) => {
                // Its own statement first: every transaction below this xmin has ended, so the
                // next statement's snapshot sees all of their entries.
                let xmin: String =
                    sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
                        .fetch_one(&mut *c)
                        .await?;
                let rows: Vec<Unsequenced> = sqlx::query_as(
                    "SELECT entry_no, leaf, leaf_hash, subject_key FROM ledger_entries \
                     WHERE xid >= $1::xid8 AND xid < $2::xid8 ORDER BY entry_no",
                )
                .bind(watermark)
                .bind(&xmin)
                .fetch_all(&mut *c)
                .await?;
                Ok((rows, xmin))
            }
        }
    }

    /// Writes the leaf indexes, the new perfect nodes (level >= 1) and the subject index.
    pub async fn write_tree(
        &mut self,
        leaves: &[(u64, i64)],
        nodes: &[(u8, u64, Vec<u8>)],
        subjects: &[(String, u64)],
    ) -> Result<(), StoreError> {
        let dialect = self.dialect();
        for part in leaves.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO ledger_leaves (leaf_index, entry_no) VALUES {}",
                values_placeholders(dialect, part.len(), 2)
            );
            on_conn!(self, c => {
                let mut q = sqlx::query(&sql);
                for (index, entry_no) in part {
                    q = q.bind(*index as i64).bind(*entry_no);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        for part in nodes.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO ledger_nodes (level, idx, hash) VALUES {}",
                values_placeholders(dialect, part.len(), 3)
            );
            on_conn!(self, c => {
                let mut q = sqlx::query(&sql);
                for (level, index, hash) in part {
                    q = q.bind(i16::from(*level)).bind(*index as i64).bind(hash);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        for part in subjects.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO ledger_subject_index (subject_key, leaf_index) VALUES {}",
                values_placeholders(dialect, part.len(), 2)
            );
            on_conn!(self, c => {
                let mut q = sqlx::query(&sql);
                for (key, index) in part {
                    q = q.bind(key).bind(*index as i64);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    pub async fn write_checkpoint(
        &mut self,
        size: u64,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_conn!(self, c => sqlx::query(
            "INSERT INTO ledger_checkpoints (size, note, signed_at) VALUES ($1, $2, $3)")
            .bind(size as i64).bind(note).bind(at).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Saves the tree's size, frontier and watermark if this sequencer still holds lease
    /// `epoch`; `false` when another has taken over (nothing saved).
    pub async fn save_state(
        &mut self,
        epoch: i64,
        size: u64,
        frontier: &[u8],
        watermark: &str,
    ) -> Result<bool, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "UPDATE ledger_state SET size = $1, frontier = $2, entry_watermark = CAST($3 AS INTEGER) WHERE id = 1 AND lease_epoch = $4",
            Dialect::Postgres => "UPDATE ledger_state SET size = $1, frontier = $2, xid_watermark = $3::xid8 WHERE id = 1 AND lease_epoch = $4",
        };
        let n = on_conn!(self, c => sqlx::query(sql)
            .bind(size as i64).bind(frontier).bind(watermark).bind(epoch)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Every signed checkpoint, oldest first (the verifier checks each it is given).
    pub async fn checkpoints(&mut self) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(on_conn!(self, c => sqlx::query_as(
            "SELECT size, note FROM ledger_checkpoints ORDER BY size").fetch_all(c).await)?)
    }

    /// Leaves from `from` on, in leaf order, with their entries. A leaf whose entry row is gone
    /// is simply absent: the verifier sees the gap.
    pub async fn leaves(&mut self, from: u64, limit: i64) -> Result<Vec<LeafRow>, StoreError> {
        Ok(on_conn!(self, c => sqlx::query_as(
            "SELECT l.leaf_index, e.event_id, e.kind, e.subject_key, e.leaf, e.leaf_hash \
             FROM ledger_leaves l JOIN ledger_entries e ON e.entry_no = l.entry_no \
             WHERE l.leaf_index >= $1 ORDER BY l.leaf_index LIMIT $2")
            .bind(from as i64).bind(limit).fetch_all(c).await)?)
    }

    /// The subject index's rows for leaves in `[from, to)`, in leaf order.
    pub async fn subject_index(
        &mut self,
        from: u64,
        to: u64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(on_conn!(self, c => sqlx::query_as(
            "SELECT leaf_index, subject_key FROM ledger_subject_index \
             WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index, subject_key")
            .bind(from as i64).bind(to as i64).fetch_all(c).await)?)
    }

    /// The stored perfect subtrees of `level` with index in `[from, to]`, in index order.
    pub async fn nodes_at(
        &mut self,
        level: u8,
        from: u64,
        to: u64,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(on_conn!(self, c => sqlx::query_as(
            "SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx <= $3 ORDER BY idx")
            .bind(i16::from(level)).bind(from as i64).bind(to as i64).fetch_all(c).await)?)
    }

    /// Subject-index rows pointing past the last leaf (an index entry for nothing).
    pub async fn subject_index_beyond(&mut self, size: u64) -> Result<i64, StoreError> {
        Ok(on_conn!(self, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM ledger_subject_index WHERE leaf_index >= $1")
            .bind(size as i64).fetch_one(c).await)?)
    }

    /// Entries in the ledger, sequenced or not.
    pub async fn entry_count(&mut self) -> Result<i64, StoreError> {
        Ok(
            on_conn!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries").fetch_one(c).await)?,
        )
    }

    /// Closes the connection (PostgreSQL: releases the advisory lock).
    pub async fn close(self) {
        use sqlx::Connection;
        let _ = match self {
            LedgerConn::Sqlite(c) => c.close().await,
            LedgerConn::Postgres(c) => c.close().await,
        };
    }
}

/// A row of the old hash chain (`audit_log`, before the ledger), as the carry-over reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChainRow {
    pub seq: i64,
    pub event_id: String,
    pub recorded_at: DateTime<Utc>,
    pub body: String,
    pub prev_hash: String,
    pub row_hash: String,
}

/// Marks in `service_meta` that the old chain was carried into the ledger (and dropped).
pub const CHAIN_CARRIED_OVER: &str = "audit_chain_carried_over";

impl Db {
    /// The old chain's rows after `after_seq`, in order, and its head `(last_seq, last_hash)`;
    /// `None` when the old tables are gone (carried over before).
    pub async fn old_chain(&self) -> Result<Option<(Vec<ChainRow>, (i64, String))>, StoreError> {
        if self.meta(CHAIN_CARRIED_OVER).await?.is_some() {
            return Ok(None);
        }
        let rows: Vec<ChainRow> = with_db!(self, p => sqlx::query_as(
            "SELECT seq, event_id, recorded_at, body, prev_hash, row_hash FROM audit_log ORDER BY seq")
            .fetch_all(p).await)?;
        let head: (i64, String) = with_db!(self, p => sqlx::query_as(
            "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1").fetch_one(p).await)?;
        Ok(Some((rows, head)))
    }

    /// In one transaction: inserts the old chain's rows as ledger entries (in their order, so
    /// the sequencer gives them the first leaves), drops the old tables and records that it did.
    /// `false` when another process carried it over meanwhile (nothing done).
    pub async fn carry_over_chain(
        &self,
        entries: &[NewEntry],
        rows: usize,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let dialect = tx.dialect();
        // Replicas starting together: one carries over, the others find it done (SQLite's
        // BEGIN IMMEDIATE already serialises them).
        if dialect == Dialect::Postgres {
            crate::with_tx!(&mut tx, c => sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(SEQUENCER_LOCK + 1).execute(c).await.map(|_| ()))?;
        }
        let done: Option<String> = crate::with_tx!(&mut tx, c => sqlx::query_scalar(
            "SELECT value FROM service_meta WHERE name = $1").bind(CHAIN_CARRIED_OVER).fetch_optional(c).await)?;
        if done.is_some() {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_entries(&mut tx, entries).await?;
        for table in [
            "audit_subject_index",
            "audit_subject_indexed",
            "audit_chain_head",
            "audit_log",
        ] {
            let sql = format!("DROP TABLE {table}");
            crate::with_tx!(&mut tx, c => sqlx::query(&sql).execute(c).await.map(|_| ()))?;
        }
        crate::with_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO service_meta (name, value) VALUES ($1, $2)")
            .bind(CHAIN_CARRIED_OVER).bind(rows.to_string()).execute(c).await.map(|_| ()))?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Inserts `entries` inside `tx`, `ROWS_PER_STATEMENT` rows a statement (the group commit on
/// PostgreSQL and the carry-over of the old chain both write this way).
async fn insert_entries(tx: &mut Tx, entries: &[NewEntry]) -> Result<(), StoreError> {
    let dialect = tx.dialect();
    for part in entries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "{INSERT_ENTRIES}{}",
            values_placeholders(dialect, part.len(), 10)
        );
        crate::with_tx!(&mut *tx, c => {
            let mut q = sqlx::query(&sql);
            for e in part {
                q = bind_entry!(q, e);
            }
            q.execute(c).await.map(|_| ())
        })
        .map_err(|e| StoreError::from_insert(e, "ledger entry"))?;
    }
    Ok(())
}
