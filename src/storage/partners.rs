//! Partners and their keys. A partner (an organisation with a role) holds one or more keys; its
//! consents, history and rate limit belong to the partner, so a key can be rotated without them
//! changing hands. Keys are shown once at creation and stored only as SHA-256: a key carries 256
//! random bits, so a fast hash is enough; nothing can be guessed from the stored digest.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Db, StoreError, Tx};
use crate::domain::Role;
use crate::{with_db, with_tx};

#[derive(Clone, Debug, Serialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One of a partner's keys, without the key itself.
#[derive(Clone, Debug, Serialize)]
pub struct PartnerKey {
    pub id: String,
    pub partner_id: String,
    pub created_at: DateTime<Utc>,
    /// When a rotated-out key stops being accepted (the end of the rotation's overlap).
    pub retire_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl PartnerKey {
    /// Whether the key is accepted at `now`: neither revoked nor retired by then.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none_or(|t| t > now) && self.retire_at.is_none_or(|t| t > now)
    }
}

/// A new partner with its first clear key, which exists only in this value.
#[derive(Debug, Serialize)]
pub struct NewPartner {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub key_id: String,
    pub key: String,
}

/// A key issued by a rotation: the clear key (only here), and when the keys it replaces stop.
#[derive(Debug, Serialize)]
pub struct IssuedKey {
    pub partner_id: String,
    pub key_id: String,
    pub key: String,
    pub replaced: Vec<PartnerKey>,
}

const KEY_PREFIX: &str = "cbk_";

pub fn key_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A fresh random key and its id.
fn new_key() -> (String, String) {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let id = format!("k_{}", ulid::Ulid::new().to_string().to_lowercase());
    (id, format!("{KEY_PREFIX}{}", hex::encode(secret)))
}

