//! Consents: a subject's authorization for one partner to query it for one purpose until a date.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Db, StoreError};
use crate::domain::Purpose;
use crate::with_db;

#[derive(Clone, Debug, Serialize)]
pub struct Consent {
    pub id: String,
    pub partner_id: String,
    pub subject_type: String,
    #[serde(skip)]
    pub subject_key: String,
    pub subject_masked: String,
    pub purpose: String,
    pub valid_until: NaiveDate,
    pub evidence_sha256: String,
    pub signed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When an administrator recorded the subject's withdrawal, and the digest of its evidence.
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawal_evidence_sha256: Option<String>,
}

pub struct NewConsent<'a> {
    pub partner_id: &'a str,
    pub subject_type: &'a str,
    pub subject_key: &'a str,
    pub subject_masked: &'a str,
    pub purpose: Purpose,
    pub valid_until: NaiveDate,
    pub evidence_sha256: &'a str,
    pub signed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDate,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

const COLUMNS: &str =
    "id, partner_id, subject_type, subject_key, subject_masked, purpose, valid_until, \
                       evidence_sha256, signed_at, created_at, revoked_at, withdrawn_at, \
                       withdrawal_evidence_sha256";

fn from_row(r: Row) -> Consent {
    Consent {
        id: r.0,
        partner_id: r.1,
        subject_type: r.2,
        subject_key: r.3,
        subject_masked: r.4,
        purpose: r.5,
        valid_until: r.6,
        evidence_sha256: r.7,
        signed_at: r.8,
        created_at: r.9,
        revoked_at: r.10,
        withdrawn_at: r.11,
        withdrawal_evidence_sha256: r.12,
    }
}

impl Db {
    pub async fn add_consent(&self, c: &NewConsent<'_>) -> Result<String, StoreError> {
        let id = format!("c_{}", ulid::Ulid::new().to_string().to_lowercase());
        with_db!(self, p => sqlx::query(
            "INSERT INTO consents (id, partner_id, subject_type, subject_key, subject_masked, purpose, \
             valid_until, evidence_sha256, signed_at, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)")
            .bind(&id).bind(c.partner_id).bind(c.subject_type).bind(c.subject_key).bind(c.subject_masked)
            .bind(c.purpose.as_str()).bind(c.valid_until).bind(c.evidence_sha256).bind(c.signed_at)
            .bind(c.created_at)
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::from_insert(e, "consent"))?;
        Ok(id)
    }

    pub async fn consent(&self, id: &str) -> Result<Consent, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM consents WHERE id = $1");
        let row: Option<Row> =
            with_db!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.map(from_row).ok_or(StoreError::NotFound)
    }

    /// Revokes a consent; revoking twice is a conflict so the caller learns it already was.
    pub async fn revoke_consent(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let n = with_db!(self, p => sqlx::query(
            "UPDATE consents SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id).bind(at).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            self.consent(id).await?;
            return Err(StoreError::Conflict(format!(
                "consent {id} is already revoked"
            )));
        }
        Ok(())
    }

    /// Records the subject's withdrawal of a consent; recording it twice is a conflict.
    pub async fn withdraw_consent(
        &self,
        id: &str,
        evidence_sha256: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let n = with_db!(self, p => sqlx::query(
            "UPDATE consents SET withdrawn_at = $2, withdrawal_evidence_sha256 = $3 \
             WHERE id = $1 AND withdrawn_at IS NULL")
            .bind(id).bind(at).bind(evidence_sha256).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            self.consent(id).await?;
            return Err(StoreError::Conflict(format!(
                "consent {id} is already withdrawn"
            )));
        }
        Ok(())
    }

    /// Every consent held for a subject (by its keyed hash or credit code), newest first.
    pub async fn consents_of_subject(&self, subject_key: &str) -> Result<Vec<Consent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM consents WHERE subject_key = $1 ORDER BY created_at DESC, id DESC"
        );
        let rows: Vec<Row> =
            with_db!(self, p => sqlx::query_as(&sql).bind(subject_key).fetch_all(p).await)?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// The subjects `partner_id` holds a consent for, in any state (a lender authorised once
    /// may report the outcome of the loan after the consent ended).
    pub async fn consented_subjects(
        &self,
        partner_id: &str,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let keys: Vec<String> = with_db!(self, p => sqlx::query_scalar(
            "SELECT DISTINCT subject_key FROM consents WHERE partner_id = $1")
            .bind(partner_id).fetch_all(p).await)?;
        Ok(keys.into_iter().collect())
    }
}
