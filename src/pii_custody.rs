//! Custody of the PII key: which key opens this database, and rotating it.
//!
//! The database keeps two facts in `service_meta`: the operator key's fingerprint (an HMAC of a
//! fixed label, never the key) and the data key wrapped under the operator key (`pii`). Identity
//! numbers are hashed with the data key. A process holding another operator key refuses to start
//! instead of hashing numbers that match nothing. A rotation re-wraps the data key under a new
//! operator key and records the new fingerprint, in one transaction, with an audit record: every
//! stored hash stays valid, no identity number is needed.
//!
//! A new database gets a random data key. A database from before the data key existed keeps
//! hashing with the key it was set up with: that key becomes its data key, wrapped like any other
//! (docs/operations.md, "The PII key", says what this means for a leaked old key).

use chrono::{DateTime, Utc};

use crate::audit::{Actor, AuditEvent, AuditWriter, EventKind, Outcome};
use crate::pii::{PiiKey, PiiKeyError};
use crate::storage::{Db, StoreError};

/// The stored fingerprint's name in `service_meta`.
pub const PII_FINGERPRINT: &str = "pii_key_fingerprint";
/// The wrapped data key's name in `service_meta`.
pub const PII_DATA_KEY: &str = "pii_data_key";

#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    /// The key given is not the key this database is kept under; `source` names the setting.
    #[error(
        "the PII key from {setting} is not the key this database's identity numbers are hashed \
         with (fingerprint {mine} here, {recorded} recorded): start with the original key, or the \
         one it was last rotated to (see docs/operations.md, \"The PII key\")"
    )]
    WrongKey {
        setting: String,
        mine: String,
        recorded: String,
    },
    /// The stored data key does not open under a key whose fingerprint matches: the value was
    /// altered.
    #[error("the stored PII data key ({PII_DATA_KEY}) does not open under the key from {setting}: {reason}")]
    Damaged {
        setting: String,
        reason: PiiKeyError,
    },
    /// The new key is the key in force.
    #[error("the new PII key is the key in force: nothing to rotate")]
    SameKey,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit trail: {0}")]
    Audit(String),
}

fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(12).collect()
}

/// Checks `operator` (from `source`, named in errors) against the database and returns the data
/// key to hash with. The first start of a new database records the fingerprint and a random data
/// key; a database from before the data key gets `operator` itself as its data key.
pub async fn open(db: &Db, operator: &PiiKey, source: &str) -> Result<PiiKey, CustodyError> {
    let mine = operator.fingerprint();
    let recorded = db.meta(PII_FINGERPRINT).await?;
    let wrong = |recorded: &str| CustodyError::WrongKey {
        setting: source.to_owned(),
        mine: short(&mine),
        recorded: short(recorded),
    };
    if let Some(recorded) = recorded.as_deref().filter(|r| *r != mine) {
        return Err(wrong(recorded));
    }
    // The data key first, the fingerprint after: a replica that sees the fingerprint sees the
    // data key too, so replicas starting together agree on one (the first writer's).
    let proposal = match recorded {
        None => PiiKey::random(),
        Some(_) => operator.clone(),
    };
    let wrapped = db
        .meta_first_or_existing(PII_DATA_KEY, &operator.wrap(&proposal))
        .await?;
    let in_force = db.meta_first_or_existing(PII_FINGERPRINT, &mine).await?;
    if in_force != mine {
        return Err(wrong(&in_force));
    }
    operator
        .unwrap(&wrapped)
        .map_err(|reason| CustodyError::Damaged {
            setting: source.to_owned(),
            reason,
        })
}

/// What a rotation did, for the operator (fingerprints shortened; never a key).
#[derive(Debug, serde::Serialize)]
pub struct Rotated {
    pub old_fingerprint: String,
    pub new_fingerprint: String,
    pub rotated_at: DateTime<Utc>,
}

/// Re-wraps the data key under `new` and records `new`'s fingerprint, in one transaction that
/// fails if another rotation got there first; then audits it. Replicas running keep working
/// (they hold the data key); each must be restarted with `new`, and one started with `old` is
/// refused from then on.
pub async fn rotate(
    db: &Db,
    audit: &AuditWriter,
    old: &PiiKey,
    new: &PiiKey,
    source: &str,
    now: DateTime<Utc>,
) -> Result<Rotated, CustodyError> {
    let data = open(db, old, source).await?;
    let (old_fp, new_fp) = (old.fingerprint(), new.fingerprint());
    if old_fp == new_fp {
        return Err(CustodyError::SameKey);
    }
    db.replace_pii_custody(
        (PII_FINGERPRINT, &old_fp, &new_fp),
        (PII_DATA_KEY, &new.wrap(&data)),
    )
    .await?;
    let rotated = Rotated {
        old_fingerprint: short(&old_fp),
        new_fingerprint: short(&new_fp),
        rotated_at: now,
    };
    // Run from the command line only: the operator rotates.
    let event = AuditEvent::new(EventKind::PiiKeyRotated, Actor::operator(), now)
        .outcome(Outcome::Done)
        .with("old_fingerprint", &rotated.old_fingerprint)
        .with("new_fingerprint", &rotated.new_fingerprint);
    audit
        .record(event)
        .await
        .map_err(|e| CustodyError::Audit(e.to_string()))?;
    Ok(rotated)
}
