//! Partners and their keys: creating a partner, rotating its key with an overlap, revoking one
//! key or the whole partner. The partner, not the key, owns consents, history and the rate
//! limit, so a rotation changes none of them. Every step is recorded in the audit trail (the
//! key's id, never the key).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::audit::{Actor, AuditError, AuditEvent, AuditWriter, EventKind, Outcome};
use crate::domain::Role;
use crate::storage::partners::{IssuedKey, NewPartner, Partner, PartnerKey};
use crate::storage::{Db, StoreError};

/// The longest overlap a rotation may give the old key: long enough to roll a new key out to
/// every system of a partner, short enough that a leaked old key does not live on.
pub const MAX_OVERLAP_DAYS: i64 = 30;

/// The overlap when none is given.
pub const DEFAULT_OVERLAP: &str = "24h";

#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    /// An argument is not valid (`field` names it).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change was stored but its audit record could not be committed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// Parses an overlap such as `24h`, `90m`, `2d` or `0` (the old keys stop at once).
pub fn parse_overlap(text: &str) -> Result<Duration, PartnerError> {
    let invalid = |message: String| PartnerError::Invalid {
        field: "overlap",
        message,
    };
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| invalid(format!("{text:?} is not a duration like 24h, 90m, 2d or 0")))?;
    let overlap = match unit {
        "" if n == 0 => Duration::zero(),
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => {
            return Err(invalid(format!(
                "{text:?} is not a duration like 24h, 90m, 2d or 0"
            )))
        }
    };
    if overlap > Duration::days(MAX_OVERLAP_DAYS) {
        return Err(invalid(format!(
            "{text} is longer than {MAX_OVERLAP_DAYS} days"
        )));
    }
    Ok(overlap)
}

/// Creates a partner with its first key (shown once, in the answer).
pub async fn add(
    db: &Db,
    audit: &AuditWriter,
    name: &str,
    role: Role,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<NewPartner, PartnerError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(PartnerError::Invalid {
            field: "name",
            message: "must not be empty".into(),
        });
    }
    let created = db.add_partner(name, role, now).await?;
    let detail = json!({ "name": name, "role": role.as_str() });
    // Two entries: the partner, and its first key (by id; the key itself is only in the answer).
    for kind in [EventKind::PartnerAdded, EventKind::KeyIssued] {
        let event = key_event(
            kind,
            actor.clone(),
            &created.id,
            Some(&created.key_id),
            now,
            detail.clone(),
        );
        audit.record(event).await?;
    }
    Ok(created)
}

/// Issues a new key to `partner_id`; its other keys in force stop `overlap` after `now`.
pub async fn rotate_key(
    db: &Db,
    audit: &AuditWriter,
    partner_id: &str,
    overlap: Duration,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<IssuedKey, PartnerError> {
    let issued = db
        .rotate_partner_key(partner_id, now, now + overlap)
        .await?;
    let replaced: Vec<_> = issued
        .replaced
        .iter()
        .map(|k| json!({ "key_id": k.id, "retire_at": k.retire_at }))
        .collect();
    let detail = json!({ "overlap_secs": overlap.num_seconds(), "replaced": replaced });
    let event = key_event(
        EventKind::KeyRotated,
        actor,
        partner_id,
        Some(&issued.key_id),
        now,
        detail,
    );
    audit.record(event).await?;
    Ok(issued)
}

/// Revokes one key at `now` (the partner's other keys go on).
pub async fn revoke_key(
    db: &Db,
    audit: &AuditWriter,
    key_id: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<PartnerKey, PartnerError> {
    let key = db.revoke_partner_key(key_id, now).await?;
    let event = key_event(
        EventKind::KeyRevoked,
        actor,
        &key.partner_id,
        Some(&key.id),
        now,
        json!({}),
    );
    audit.record(event).await?;
    Ok(key)
}

/// Revokes a partner, and with it every key it holds, at `now`.
pub async fn revoke(
    db: &Db,
    audit: &AuditWriter,
    partner_id: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Partner, PartnerError> {
    let partner = db.revoke_partner(partner_id, now).await?;
    let event = key_event(
        EventKind::PartnerRevoked,
        actor,
        partner_id,
        None,
        now,
        json!({}),
    );
    audit.record(event).await?;
    Ok(partner)
}

/// The one place a partner or key step's audit record is built: who acted, the partner, the
/// key's id (never the key) and the step's own fields.
fn key_event(
    kind: EventKind,
    actor: Actor,
    partner_id: &str,
    key_id: Option<&str>,
    at: DateTime<Utc>,
    detail: serde_json::Value,
) -> AuditEvent {
    let mut event = AuditEvent::new(kind, actor, at)
        .outcome(Outcome::Done)
        .with("partner_id", partner_id)
        .with("key_id", key_id);
    if let serde_json::Value::Object(fields) = detail {
        for (name, value) in fields {
            event.set(&name, value);
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_are_read_in_their_units_and_bounded() {
        assert_eq!(parse_overlap("24h").unwrap(), Duration::hours(24));
        assert_eq!(parse_overlap("90m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_overlap("2d").unwrap(), Duration::days(2));
        assert_eq!(parse_overlap("0").unwrap(), Duration::zero());
        for bad in ["", "h", "24", "-1h", "1w", "31d", "1.5h"] {
            let err = parse_overlap(bad).unwrap_err().to_string();
            assert!(err.starts_with("overlap: "), "{bad}: {err}");
        }
    }
}
