//! Rate limits (issue 18): what a partner may ask per minute, counted in scores, across every
//! replica; and what one address may send without a valid key.
//!
//! A partner's allowance is a token bucket holding at most `rate_limit_per_minute` tokens and
//! refilled continuously at that rate. Every authenticated request costs one token when its head
//! arrives; a score batch of n costs n in all, the other n − 1 taken once its body is read, all
//! or none (a batch larger than the whole allowance can never pass: `Limited::Exceeds`).
//!
//! Where the bucket lives depends on how many processes serve: one SQLite process keeps its
//! buckets in memory; PostgreSQL replicas share one bucket per partner in the database
//! (`storage::rate_buckets`). A replica takes a *slice* (1 % of the per-minute limit, at least
//! one token, or what a batch needs) from the shared bucket and spends it locally, so the
//! database sees one short transaction per slice rather than per score. Tokens only ever come
//! out of the shared bucket, so over any span of time a partner gets at most one minute's worth
//! plus what refilled, plus what the replicas held in slices when the span began: the error is at
//! most one slice per replica over the limit, and as much under it when slices go unspent.
//!
//! Time is the application's clock, so tests move it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::storage::rate_buckets::BucketRow;
use crate::storage::{Db, Dialect, StoreError};

/// Why a request may not go ahead.
#[derive(Debug, thiserror::Error)]
pub enum Limited {
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    Wait { retry_after_secs: u64 },
    #[error("a batch of {cost} scores exceeds the limit of {limit} per minute; send at most {limit} per batch")]
    Exceeds { cost: u64, limit: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Rounding slack: a bucket refilled to 2.9999999 tokens holds 3.
const EPSILON: f64 = 1e-9;

/// The bucket rule: continuous refill at `per_minute` up to `per_minute` tokens.
#[derive(Clone, Copy, Debug)]
struct Rule {
    per_minute: f64,
}

impl Rule {
    fn new(per_minute: u32) -> Self {
        Rule {
            per_minute: f64::from(per_minute.max(1)),
        }
    }

    fn per_second(self) -> f64 {
        self.per_minute / 60.0
    }

    fn full(self, now: DateTime<Utc>) -> BucketRow {
        BucketRow {
            tokens: self.per_minute,
            refilled_at: now,
        }
    }

    /// The bucket as of `now`. A clock behind the bucket's (another replica's) adds nothing.
    fn refill(self, b: BucketRow, now: DateTime<Utc>) -> BucketRow {
        let elapsed = (now - b.refilled_at).num_microseconds().unwrap_or(i64::MAX);
        let elapsed = elapsed.max(0) as f64 / 1e6;
        BucketRow {
            tokens: (b.tokens + elapsed * self.per_second()).min(self.per_minute),
            refilled_at: b.refilled_at.max(now),
        }
    }

    /// Whole seconds until `tokens` more have refilled (at least one).
    fn wait_for(self, tokens: f64) -> u64 {
        (tokens / self.per_second()).ceil().max(1.0) as u64
    }

    /// Takes `cost` from `b` (refilled to `now`) or says how long until it could.
    fn take(self, b: BucketRow, cost: f64, now: DateTime<Utc>) -> (BucketRow, Result<(), u64>) {
        let mut b = self.refill(b, now);
        if b.tokens + EPSILON >= cost {
            b.tokens = (b.tokens - cost).max(0.0);
            (b, Ok(()))
        } else {
            let wait = self.wait_for(cost - b.tokens);
            (b, Err(wait))
        }
    }
}

/// Where partners' buckets are kept.
enum Buckets {
    /// One process: the buckets themselves.
    Local(Mutex<HashMap<String, BucketRow>>),
    /// Replicas over one database: the buckets there, and the tokens this replica took from
    /// each in slices and has not spent yet.
    Shared {
        db: Db,
        slice: f64,
        held: Mutex<HashMap<String, f64>>,
    },
}

/// The partners' limits and the unauthenticated one, as one replica enforces them.
pub struct RateLimiter {
    rule: Rule,
    buckets: Buckets,
    unauthenticated: IpLimiter,
}

impl RateLimiter {
    /// Buckets shared through `db` when it is PostgreSQL (replicas), in memory on SQLite (one
    /// process).
    pub fn for_database(per_minute: u32, unauthenticated_per_minute: u32, db: &Db) -> Self {
        match db.dialect() {
            Dialect::Sqlite => Self::local(per_minute, unauthenticated_per_minute),
            Dialect::Postgres => Self::shared(per_minute, unauthenticated_per_minute, db),
        }
    }

    /// Buckets in this process's memory.
    pub fn local(per_minute: u32, unauthenticated_per_minute: u32) -> Self {
        RateLimiter {
            rule: Rule::new(per_minute),
            buckets: Buckets::Local(Mutex::default()),
            unauthenticated: IpLimiter::new(unauthenticated_per_minute),
        }
    }

    /// Buckets in `db`, spent here in slices.
    pub fn shared(per_minute: u32, unauthenticated_per_minute: u32, db: &Db) -> Self {
        let rule = Rule::new(per_minute);
        RateLimiter {
            rule,
            buckets: Buckets::Shared {
                db: db.clone(),
                slice: (rule.per_minute / 100.0).floor().max(1.0),
                held: Mutex::default(),
            },
            unauthenticated: IpLimiter::new(unauthenticated_per_minute),
        }
    }

    /// The most one request may cost: a minute's worth.
    pub fn per_minute(&self) -> u64 {
        self.rule.per_minute as u64
    }

    /// Takes one token for a request of `partner`.
    pub async fn take_request(&self, partner: &str, now: DateTime<Utc>) -> Result<(), Limited> {
        self.take(partner, 1, now).await
    }

    /// The rest of a batch of `size` scores whose request already paid one token: all of it or
    /// nothing.
    pub async fn take_batch_rest(
        &self,
        partner: &str,
        size: u64,
        now: DateTime<Utc>,
    ) -> Result<(), Limited> {
        if size > self.per_minute() {
            return Err(Limited::Exceeds {
                cost: size,
                limit: self.per_minute(),
            });
        }
        match size.saturating_sub(1) {
            0 => Ok(()),
            rest => self.take(partner, rest, now).await,
        }
    }

    async fn take(&self, partner: &str, cost: u64, now: DateTime<Utc>) -> Result<(), Limited> {
        let cost = cost as f64;
        match &self.buckets {
            Buckets::Local(buckets) => {
                let mut buckets = buckets.lock().expect("rate limiter lock");
                let bucket = buckets
                    .entry(partner.to_owned())
                    .or_insert_with(|| self.rule.full(now));
                let (next, verdict) = self.rule.take(*bucket, cost, now);
                *bucket = next;
                verdict.map_err(|retry_after_secs| Limited::Wait { retry_after_secs })
            }
            Buckets::Shared { db, slice, held } => {
                // What this replica holds is taken out while the database is asked, so two of
                // its requests never spend the same tokens; what is left goes back after.
                let in_hand = {
                    let mut held = held.lock().expect("rate limiter lock");
                    let in_hand = held.get(partner).copied().unwrap_or(0.0);
                    if in_hand + EPSILON >= cost {
                        held.insert(partner.to_owned(), in_hand - cost);
                        return Ok(());
                    }
                    held.remove(partner);
                    in_hand
                };
                let need = cost - in_hand;
                let (rule, slice) = (self.rule, *slice);
                let taken = db
                    .update_rate_bucket(partner, rule.full(now), |bucket| {
                        let refilled = rule.refill(bucket, now);
                        // A slice, or what this request needs if more, or less than a slice
                        // if that is all there is.
                        let want = need.max(slice).min((refilled.tokens + EPSILON).floor());
                        let want = if want + EPSILON >= need { want } else { need };
                        let (next, verdict) = rule.take(refilled, want, now);
                        (next, verdict.map(|()| want))
                    })
                    .await;
                let give_back = |tokens: f64| {
                    let mut held = held.lock().expect("rate limiter lock");
                    *held.entry(partner.to_owned()).or_insert(0.0) += tokens;
                };
                match taken {
                    Ok(Ok(taken)) => {
                        give_back((in_hand + taken - cost).max(0.0));
                        Ok(())
                    }
                    Ok(Err(retry_after_secs)) => {
                        give_back(in_hand);
                        Err(Limited::Wait { retry_after_secs })
                    }
                    Err(e) => {
                        give_back(in_hand);
                        Err(e.into())
                    }
                }
            }
        }
    }

    /// Charges one failed authentication to `ip` (`None`: the address is not known, as for a
    /// request that did not come through a socket); `Wait` once its allowance is spent.
    pub fn charge_unauthenticated(
        &self,
        ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), Limited> {
        self.unauthenticated
            .charge(ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), now)
            .map_err(|retry_after_secs| Limited::Wait { retry_after_secs })
    }
}

/// Addresses followed at most; beyond, new ones share one bucket (memory stays bounded however
/// many addresses a flood comes from).
pub const MAX_TRACKED_ADDRESSES: usize = 65_536;

/// Requests without a valid key (missing, malformed, unknown, revoked), per client address, in
/// this replica's memory: a guard against key guessing and floods, not a contract, so it need not
/// be shared.
struct IpLimiter {
    rule: Rule,
    buckets: Mutex<Addresses>,
}

#[derive(Default)]
struct Addresses {
    buckets: HashMap<IpAddr, BucketRow>,
    /// When full buckets were last forgotten: at most once a second, since it walks them all.
    swept_at: Option<DateTime<Utc>>,
}

impl IpLimiter {
    fn new(per_minute: u32) -> Self {
        IpLimiter {
            rule: Rule::new(per_minute),
            buckets: Mutex::default(),
        }
    }