type PartnerRow = (
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

type KeyRow = (
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

fn from_row(
    (id, name, role, status, created_at, revoked_at): PartnerRow,
) -> Result<Partner, StoreError> {
    let role = role
        .parse::<Role>()
        .map_err(|e| StoreError::Other(sqlx::Error::Decode(format!("partner {id}: {e}").into())))?;
    Ok(Partner {
        id,
        name,
        role,
        active: status == "active",
        created_at,
        revoked_at,
    })
}

fn key_from_row((id, partner_id, created_at, retire_at, revoked_at): KeyRow) -> PartnerKey {
    PartnerKey {
        id,
        partner_id,
        created_at,
        retire_at,
        revoked_at,
    }
}

const COLUMNS: &str = "id, name, role, status, created_at, revoked_at";
const KEY_COLUMNS: &str = "id, partner_id, created_at, retire_at, revoked_at";

async fn insert_key(
    tx: &mut Tx,
    id: &str,
    partner_id: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    with_tx!(tx, c => sqlx::query(
        "INSERT INTO partner_keys (id, partner_id, key_sha256, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id).bind(partner_id).bind(key_digest(key)).bind(now)
        .execute(c).await.map(|_| ()))
    .map_err(|e| StoreError::from_insert(e, "partner key"))
}

impl Db {
    /// Creates a partner with its first key, at `now`.
    pub async fn add_partner(
        &self,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<NewPartner, StoreError> {
        let id = format!("p_{}", ulid::Ulid::new().to_string().to_lowercase());
        let (key_id, key) = new_key();
        let mut tx = self.begin().await?;
        // `key_sha256` is a legacy column (migration 0007): a marker, never a digest.
        with_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO partners (id, name, role, key_sha256, status, created_at) VALUES ($1, $2, $3, $4, 'active', $5)")
            .bind(&id).bind(name).bind(role.as_str()).bind(format!("keys:{id}")).bind(now)
            .execute(c).await.map(|_| ()))
        .map_err(|e| StoreError::from_insert(e, "partner"))?;
        insert_key(&mut tx, &key_id, &id, &key, now).await?;
        tx.commit().await?;
        Ok(NewPartner {
            id,
            name: name.to_owned(),
            role,
            key_id,
            key,
        })
    }

    pub async fn list_partners(&self) -> Result<Vec<Partner>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM partners ORDER BY created_at, id");
        let rows: Vec<PartnerRow> = with_db!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?;
        rows.into_iter().map(from_row).collect()
    }

    pub async fn partner(&self, id: &str) -> Result<Partner, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM partners WHERE id = $1");
        let row: Option<PartnerRow> =
            with_db!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.map(from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    /// The partner holding `key` and the key's record, whatever their state (the caller decides
    /// at its own "now" whether they are in force).
    pub async fn partner_by_key(
        &self,
        key: &str,
    ) -> Result<Option<(Partner, PartnerKey)>, StoreError> {
        let sql = "SELECT k.id, k.partner_id, k.created_at, k.retire_at, k.revoked_at \
                   FROM partner_keys k WHERE k.key_sha256 = $1";
        let row: Option<KeyRow> = with_db!(self, p => sqlx::query_as(sql)
            .bind(key_digest(key)).fetch_optional(p).await)?;
        let Some(key) = row.map(key_from_row) else {
            return Ok(None);
        };
        Ok(Some((self.partner(&key.partner_id).await?, key)))
    }

    /// A partner's keys, oldest first.
    pub async fn partner_keys(&self, partner_id: &str) -> Result<Vec<PartnerKey>, StoreError> {
        self.partner(partner_id).await?;
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM partner_keys WHERE partner_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<KeyRow> =
            with_db!(self, p => sqlx::query_as(&sql).bind(partner_id).fetch_all(p).await)?;
        Ok(rows.into_iter().map(key_from_row).collect())
    }

    pub async fn partner_key(&self, key_id: &str) -> Result<PartnerKey, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM partner_keys WHERE id = $1");
        let row: Option<KeyRow> =
            with_db!(self, p => sqlx::query_as(&sql).bind(key_id).fetch_optional(p).await)?;
        row.map(key_from_row).ok_or(StoreError::NotFound)
    }

    /// Issues a new key to an active partner at `now`, and retires its other keys still in
    /// force at `retire_at` (sooner retirements are kept), in one transaction.
    pub async fn rotate_partner_key(
        &self,
        partner_id: &str,
        now: DateTime<Utc>,
        retire_at: DateTime<Utc>,
    ) -> Result<IssuedKey, StoreError> {
        let partner = self.partner(partner_id).await?;
        if !partner.active {
            return Err(StoreError::Conflict(format!(
                "partner {partner_id} is revoked"
            )));
        }
        let (key_id, key) = new_key();
        let mut tx = self.begin().await?;
        with_tx!(&mut tx, c => sqlx::query(
            "UPDATE partner_keys SET retire_at = $2 WHERE partner_id = $1 AND revoked_at IS NULL \
             AND (retire_at IS NULL OR retire_at > $2)")
            .bind(partner_id).bind(retire_at).execute(c).await.map(|_| ()))?;
        insert_key(&mut tx, &key_id, partner_id, &key, now).await?;
        tx.commit().await?;
        let replaced = self
            .partner_keys(partner_id)
            .await?
            .into_iter()
            .filter(|k| {
                k.id != key_id && k.revoked_at.is_none() && k.retire_at.is_some_and(|t| t >= now)
            })
            .collect();
        Ok(IssuedKey {
            partner_id: partner_id.to_owned(),
            key_id,
            key,
            replaced,
        })
    }

    /// Revokes one key at `now`; revoking twice is a conflict so the caller learns it already was.
    pub async fn revoke_partner_key(
        &self,
        key_id: &str,
        now: DateTime<Utc>,
    ) -> Result<PartnerKey, StoreError> {
        let done = with_db!(self, p => sqlx::query(
            "UPDATE partner_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(key_id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        let key = self.partner_key(key_id).await?;
        if done == 0 {
            return Err(StoreError::Conflict(format!(
                "key {key_id} is already revoked"
            )));
        }
        Ok(key)
    }

    /// Revokes a partner, and so every key it holds, at `now`.
    pub async fn revoke_partner(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Partner, StoreError> {
        let done = with_db!(self, p => sqlx::query(
            "UPDATE partners SET status = 'revoked', revoked_at = $2 WHERE id = $1 AND status = 'active'")
            .bind(id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        let partner = self.partner(id).await?;
        if done == 0 {
            return Err(StoreError::Conflict(format!(
                "partner {id} is already revoked"
            )));
        }
        Ok(partner)
    }
}
