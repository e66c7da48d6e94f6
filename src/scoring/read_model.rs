//! The serving read model: partners (with their keys), consents and subjects' facts held in
//! memory, so that a score costs no database round trip but its audit record's. Each cache is
//! dropped when its data changes: at once for writes made through this process; on PostgreSQL
//! as soon as the database notifies the change (`spawn_listener`) for writes made anywhere else
//! (the CLI, another replica, a purge); and in any case within `read_model_refresh_ms`, by the
//! poll of the counters the database's triggers keep in `data_revisions` (see
//! `storage::revisions`).
//!
//! A load races a change only harmlessly: every domain has a generation, bumped when it is
//! invalidated, and a value loaded under an older generation is returned but not kept.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use moka::sync::Cache;

use crate::storage::consents::Consent;
use crate::storage::facts::{self, FarmerFacts, SmeFacts, Village};
use crate::storage::partners::{key_digest, Partner, PartnerKey};
use crate::storage::revisions::{Heard, Revised};
use crate::storage::{Db, StoreError};

/// Anything cached is reloaded after this long even if no change was seen: a safety net for
/// edits made behind the triggers' back.
const TIME_TO_LIVE: Duration = Duration::from_secs(15 * 60);
const MAX_PARTNERS: u64 = 10_000;
const MAX_CONSENTS: u64 = 200_000;

pub struct ReadModel {
    partners: Cache<String, (Partner, PartnerKey)>,
    consents: Cache<String, Consent>,
    sme: Cache<String, Arc<SmeFacts>>,
    households: Cache<String, Arc<FarmerFacts>>,
    villages: Cache<String, Village>,
    generations: [AtomicU64; 3],
    /// The counters last read from the database.
    seen: Mutex<Option<[i64; 3]>>,
}

impl ReadModel {
    /// Facts caches bounded to about `facts_mb` megabytes (by estimated size).
    pub fn new(facts_mb: u64) -> ReadModel {
        let facts_bytes = facts_mb.max(1) * 1024 * 1024;
        ReadModel {
            partners: Cache::builder()
                .max_capacity(MAX_PARTNERS)
                .time_to_live(TIME_TO_LIVE)
                .build(),
            consents: Cache::builder()
                .max_capacity(MAX_CONSENTS)
                .time_to_live(TIME_TO_LIVE)
                .build(),
            sme: Cache::builder()
                .max_capacity(facts_bytes / 2)
                .weigher(|_, f: &Arc<SmeFacts>| sme_weight(f))
                .time_to_live(TIME_TO_LIVE)
                .build(),
            households: Cache::builder()
                .max_capacity(facts_bytes / 4)
                .weigher(|_, f: &Arc<FarmerFacts>| household_weight(f))
                .time_to_live(TIME_TO_LIVE)
                .build(),
            villages: Cache::builder()
                .max_capacity(facts_bytes / 4)
                .weigher(|_, v: &Village| weight(v.iter().map(|h| 8 + h.len() * 40).sum()))
                .time_to_live(TIME_TO_LIVE)
                .build(),
            generations: Default::default(),
            seen: Mutex::new(None),
        }
    }

    /// The partner holding `key` and the key's record, in force or not (the caller judges both at
    /// its own "now", so a key's end of overlap needs no invalidation).
    pub async fn partner_by_key(
        &self,
        db: &Db,
        key: &str,
    ) -> Result<Option<(Partner, PartnerKey)>, StoreError> {
        let digest = key_digest(key);
        self.cached(&self.partners, Revised::Partners, digest, || async {
            db.partner_by_key(key).await
        })
        .await
    }

