//! `service_meta`: single facts about the deployment (the PII key's fingerprint, the wrapped
//! data key).

use super::{Db, StoreError};
use crate::{with_db, with_tx};

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

    /// A key rotation's one transaction: `fingerprint` = (name, old, new) is replaced only if it
    /// still holds `old` (another rotation that got there first is a conflict), and `wrapped` =
    /// (name, value) is set beside it.
    pub async fn replace_pii_custody(
        &self,
        fingerprint: (&str, &str, &str),
        wrapped: (&str, &str),
    ) -> Result<(), StoreError> {
        let (name, old, new) = fingerprint;
        let mut tx = self.begin().await?;
        let n = with_tx!(&mut tx, c => sqlx::query(
            "UPDATE service_meta SET value = $3 WHERE name = $1 AND value = $2")
            .bind(name).bind(old).bind(new).execute(c).await.map(|r| r.rows_affected()))?;
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "{name} changed meanwhile: another rotation ran"
            )));
        }
        with_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO service_meta (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(wrapped.0).bind(wrapped.1).execute(c).await.map(|_| ()))?;
        tx.commit().await
    }

    /// Replaces the value under `name`.
    pub async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "INSERT INTO service_meta (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(name).bind(value).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
