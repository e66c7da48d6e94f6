//! The slow parts of a batch's life outside its import's critical path, each a loop of short
//! transactions (`storage::staging`): deleting a refused or abandoned batch's staged rows,
//! deleting the versions a visible batch replaced, and at start-up (and before each import)
//! finishing what a dead importer left. See docs/feeds.md, Staging.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::FeedKind;
use crate::storage::feed_tables::shape_of;
use crate::storage::staging::{self, Shape};
use crate::storage::{Db, Dialect, StoreError};

/// After a transaction that held SQLite's write lock for `held`, leave the lock free for as long
/// (at least 10 ms, at most 100 ms). SQLite has no queue for its write lock: a score's audit write
/// or a revocation that finds it taken sleeps in the busy handler and looks again after 1, 2, 5,
/// 10, 15 … ms. A gap at least as long as those first sleeps means a writer that began waiting
/// during a slice looks again inside the gap that follows it, so it waits about one slice, not
/// the whole file. PostgreSQL writers do not queue behind an import's rows: no gap there.
pub async fn yield_write_lock(db: &Db, held: Duration) {
    if db.dialect() == Dialect::Sqlite {
        let gap = held.clamp(Duration::from_millis(10), Duration::from_millis(100));
        tokio::time::sleep(gap).await;
    }
}

/// Deletes an invisible batch's staged rows a slice at a time, then its record: after a refusal
/// nothing of it is left, and its idempotency key is free again.
pub async fn discard(
    db: &Db,
    kind: FeedKind,
    batch_id: &str,
    slice: u64,
) -> Result<(), StoreError> {
    let shape = shape_of(kind);
    loop {
        let started = Instant::now();
        let n = staging::discard_slice(db, shape, batch_id, slice.max(1) as i64).await?;
        if n == 0 {
            break;
        }
        yield_write_lock(db, started.elapsed()).await;
    }
    staging::forget(db, batch_id).await
}

/// Deletes the older versions of every key a visible batch replaced, a slice at a time.
pub async fn compact(
    db: &Db,
    shape: Shape,
    batch_id: &str,
    seq: i64,
    slice: u64,
) -> Result<(), StoreError> {
    if shape.replaces {
        let mut after: Option<Vec<String>> = None;
        loop {
            let started = Instant::now();
            let next = staging::compact_slice(
                db,
                shape,
                batch_id,
                seq,
                after.as_deref(),
                slice.max(1) as usize,
            )
            .await?;
            yield_write_lock(db, started.elapsed()).await;
            match next {
                Some(last) => after = Some(last),
                None => break,
            }
        }
    }
    staging::compacted(db, batch_id).await
}

/// What `finish_abandoned` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Invisible batches deleted with their staged rows.
    pub discarded: u64,
    /// Visible batches whose replaced versions were deleted.
    pub compacted: u64,
}

/// Finishes the batches whose importer made no progress for `lease` before `now` (it died, or
/// was killed): an invisible batch is deleted with its staged rows, a visible one has the
/// versions it replaced deleted. Readers saw none of the former and all of the latter
/// throughout; this only reclaims space and frees idempotency keys. Live importers' batches
/// (heartbeat within the lease) are left alone.
pub async fn finish_abandoned(
    db: &Db,
    now: DateTime<Utc>,
    lease: Duration,
    slice: u64,
) -> Result<Finished, StoreError> {
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(36_500));
    let mut done = Finished::default();
    for batch in db.unfinished_batches().await? {
        let alive = batch
            .heartbeat_at
            .is_some_and(|at| at.checked_add_signed(lease).is_some_and(|end| end > now));
        if alive {
            continue;
        }
        let Ok(kind) = batch.kind.parse::<FeedKind>() else {
            tracing::warn!(batch = %batch.batch_id, kind = %batch.kind, "unfinished batch of an unknown kind left alone");
            continue;
        };
        match batch.visible_seq {
            None => {
                discard(db, kind, &batch.batch_id, slice).await?;
                done.discarded += 1;
            }
            Some(seq) => {
                compact(db, shape_of(kind), &batch.batch_id, seq, slice).await?;
                done.compacted += 1;
            }
        }
        tracing::info!(batch = %batch.batch_id, kind = %batch.kind, visible = batch.visible_seq.is_some(), "finished an abandoned feed batch");
    }
    Ok(done)
}
