//! Storage: one schema, two SQL dialects. SQLite (embedded, the default) and PostgreSQL
//! (scale-out) are chosen by the URL scheme; each has its own migrations. Queries are written
//! once with `$1`-style placeholders (both engines accept them) and run on either pool through
//! [`with_db!`], so the same tests cover the same SQL on both databases.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

pub mod activity;
pub mod artifacts;
pub mod audit;
pub mod consents;
pub mod disputes;
pub mod enterprises;
pub mod facts;
pub mod feed_tables;
pub mod feeds;
pub mod households;
pub mod ledger;
pub mod loans;
pub mod models;
pub mod overview;
pub mod partners;
pub mod public_records;
pub mod rate_buckets;
pub mod refusals;
pub mod revisions;
pub mod scheduled_runs;
pub mod service_meta;
pub mod staging;
pub mod tax;
pub mod users;
pub mod verifications;

/// A connection pool for the dialect in use.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// What callers need to tell apart; everything else is `Other` and becomes a logged 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Other(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Maps a unique-constraint violation to `Conflict`, where the query ran, instead of a racy
    /// check-then-insert.
    pub fn from_insert(err: sqlx::Error, what: &str) -> StoreError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("{what} already exists"))
            }
            _ => StoreError::Other(err),
        }
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool, type-checked once per dialect.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::storage::Db::Sqlite($pool) => $body,
            $crate::storage::Db::Postgres($pool) => $body,
        }
    };
}

/// An open transaction on either dialect. Work that must be all-or-nothing (a feed batch, an
/// audit record with its chain head) runs in one.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's concrete connection.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::storage::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::storage::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// The placeholders of a multi-row `VALUES (…),(…)` of `rows` rows × `width` columns. SQLite
/// gets anonymous `?`: it resolves each named `$N` by a linear search over the names seen so far,
/// which makes preparing a long statement quadratic.
pub fn values_placeholders(dialect: Dialect, rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    let mut n = 1;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ",(" });
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            match dialect {
                Dialect::Sqlite => sql.push('?'),
                Dialect::Postgres => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
            }
            n += 1;
        }
        sql.push(')');
    }
    sql
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Undoes everything the transaction did (a dry run's way out).
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// Creates the database file empty with mode 0600 before SQLite opens it (SQLite gives its WAL
/// and shared-memory files the database file's mode), or warns when an existing one is readable
/// by other users. `:memory:` and friends are left alone.
fn create_private_file(file: &Path) -> std::io::Result<()> {
    if file.as_os_str().is_empty() || file.to_string_lossy().starts_with(':') {
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            crate::pii::warn_if_shared(file);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// WAL size (in 4 KiB frames, so 16 MiB) past which the log is started over (`Db::checkpoint`).
const WAL_RESET_FRAMES: i64 = 4_096;

/// The busy timeout of every SQLite connection (also restored after `Db::restart_wal`).
const BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 10000";

/// Prepared statements kept per connection. Multi-row inserts (feed batches, audit groups)
/// have a statement per row count; sqlx's default of 100 would evict and re-prepare them.
const STATEMENT_CACHE: usize = 1_200;

impl Db {
    /// Starts a write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE):
    /// a deferred transaction that later writes can fail with SQLITE_BUSY instead of waiting.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Opens the database at `url`, creating an SQLite file (and its folder) if missing, and
    /// applies the dialect's migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        Self::open(url, max_connections, true).await
    }

    /// A connection for the audit writer. On SQLite it never checkpoints the WAL itself: a
    /// checkpoint copies and syncs a thousand pages inside whichever commit triggers it, which
    /// stalled every request waiting on that group. `checkpoint` runs them beside it instead.
    pub async fn connect_writer(url: &str) -> Result<Db, StoreError> {
        Self::open(url, 1, false).await
    }

    /// Copies committed WAL frames into the database file without waiting for anyone (SQLite's
    /// PASSIVE checkpoint) and says whether the log has outgrown `WAL_RESET_FRAMES`. Under steady
    /// writes the log is never wholly copied at the moment a writer starts, so SQLite never starts
    /// it over by itself: the audit writer does, between groups (`restart_wal`). Nothing to do on
    /// PostgreSQL.
    pub async fn checkpoint(&self) -> Result<bool, StoreError> {
        if let Db::Sqlite(p) = self {
            let (_busy, log_frames, _copied): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(p)
                    .await?;
            return Ok(log_frames > WAL_RESET_FRAMES);
        }
        Ok(false)
    }

    /// Copies what the last PASSIVE checkpoint left and starts the WAL over (RESTART), without
    /// waiting: if a reader still needs the old log the restart is skipped and asked for again.
    /// Meant for the audit writer's own connection, between its transactions.
    pub async fn restart_wal(&self) -> Result<(), StoreError> {
        if let Db::Sqlite(p) = self {
            let started = std::time::Instant::now();
            let mut conn = p.acquire().await?;
            sqlx::query("PRAGMA busy_timeout = 0")
                .execute(&mut *conn)
                .await?;
            let result: Result<(i64, i64, i64), sqlx::Error> =
                sqlx::query_as("PRAGMA wal_checkpoint(RESTART)")
                    .fetch_one(&mut *conn)
                    .await;
            sqlx::query(BUSY_TIMEOUT).execute(&mut *conn).await?;
            let (busy, log_frames, copied) = result?;
            tracing::debug!(busy, log_frames, copied, took = ?started.elapsed(), "WAL restart");
        }
        Ok(())
    }

    async fn open(url: &str, max_connections: u32, autocheckpoint: bool) -> Result<Db, StoreError> {
        let db = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .pragma(
                    "wal_autocheckpoint",
                    if autocheckpoint { "1000" } else { "0" },
                )
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // WAL + NORMAL is durable against process crashes and much faster than FULL.
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .statement_cache_capacity(STATEMENT_CACHE)
                // Reads go through a shared memory map instead of a pread per page, and each
                // connection keeps more pages: the audit log's subject index is written at random
                // places, which with the default 2 MB cache meant reading pages back per insert.
                .pragma("mmap_size", "1073741824")
                .pragma("cache_size", "-16384");
            let file = Path::new(opts.get_filename());
            if let Some(dir) = file.parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                }
            }
            create_private_file(file).map_err(sqlx::Error::Io)?;
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                // An embedded file does not drop connections: a ping before each use would only
                // cost a round trip to the connection's thread.
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?.statement_cache_capacity(STATEMENT_CACHE);
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Db::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, p => p.close().await)
    }
}

#[cfg(test)]
mod placeholder_tests {
    use super::*;

    #[test]
    fn placeholders_number_every_value_on_postgres_and_are_anonymous_on_sqlite() {
        assert_eq!(
            values_placeholders(Dialect::Postgres, 2, 3),
            "($1,$2,$3),($4,$5,$6)"
        );
        assert_eq!(values_placeholders(Dialect::Sqlite, 2, 2), "(?,?),(?,?)");
    }
}
