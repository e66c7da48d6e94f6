//! Partner keys: shown once at creation, stored only as SHA-256. A key carries 256 random bits,
//! so a fast hash is enough; nothing can be guessed from the stored digest.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Db, StoreError};
use crate::domain::Role;
use crate::with_db;

#[derive(Clone, Debug, Serialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new partner with its clear key, which exists only in this value.
#[derive(Debug, Serialize)]
pub struct NewPartner {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub key: String,
}

const KEY_PREFIX: &str = "cbk_";

pub fn key_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

type PartnerRow = (
    String,
    String,
    String,
    String,
    DateTime<Utc>,
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

const COLUMNS: &str = "id, name, role, status, created_at, revoked_at";

impl Db {
    pub async fn add_partner(&self, name: &str, role: Role) -> Result<NewPartner, StoreError> {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let key = format!("{KEY_PREFIX}{}", hex::encode(secret));
        let id = format!("p_{}", ulid::Ulid::new().to_string().to_lowercase());
        let digest = key_digest(&key);
        let now = Utc::now();
        with_db!(self, p => sqlx::query(
            "INSERT INTO partners (id, name, role, key_sha256, status, created_at) VALUES ($1, $2, $3, $4, 'active', $5)")
            .bind(&id).bind(name).bind(role.as_str()).bind(&digest).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_insert(e, "partner key"))?;
        Ok(NewPartner {
            id,
            name: name.to_owned(),
            role,
            key,
        })
    }

    pub async fn list_partners(&self) -> Result<Vec<Partner>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM partners ORDER BY created_at, id");
        let rows: Vec<PartnerRow> = with_db!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?;
        rows.into_iter().map(from_row).collect()
    }

    /// The active partner holding `key`, if any.
    pub async fn partner_by_key(&self, key: &str) -> Result<Option<Partner>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM partners WHERE key_sha256 = $1");
        let row: Option<PartnerRow> = with_db!(self, p => sqlx::query_as(&sql).bind(key_digest(key)).fetch_optional(p).await)?;
        row.map(from_row).transpose()
    }

    pub async fn revoke_partner(&self, id: &str) -> Result<Partner, StoreError> {
        let done = with_db!(self, p => sqlx::query(
            "UPDATE partners SET status = 'revoked', revoked_at = $2 WHERE id = $1 AND status = 'active'")
            .bind(id).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        let sql = format!("SELECT {COLUMNS} FROM partners WHERE id = $1");
        let row: Option<PartnerRow> =
            with_db!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        match (row, done) {
            (None, _) => Err(StoreError::NotFound),
            (Some(_), 0) => Err(StoreError::Conflict(format!(
                "partner {id} is already revoked"
            ))),
            (Some(r), _) => from_row(r),
        }
    }
}