    pub async fn consent(&self, db: &Db, id: &str) -> Result<Consent, StoreError> {
        self.cached(&self.consents, Revised::Consents, id.to_owned(), || async {
            match db.consent(id).await {
                Ok(c) => Ok(Some(c)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await?
        .ok_or(StoreError::NotFound)
    }

    /// An enterprise's facts, enough for characteristics at `at` and any later date (payments
    /// from 25 months before the date they were loaded on).
    pub async fn sme_facts(
        &self,
        db: &Db,
        uscc: &str,
        at: NaiveDate,
    ) -> Result<Arc<SmeFacts>, StoreError> {
        let facts = self
            .cached(&self.sme, Revised::Facts, uscc.to_owned(), || async {
                facts::sme_facts(db, uscc, at)
                    .await
                    .map(|f| Some(Arc::new(f)))
            })
            .await?;
        Ok(facts.expect("loader always returns facts"))
    }

    /// A household's facts with its village, which all its households share.
    pub async fn farmer_facts(
        &self,
        db: &Db,
        subject_key: &str,
    ) -> Result<Arc<FarmerFacts>, StoreError> {
        let facts = self
            .cached(
                &self.households,
                Revised::Facts,
                subject_key.to_owned(),
                || async {
                    let (mut facts, village_code) = facts::household_facts(db, subject_key).await?;
                    if let Some(code) = village_code {
                        facts.village = self
                            .cached(&self.villages, Revised::Facts, code.clone(), || async {
                                facts::village(db, &code).await.map(Some)
                            })
                            .await?
                            .expect("loader always returns a village");
                    }
                    Ok(Some(Arc::new(facts)))
                },
            )
            .await?;
        Ok(facts.expect("loader always returns facts"))
    }

    /// Drops everything cached of `what` (for writes made through this process).
    pub fn invalidate(&self, what: Revised) {
        self.generations[what as usize].fetch_add(1, Ordering::SeqCst);
        match what {
            Revised::Partners => self.partners.invalidate_all(),
            Revised::Consents => self.consents.invalidate_all(),
            Revised::Facts => {
                self.sme.invalidate_all();
                self.households.invalidate_all();
                self.villages.invalidate_all();
            }
        }
    }

    /// Drops every cache (when changes may have gone unheard).
    pub fn invalidate_all(&self) {
        for what in Revised::ALL {
            self.invalidate(what);
        }
    }

    /// Reads the change counters and drops whatever changed since the last read.
    pub async fn refresh(&self, db: &Db) -> Result<(), StoreError> {
        let now = db.data_revisions().await?;
        let before = self.seen.lock().expect("read model lock").replace(now);
        if let Some(before) = before {
            for (what, (a, b)) in Revised::ALL.into_iter().zip(before.iter().zip(now)) {
                if *a != b {
                    tracing::debug!(?what, "data changed; dropping cached values");
                    self.invalidate(what);
                }
            }
        }
        Ok(())
    }

    /// The value under `key`, loaded on a miss; `None` from the loader is returned, not kept.
    async fn cached<K, V, F, Fut>(
        &self,
        cache: &Cache<K, V>,
        domain: Revised,
        key: K,
        load: F,
    ) -> Result<Option<V>, StoreError>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<V>, StoreError>>,
    {
        if let Some(v) = cache.get(&key) {
            return Ok(Some(v));
        }
        let generation = &self.generations[domain as usize];
        let before = generation.load(Ordering::SeqCst);
        let loaded = load().await?;
        if let Some(v) = &loaded {
            if generation.load(Ordering::SeqCst) == before {
                cache.insert(key, v.clone());
            }
        }
        Ok(loaded)
    }
}

/// On PostgreSQL, drops a cache as soon as its change is notified (`storage::revisions`), so a
/// consent or key revoked through another replica is refused here within milliseconds; the poll
/// ([`spawn_refresh`]) stays as the fallback. Should the listening connection drop, everything
/// is dropped (changes may have been missed) and listening resumes. Ends at once on SQLite.
pub fn spawn_listener(model: Arc<ReadModel>, db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match db.listen_revisions().await {
                Ok(None) => return,
                Ok(Some(mut listener)) => loop {
                    match listener.next().await {
                        Ok(Heard::Changed(what)) => model.invalidate(what),
                        Ok(Heard::Lost) => {
                            tracing::warn!(
                                "change notifications interrupted; dropping every cache"
                            );
                            model.invalidate_all();
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "change notifications failed; dropping every cache");
                            model.invalidate_all();
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!(error = %e, "cannot listen for change notifications"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// Runs [`ReadModel::refresh`] every `every` until the task is aborted.
pub fn spawn_refresh(
    model: Arc<ReadModel>,
    db: Db,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = model.refresh(&db).await {
                tracing::warn!(error = %e, "read model refresh failed");
            }
        }
    })
}

fn weight(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

// Estimated heap bytes of an entry: enough to bound the cache's memory, not an exact count.
fn sme_weight(f: &SmeFacts) -> u32 {
    weight(160 + f.grades.len() * 48 + f.payments.len() * 112 + f.records.len() * 64)
}

fn household_weight(f: &FarmerFacts) -> u32 {
    weight(200 + f.assessments.len() * 96 + f.loans.len() * 24 + f.records.len() * 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Arc<SmeFacts> {
        Arc::new(SmeFacts::default())
    }

    #[tokio::test]
    async fn a_value_is_kept_only_if_nothing_changed_while_it_loaded() {
        let model = ReadModel::new(16);
        let key = "k".to_owned();

        // A change lands while the value loads: it is returned but not kept.
        let got = model
            .cached(&model.sme, Revised::Facts, key.clone(), || async {
                model.invalidate(Revised::Facts);
                Ok(Some(facts()))
            })
            .await
            .unwrap();
        assert!(got.is_some());
        assert!(model.sme.get(&key).is_none());

        // Without a change it is kept, and a change of another domain leaves it.
        model
            .cached(&model.sme, Revised::Facts, key.clone(), || async {
                Ok(Some(facts()))
            })
            .await
            .unwrap();
        assert!(model.sme.get(&key).is_some());
        model.invalidate(Revised::Consents);
        assert!(model.sme.get(&key).is_some());
        model.invalidate(Revised::Facts);
        assert!(model.sme.get(&key).is_none());
    }

    #[tokio::test]
    async fn nothing_found_is_not_cached() {
        let model = ReadModel::new(16);
        let got = model
            .cached(
                &model.consents,
                Revised::Consents,
                "c".to_owned(),
                || async { Ok(None) },
            )
            .await
            .unwrap();
        assert!(got.is_none());
        assert_eq!(model.consents.entry_count(), 0);
        assert!(model.consents.get("c").is_none());
    }
}
