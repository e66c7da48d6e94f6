//! The tamper-evident audit trail (domain.md §6). Every scoring request, delivered or refused, and
//! every forced model promotion becomes one row whose hash covers its content and the previous
//! row's hash. A changed, deleted or reordered row breaks the chain, and `verify` says where.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::storage::audit::{AuditRow, PendingRow, GENESIS_HASH};
use crate::storage::{Db, StoreError};

pub mod writer;

pub use writer::{AuditError, AuditWriter};

/// Everything recorded about one event. Serialised as the row's canonical body (field order is
/// the struct's, so the bytes are stable).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditEvent {
    pub event_id: String,
    pub recorded_at: DateTime<Utc>,
    /// `score`, `model_promotion`, …
    pub kind: String,
    pub partner_id: Option<String>,
    pub partner_name: Option<String>,
    /// Keyed hash (persons) or credit code (enterprises); never a clear identity number.
    pub subject_key: Option<String>,
    pub subject_masked: Option<String>,
    pub product: Option<String>,
    pub purpose: Option<String>,
    pub consent: Option<ConsentRef>,
    pub data_as_of: Option<serde_json::Value>,
    pub model_id: Option<String>,
    pub score: Option<i32>,
    pub grade: Option<String>,
    pub pd: Option<f64>,
    pub reasons: Vec<String>,
    pub flags: Vec<String>,
    /// `delivered` or `refused` (scores); `done` for other events.
    pub outcome: String,
    pub refusal: Option<Refusal>,
    pub detail: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConsentRef {
    pub id: String,
    pub purpose: String,
    pub valid_until: chrono::NaiveDate,
    pub evidence_sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Refusal {
    pub code: String,
    pub message: String,
}

impl AuditEvent {
    pub fn new(event_id: impl Into<String>, kind: &str, at: DateTime<Utc>) -> AuditEvent {
        AuditEvent {
            event_id: event_id.into(),
            // Microseconds: what PostgreSQL keeps, so the column and the hashed body agree.
            recorded_at: at.trunc_subsecs(6),
            kind: kind.to_owned(),
            partner_id: None,
            partner_name: None,
            subject_key: None,
            subject_masked: None,
            product: None,
            purpose: None,
            consent: None,
            data_as_of: None,
            model_id: None,
            score: None,
            grade: None,
            pd: None,
            reasons: Vec::new(),
            flags: Vec::new(),
            outcome: "done".into(),
            refusal: None,
            detail: None,
        }
    }

    pub fn to_pending(&self) -> PendingRow {
        PendingRow {
            event_id: self.event_id.clone(),
            recorded_at: self.recorded_at,
            kind: self.kind.clone(),
            partner_id: self.partner_id.clone(),
            subject_key: self.subject_key.clone(),
            outcome: self.outcome.clone(),
            body: serde_json::to_string(self).expect("audit events serialise"),
        }
    }
}

/// row_hash = SHA-256(prev_hash ‖ "\n" ‖ body), hex.
pub fn chain_hash(prev_hash: &str, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Verification {
    pub ok: bool,
    pub rows_checked: i64,
    /// The first broken row and why, when not ok.
    pub first_problem: Option<Problem>,
}

#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Problem {
    pub seq: i64,
    pub reason: String,
}

/// Walks the whole chain from the genesis hash and checks every link, the row's own hash, that
/// its indexed columns agree with its hashed body, that no sequence number is missing, and that
/// the head row points at the last row (so a deleted tail is caught too).
pub async fn verify(db: &Db) -> Result<Verification, StoreError> {
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_seq = 1;
    let mut checked = 0;
    let fail = |seq, reason: String, checked| Verification {
        ok: false,
        rows_checked: checked,
        first_problem: Some(Problem { seq, reason }),
    };
    loop {
        let rows = db.audit_rows(expected_seq - 1, 1000).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if let Some(reason) = check_row(&row, expected_seq, &prev_hash) {
                // The expected row: for a deleted row that is the missing seq, not its successor.
                return Ok(fail(expected_seq, reason, checked));
            }
            prev_hash = row.row_hash;
            expected_seq += 1;
            checked += 1;
        }
    }
    let (head_seq, head_hash) = db.audit_head().await?;
    if head_seq != checked || head_hash != prev_hash {
        return Ok(fail(
            checked + 1,
            format!("chain ends at row {checked} but the head records row {head_seq}: rows were removed"),
            checked,
        ));
    }
    Ok(Verification {
        ok: true,
        rows_checked: checked,
        first_problem: None,
    })
}

fn check_row(row: &AuditRow, expected_seq: i64, prev_hash: &str) -> Option<String> {
    if row.seq != expected_seq {
        return Some(format!(
            "expected row {expected_seq} next, found {}: rows were removed",
            row.seq
        ));
    }
    if row.prev_hash != prev_hash {
        return Some("does not link to the previous row: rows were removed or reordered".into());
    }
    if chain_hash(&row.prev_hash, &row.body) != row.row_hash {
        return Some("content does not match its hash: the row was changed".into());
    }
    let Ok(event) = serde_json::from_str::<AuditEvent>(&row.body) else {
        return Some("body is not a valid audit event".into());
    };
    let columns_agree = event.event_id == row.event_id
        && event.kind == row.kind
        && event.partner_id == row.partner_id
        && event.subject_key == row.subject_key
        && event.outcome == row.outcome
        && event.recorded_at == row.recorded_at;
    if !columns_agree {
        return Some("indexed columns differ from the hashed body: the row was changed".into());
    }
    None
}