    fn charge(&self, ip: IpAddr, now: DateTime<Utc>) -> Result<(), u64> {
        let rule = self.rule;
        let mut addresses = self.buckets.lock().expect("rate limiter lock");
        let Addresses { buckets, swept_at } = &mut *addresses;
        let full = |b: &HashMap<IpAddr, BucketRow>| {
            !b.contains_key(&ip) && b.len() >= MAX_TRACKED_ADDRESSES
        };
        if full(buckets) && swept_at.is_none_or(|t| now - t >= chrono::Duration::seconds(1)) {
            // A full bucket is the same as none: those are forgotten first.
            buckets.retain(|_, b| rule.refill(*b, now).tokens + EPSILON < rule.per_minute);
            *swept_at = Some(now);
        }
        let ip = if full(buckets) {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            ip
        };
        let bucket = buckets.entry(ip).or_insert_with(|| rule.full(now));
        let (next, verdict) = rule.take(*bucket, 1.0, now);
        *bucket = next;
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-11-28T10:00:00Z".parse().unwrap()
    }

    fn secs(n: i64) -> chrono::Duration {
        chrono::Duration::seconds(n)
    }

    #[test]
    fn a_bucket_gives_its_burst_then_waits_for_refill() {
        let rule = Rule::new(3);
        let mut b = rule.full(t0());
        for _ in 0..3 {
            let (next, verdict) = rule.take(b, 1.0, t0());
            assert_eq!(verdict, Ok(()));
            b = next;
        }
        let (b, verdict) = rule.take(b, 1.0, t0());
        assert_eq!(verdict, Err(20), "one token per 20 s at 3 per minute");
        let (_, verdict) = rule.take(b, 1.0, t0() + secs(19));
        assert_eq!(verdict, Err(1));
        let (_, verdict) = rule.take(b, 1.0, t0() + secs(20));
        assert_eq!(verdict, Ok(()));
    }

