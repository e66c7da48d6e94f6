//! A subject's dispute (异议) of an entry in their query history, and its resolution (issue
//! 19). The rules: the entry must be one of that subject's, a note says what is disputed (and
//! holds no identity number: notes are shown and audited), one open dispute per entry, and only
//! an open dispute can be resolved.

use chrono::{DateTime, Utc};

use crate::storage::disputes::DisputeRow;
use crate::storage::{Db, StoreError};

/// Longest note or resolution kept.
pub const MAX_NOTE_CHARS: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum DisputeError {
    #[error("{0}: write what is disputed (1 to 2000 characters)")]
    Note(&'static str),
    #[error("{0}: must not contain an identity number (the subject is already known by its key)")]
    IdentityNumber(&'static str),
    #[error("no entry {0} in this subject's query history")]
    NoSuchEntry(String),
    #[error("entry {0} already has an open dispute")]
    AlreadyOpen(String),
    #[error("no dispute {0}")]
    NoSuchDispute(String),
    #[error("dispute {0} is already resolved")]
    AlreadyResolved(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Checks a note or resolution: present, not too long, and no run of 15 or more digits (the
/// shape of a resident id, old or new, in a field that is shown to people and audited).
fn text(field: &'static str, s: &str) -> Result<String, DisputeError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_NOTE_CHARS {
        return Err(DisputeError::Note(field));
    }
    let mut run = 0;
    for c in t.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 15 {
            return Err(DisputeError::IdentityNumber(field));
        }
    }
    Ok(t.to_owned())
}

/// Opens a dispute of `event_id`, which must be in the history of the subject held under
/// `subject_key`.
pub async fn open(
    db: &Db,
    subject_key: &str,
    event_id: &str,
    note: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<DisputeRow, DisputeError> {
    let note = text("note", note)?;
    let entry = match db.ledger_entry(event_id).await {
        Ok(e) => Some(e),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(DisputeError::Store(e)),
    };
    if entry.and_then(|e| e.subject_key).as_deref() != Some(subject_key) {
        return Err(DisputeError::NoSuchEntry(event_id.to_owned()));
    }
    let row = DisputeRow {
        id: format!("d_{}", ulid::Ulid::new().to_string().to_lowercase()),
        subject_key: subject_key.to_owned(),
        event_id: event_id.to_owned(),
        note,
        status: "open".into(),
        opened_by: by.to_owned(),
        opened_at: now,
        resolution: None,
        resolved_by: None,
        resolved_at: None,
    };
    db.open_dispute(&row).await.map_err(|e| match e {
        StoreError::Conflict(_) => DisputeError::AlreadyOpen(event_id.to_owned()),
        other => DisputeError::Store(other),
    })?;
    Ok(row)
}

/// Resolves open dispute `id` with `resolution`. Returns the dispute as it was opened.
pub async fn resolve(
    db: &Db,
    id: &str,
    resolution: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<DisputeRow, DisputeError> {
    let resolution = text("resolution", resolution)?;
    db.resolve_dispute(id, &resolution, by, now)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => DisputeError::NoSuchDispute(id.to_owned()),
            StoreError::Conflict(_) => DisputeError::AlreadyResolved(id.to_owned()),
            other => DisputeError::Store(other),
        })?;
    db.dispute(id).await.map_err(DisputeError::Store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_refuse_empty_long_and_identity_numbers() {
        assert!(matches!(
            text("note", "  "),
            Err(DisputeError::Note("note"))
        ));
        assert!(matches!(
            text("note", &"x".repeat(MAX_NOTE_CHARS + 1)),
            Err(DisputeError::Note("note"))
        ));
        let e = text("note", "subject 110101199003074477 says not me").unwrap_err();
        assert!(matches!(e, DisputeError::IdentityNumber("note")));
        assert!(!e.to_string().contains("1101"), "never echoed: {e}");
        assert_eq!(
            text("note", " not my loan, call 13800138000 ").unwrap(),
            "not my loan, call 13800138000"
        );
    }
}
