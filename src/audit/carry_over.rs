//! Carrying the old hash chain (`audit_log`, before the ledger) into the ledger, once, at start:
//! the chain is verified first (links, row hashes, head); then each row, in chain order, becomes
//! an entry under a new server event id. The old event id (which was the client's request id)
//! becomes the correlation id; a refusal's free-text message becomes its digest and length; a
//! subject's credit code becomes its keyed hash like a person's. The old tables are dropped in
//! the same transaction, so no row is lost and none is carried twice.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{digest_of, Actor, AuditEvent, AuditSubject, CorrelationId, EventKind};
use crate::pii::PiiKey;
use crate::storage::ledger::ChainRow;
use crate::storage::{Db, StoreError};

const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum CarryOverError {
    #[error("the old audit chain does not verify at row {seq}: {reason}; it was not carried into the ledger (restore a good backup, or see docs/audit.md)")]
    Broken { seq: i64, reason: String },
    #[error("old audit row {seq}: {reason}")]
    Row { seq: i64, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The old chain's hash: `SHA-256(prev_hash || "\n" || body)`, hex.
pub fn chain_hash(prev_hash: &str, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

fn verify_chain(rows: &[ChainRow], head: &(i64, String)) -> Result<(), CarryOverError> {
    let mut prev = GENESIS_HASH.to_owned();
    for (i, row) in rows.iter().enumerate() {
        let expected = i as i64 + 1;
        let broken = |reason: &str| CarryOverError::Broken {
            seq: expected,
            reason: reason.to_owned(),
        };
        if row.seq != expected {
            return Err(broken("a row is missing"));
        }
        if row.prev_hash != prev {
            return Err(broken("does not link to the previous row"));
        }
        if chain_hash(&row.prev_hash, &row.body) != row.row_hash {
            return Err(broken("content does not match its hash"));
        }
        prev = row.row_hash.clone();
    }
    if head.0 != rows.len() as i64 || head.1 != prev {
        return Err(CarryOverError::Broken {
            seq: rows.len() as i64 + 1,
            reason: format!(
                "the head records row {} but the chain ends at row {}",
                head.0,
                rows.len()
            ),
        });
    }
    Ok(())
}

fn kind_of(kind: &str, outcome: &str) -> Option<EventKind> {
    Some(match (kind, outcome) {
        ("score", "delivered") => EventKind::ScoreDelivered,
        ("score", _) => EventKind::ScoreRefused,
        ("model_promotion", _) => EventKind::ModelPromoted,
        ("model_rollback", _) => EventKind::ModelRolledBack,
        ("model_promotion_requested", _) => EventKind::ModelForced,
        ("purge", _) => EventKind::Purge,
        _ => return None,
    })
}

/// One old row as a ledger event.
fn event_of(row: &ChainRow, pii: &PiiKey) -> Result<AuditEvent, CarryOverError> {
    let bad = |reason: &str| CarryOverError::Row {
        seq: row.seq,
        reason: reason.to_owned(),
    };
    let Value::Object(mut body) =
        serde_json::from_str::<Value>(&row.body).map_err(|_| bad("its body is not JSON"))?
    else {
        return Err(bad("its body is not a JSON object"));
    };
    let text = |body: &mut Map<String, Value>, key: &str| match body.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let kind_text = text(&mut body, "kind").ok_or_else(|| bad("it has no kind"))?;
    let outcome = body
        .get("outcome")
        .and_then(Value::as_str)
        .unwrap_or("done")
        .to_owned();
    let kind = kind_of(&kind_text, &outcome)
        .ok_or_else(|| bad(&format!("kind {kind_text:?} has no ledger kind")))?;
    body.remove("event_id");
    body.remove("recorded_at");
    body.remove("partner_name");
    let partner = text(&mut body, "partner_id");
    let subject_key = text(&mut body, "subject_key");
    let by = body
        .get("detail")
        .and_then(|d| d.get("by"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let actor = match (partner, by) {
        (Some(partner_id), _) => Actor::Partner { partner_id },
        (None, Some(name)) => Actor::Named { name },
        (None, None) => Actor::System,
    };
    // Persons were kept by keyed hash (64 hex), enterprises by their credit code in clear.
    let subject = subject_key.map(|key| {
        let is_hash = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
        let masked = body
            .get("subject_masked")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let last4_of = |s: &str| s[s.len().saturating_sub(4)..].to_owned();
        if is_hash {
            AuditSubject {
                keyed_hash: key,
                last4: last4_of(masked),
            }
        } else {
            AuditSubject {
                keyed_hash: pii.subject_key(&key),
                last4: last4_of(&key),
            }
        }
    });
    // A refusal's text could quote the request: only its digest and length are carried.
    if let Some(Value::Object(refusal)) = body.get_mut("refusal") {
        if let Some(Value::String(message)) = refusal.get("message").cloned() {
            refusal.insert("message".into(), digest_of(&message));
        }
    }
    // Drop empty fields of the old fixed-shape body.
    body.retain(|_, v| !(v.is_null() || v.as_array().is_some_and(Vec::is_empty)));
    body.insert(
        "carried_over".into(),
        serde_json::json!({ "seq": row.seq, "row_hash": row.row_hash }),
    );
    let at: DateTime<Utc> = row.recorded_at;
    let mut event = AuditEvent::new(kind, actor, at)
        .correlation(CorrelationId::from_header(row.event_id.as_bytes()));
    event.subject = subject;
    event.body = body;
    Ok(event)
}

/// Carries the old chain over if it is still there; returns how many rows were carried.
pub async fn carry_over(db: &Db, pii: &PiiKey) -> Result<usize, CarryOverError> {
    let Some((rows, head)) = db.old_chain().await? else {
        return Ok(0);
    };
    verify_chain(&rows, &head)?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        let (entry, _) = event_of(row, pii)?
            .into_entry()
            .map_err(|e| CarryOverError::Row {
                seq: row.seq,
                reason: e.to_string(),
            })?;
        entries.push(entry);
    }
    if !db.carry_over_chain(&entries, rows.len()).await? {
        return Ok(0);
    }
    if !rows.is_empty() {
        tracing::info!(
            rows = rows.len(),
            "carried the old audit chain into the ledger"
        );
    }
    Ok(rows.len())
}
