//! `service_meta`: single facts about the deployment (today the PII key's fingerprint).

use super::{Db, StoreError};
use crate::with_db;

impl Db {
    /// Records `value` under `name` unless a value is already there, and returns the value in
    /// force: the first writer wins, so replicas starting together agree on one.
    pub async fn meta_first_or_existing(
        &self,
        name: &str,
        value: &str,
    ) -> Result<String, StoreError> {
        with_db!(self, p => sqlx::query(
            "INSERT INTO service_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name).bind(value).execute(p).await.map(|_| ()))?;
        self.meta(name).await?.ok_or(StoreError::NotFound)
    }

    pub async fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_scalar::<_, String>(
            "SELECT value FROM service_meta WHERE name = $1")
            .bind(name).fetch_optional(p).await)?)
    }

    /// Replaces the value under `name` (a key rotation's last step).
    pub async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "INSERT INTO service_meta (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(name).bind(value).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
