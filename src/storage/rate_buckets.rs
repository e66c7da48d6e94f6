//! Partners' token buckets shared by every replica (migration 0011). The rule that fills and
//! spends a bucket is `rate_limit`'s; here a bucket is read under its row's lock, handed to that
//! rule, and written back in the same transaction, so two replicas never spend the same tokens.

use chrono::{DateTime, Utc};

use super::{Db, StoreError, Tx};
use crate::with_tx;

/// A partner's bucket as stored: its tokens as of `refilled_at`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BucketRow {
    pub tokens: f64,
    pub refilled_at: DateTime<Utc>,
}

impl Db {
    /// Runs `decide` on `partner`'s bucket (`fresh` when it has none yet) while holding its row,
    /// stores the bucket `decide` returns and hands back its verdict.
    pub async fn update_rate_bucket<R>(
        &self,
        partner: &str,
        fresh: BucketRow,
        decide: impl FnOnce(BucketRow) -> (BucketRow, R),
    ) -> Result<R, StoreError> {
        let mut tx = self.begin().await?;
        let current = locked_bucket(&mut tx, partner, fresh).await?;
        let (next, verdict) = decide(current);
        with_tx!(&mut tx, c => sqlx::query(
            "UPDATE rate_buckets SET tokens = $2, refilled_at = $3 WHERE partner_id = $1")
            .bind(partner).bind(next.tokens).bind(next.refilled_at)
            .execute(c).await.map(|_| ()))?;
        tx.commit().await?;
        Ok(verdict)
    }
}

/// The bucket's row, made if missing, locked until the transaction ends (SQLite's write
/// transaction holds the whole database already).
async fn locked_bucket(
    tx: &mut Tx,
    partner: &str,
    fresh: BucketRow,
) -> Result<BucketRow, StoreError> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO rate_buckets (partner_id, tokens, refilled_at) VALUES ($1, $2, $3) \
         ON CONFLICT (partner_id) DO NOTHING")
        .bind(partner).bind(fresh.tokens).bind(fresh.refilled_at)
        .execute(c).await.map(|_| ()))?;
    let sql = match tx.dialect() {
        super::Dialect::Sqlite => {
            "SELECT tokens, refilled_at FROM rate_buckets WHERE partner_id = $1"
        }
        super::Dialect::Postgres => {
            "SELECT tokens, refilled_at FROM rate_buckets WHERE partner_id = $1 FOR UPDATE"
        }
    };
    let (tokens, refilled_at): (f64, DateTime<Utc>) =
        with_tx!(tx, c => sqlx::query_as(sql).bind(partner).fetch_one(c).await)?;
    Ok(BucketRow {
        tokens,
        refilled_at,
    })
}