    #[test]
    fn a_cost_is_taken_whole_or_not_at_all() {
        let rule = Rule::new(60);
        let b = BucketRow {
            tokens: 5.0,
            refilled_at: t0(),
        };
        let (after, verdict) = rule.take(b, 8.0, t0());
        assert_eq!(verdict, Err(3), "three tokens short at one a second");
        assert_eq!(after.tokens, 5.0, "nothing spent on a refusal");
    }

    #[test]
    fn a_bucket_never_holds_more_than_a_minute_and_ignores_a_clock_behind_it() {
        let rule = Rule::new(10);
        let b = rule.refill(
            BucketRow {
                tokens: 0.0,
                refilled_at: t0(),
            },
            t0() + secs(3600),
        );
        assert_eq!(b.tokens, 10.0);
        let behind = rule.refill(b, t0());
        assert_eq!(
            (behind.tokens, behind.refilled_at),
            (10.0, t0() + secs(3600))
        );
    }

    #[tokio::test]
    async fn partners_have_separate_buckets_and_a_batch_pays_all_or_nothing() {
        let limiter = RateLimiter::local(3, 10);
        limiter.take_request("p1", t0()).await.unwrap();
        limiter.take_batch_rest("p1", 3, t0()).await.unwrap();
        assert!(matches!(
            limiter.take_request("p1", t0()).await,
            Err(Limited::Wait {
                retry_after_secs: 20
            })
        ));
        limiter.take_request("p2", t0()).await.unwrap();
        // p2 holds 2 after its request: a batch of 3 needs 2 more and gets them; one of 4 can
        // never pass.
        assert!(matches!(
            limiter.take_batch_rest("p2", 4, t0()).await,
            Err(Limited::Exceeds { cost: 4, limit: 3 })
        ));
        limiter.take_batch_rest("p2", 3, t0()).await.unwrap();
    }

    #[test]
    fn unauthenticated_requests_are_limited_per_address_in_bounded_memory() {
        let limiter = IpLimiter::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(limiter.charge(a, t0()), Ok(()));
        assert_eq!(limiter.charge(a, t0()), Ok(()));
        assert_eq!(limiter.charge(a, t0()), Err(30));
        assert_eq!(limiter.charge(b, t0()), Ok(()), "another address");
        for i in 0..(MAX_TRACKED_ADDRESSES as u32 + 10) {
            let _ = limiter.charge(IpAddr::V4(Ipv4Addr::from(i.wrapping_add(1 << 24))), t0());
        }
        assert!(limiter.buckets.lock().unwrap().buckets.len() <= MAX_TRACKED_ADDRESSES + 1);
        assert_eq!(limiter.charge(a, t0()), Err(30), "still refused");
    }
}
