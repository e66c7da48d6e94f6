//! The audit ledger (domain.md §6, issue 14): every action that changes state or discloses data
//! is one entry of a transparency log. An entry is recorded by a plain insert (the group-commit
//! [`AuditWriter`]) under a server-assigned ULID, before the answer that reports it leaves; the
//! one [`sequencer`] orders entries into an RFC 6962 Merkle tree and signs checkpoints; [`verify`]
//! checks the stored log against signed checkpoints in one snapshot. The tree, checkpoint and
//! leaf formats are the `ledger` crate's (docs/audit.md).
//!
//! Recording API (stable, for every module that audits): build an [`AuditEvent`] of an
//! [`EventKind`] with its [`Actor`], optional [`AuditSubject`] and body fields, and
//! `writer.record(event)`, which returns the entry's [`Receipt`]. Anything unparsed from a
//! request goes in through [`digest_of`] (SHA-256 and length), never as text.

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use ledger::entry::CorrelationId;
pub use ledger::receipt::Receipt;

use crate::storage::ledger::NewEntry;

pub mod carry_over;
pub mod proofs;
pub mod sequencer;
pub mod unaudited;
pub mod verify;
pub mod writer;

pub use sequencer::{Sequencer, SequencerConfig};
pub use verify::{verify, Problem, Verification};

use crate::pii::PiiKey;
pub use writer::{AuditError, AuditWriter};

/// What happened. The text form (`as_str`) is what the leaf and the `kind` column hold; new kinds
/// are added here, never spelled ad hoc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum EventKind {
    ScoreDelivered,
    ScoreRefused,
    ConsentRegistered,
    ConsentRevoked,
    ConsentWithdrawn,
    PartnerAdded,
    PartnerRevoked,
    KeyIssued,
    KeyRotated,
    KeyRevoked,
    FeedAccepted,
    FeedRefused,
    ModelTrained,
    ModelPromoted,
    ModelRolledBack,
    ModelForced,
    ModelImported,
    Purge,
    SubjectHistoryRead,
    ProcessStarted,
    PiiKeyRotated,
    /// A console sign-in, accepted or refused (issue 19).
    ConsoleSignIn,
    /// Something a console user did (issue 19).
    ConsoleAction,
    /// A console user added from the command line (issue 19).
    ConsoleUserAdded,
}

impl EventKind {
    pub const ALL: [EventKind; 24] = [
        EventKind::ScoreDelivered,
        EventKind::ScoreRefused,
        EventKind::ConsentRegistered,
        EventKind::ConsentRevoked,
        EventKind::ConsentWithdrawn,
        EventKind::PartnerAdded,
        EventKind::PartnerRevoked,
        EventKind::KeyIssued,
        EventKind::KeyRotated,
        EventKind::KeyRevoked,
        EventKind::FeedAccepted,
        EventKind::FeedRefused,
        EventKind::ModelTrained,
        EventKind::ModelPromoted,
        EventKind::ModelRolledBack,
        EventKind::ModelForced,
        EventKind::ModelImported,
        EventKind::Purge,
        EventKind::SubjectHistoryRead,
        EventKind::ProcessStarted,
        EventKind::PiiKeyRotated,
        EventKind::ConsoleSignIn,
        EventKind::ConsoleAction,
        EventKind::ConsoleUserAdded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ScoreDelivered => "score.delivered",
            EventKind::ScoreRefused => "score.refused",
            EventKind::ConsentRegistered => "consent.registered",
            EventKind::ConsentRevoked => "consent.revoked",
            EventKind::ConsentWithdrawn => "consent.withdrawn",
            EventKind::PartnerAdded => "partner.added",
            EventKind::PartnerRevoked => "partner.revoked",
            EventKind::KeyIssued => "key.issued",
            EventKind::KeyRotated => "key.rotated",
            EventKind::KeyRevoked => "key.revoked",
            EventKind::FeedAccepted => "feed.accepted",
            EventKind::FeedRefused => "feed.refused",
            EventKind::ModelTrained => "model.trained",
            EventKind::ModelPromoted => "model.promoted",
            EventKind::ModelRolledBack => "model.rolled_back",
            EventKind::ModelForced => "model.forced",
            EventKind::ModelImported => "model.imported",
            EventKind::Purge => "purge",
            EventKind::SubjectHistoryRead => "subject_history.read",
            EventKind::ProcessStarted => "process.started",
            EventKind::PiiKeyRotated => "pii_key.rotated",
            EventKind::ConsoleSignIn => "console.sign_in",
            EventKind::ConsoleAction => "console.action",
            EventKind::ConsoleUserAdded => "console.user_added",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// How an action ended, as the body's `outcome` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Delivered,
    Refused,
    Done,
    DryRun,
    Applied,
}

/// Who acted: a partner (by id; a partner holds one key, so the key is the partner's), the OS
/// user running a CLI command, or the service itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Partner {
        partner_id: String,
    },
    Operator {
        user: String,
    },
    /// Named by the caller of a use case that takes a free-form "by" (the model registry:
    /// an admin partner's id over HTTP, `--by` on the command line, `schedule`).
    Named {
        name: String,
    },
    System,
}

impl Actor {
    /// The OS user running this process (`USER`, else `LOGNAME`, else `unknown`).
    pub fn operator() -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Actor::Operator { user }
    }

    /// The leaf's actor text: `partner:<id>`, `cli:<user>`, `system`. Control characters (an
    /// odd user name) are replaced, so the text is always encodable.
    pub fn text(&self) -> String {
        let text = match self {
            Actor::Partner { partner_id } => format!("partner:{partner_id}"),
            Actor::Operator { user } => format!("cli:{user}"),
            Actor::Named { name } => format!("by:{name}"),
            Actor::System => "system".into(),
        };
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        truncate_utf8(&clean, ledger::entry::MAX_ACTOR_BYTES).to_owned()
    }

    fn partner_id(&self) -> Option<String> {
        match self {
            Actor::Partner { partner_id } => Some(partner_id.clone()),
            _ => None,
        }
    }
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Whom an entry is about: the keyed hash (lowercase hex HMAC-SHA256 under the PII key, for
/// credit codes as for resident ids) and the last 4 characters. Never the identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditSubject {
    pub keyed_hash: String,
    pub last4: String,
}

impl AuditSubject {
    /// Whom an entry is about, from a subject as the database keys it (`pii::SubjectRef`, or a
    /// stored consent): an enterprise under its credit code, a person under the keyed hash with
    /// a mask that ends in the id's last 4. Credit codes are public, but the ledger is never
    /// purged, so every subject is kept as a keyed hash.
    pub fn of(pii: &PiiKey, subject_type: &str, key: &str, masked: &str) -> AuditSubject {
        let (keyed_hash, shown) = if subject_type == "enterprise" {
            (pii.subject_key(key), key)
        } else {
            (key.to_owned(), masked)
        };
        let n = shown.chars().count();
        AuditSubject {
            keyed_hash,
            last4: shown.chars().skip(n.saturating_sub(4)).collect(),
        }
    }
}

/// SHA-256 and length of a text that must not be kept: what was unparsed from a request, a
/// free-text message that may quote one.
pub fn digest_of(text: &str) -> Value {
    serde_json::json!({
        "sha256": hex::encode(Sha256::digest(text.as_bytes())),
        "len": text.len(),
    })
}

/// The consent a score relied on, as its entry records it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ConsentRef {
    pub id: String,
    pub purpose: String,
    pub valid_until: chrono::NaiveDate,
    pub evidence_sha256: String,
}

/// A refusal's code and its text (the text is recorded only as [`digest_of`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: String,
    pub message: String,
}

/// One event to record.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub subject: Option<AuditSubject>,
    pub correlation_id: Option<CorrelationId>,
    /// The kind's own fields (a JSON object, canonically encoded into the leaf).
    pub body: Map<String, Value>,
}

impl AuditEvent {
    pub fn new(kind: EventKind, actor: Actor, at: DateTime<Utc>) -> AuditEvent {
        AuditEvent {
            kind,
            at,
            actor,
            subject: None,
            correlation_id: None,
            body: Map::new(),
        }
    }

    pub fn subject(mut self, subject: AuditSubject) -> AuditEvent {
        self.subject = Some(subject);
        self
    }

    pub fn correlation(mut self, id: Option<CorrelationId>) -> AuditEvent {
        self.correlation_id = id;
        self
    }

    pub fn outcome(self, outcome: Outcome) -> AuditEvent {
        self.with("outcome", outcome)
    }

    /// Sets body field `key`.
    pub fn with(mut self, key: &str, value: impl Serialize) -> AuditEvent {
        self.set(key, value);
        self
    }

    pub fn set(&mut self, key: &str, value: impl Serialize) {
        let value = serde_json::to_value(value).expect("audit fields serialise");
        self.body.insert(key.to_owned(), value);
    }

    /// The row to insert and the receipt, under a new server-assigned event id.
    pub(crate) fn into_entry(self) -> Result<(NewEntry, Receipt), AuditError> {
        // Microseconds: what PostgreSQL keeps and what the leaf encodes.
        let at = self.at.trunc_subsecs(6);
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        let event_id = ulid::Ulid::from_parts(millis, rand::random::<u128>());
        let subject = match &self.subject {
            None => None,
            Some(s) => {
                let mut keyed_hash = [0u8; 32];
                hex::decode_to_slice(&s.keyed_hash, &mut keyed_hash)
                    .map_err(|_| AuditError("subject keyed hash is not 32 bytes of hex".into()))?;
                Some(ledger::entry::Subject {
                    keyed_hash,
                    last4: s.last4.clone(),
                })
            }
        };
        let actor = self.actor.text();
        let entry = ledger::entry::AuditEntry {
            event_id,
            time: at,
            kind: self.kind.as_str().to_owned(),
            actor: actor.clone(),
            subject,
            correlation_id: self.correlation_id.clone(),
            body: Value::Object(self.body),
        };
        let (leaf, hash) =
            ledger::entry::leaf(&entry).map_err(|e| AuditError(format!("audit entry: {e}")))?;
        let correlation_id = self.correlation_id.as_ref().map(|c| match c {
            CorrelationId::Text(t) => t.clone(),
            CorrelationId::Digest { sha256, len } => {
                format!("sha256:{}:{len}", hex::encode(sha256))
            }
        });
        let receipt = Receipt {
            event_id: event_id.to_string(),
            leaf_hash: hash.to_base64(),
        };
        let row = NewEntry {
            event_id: receipt.event_id.clone(),
            recorded_at: at,
            kind: self.kind.as_str().to_owned(),
            actor,
            partner_id: self.actor.partner_id(),
            subject_key: self.subject.as_ref().map(|s| s.keyed_hash.clone()),
            subject_last4: self.subject.as_ref().map(|s| s.last4.clone()),
            correlation_id,
            leaf,
            leaf_hash: hash.0.to_vec(),
        };
        Ok((row, receipt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_text_and_is_a_valid_leaf_kind() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let at: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
            let (row, _) = AuditEvent::new(kind, Actor::System, at)
                .into_entry()
                .unwrap();
            assert_eq!(row.kind, kind.as_str());
        }
    }

    #[test]
    fn two_events_alike_get_different_event_ids_and_a_receipt_of_their_leaf() {
        let at: DateTime<Utc> = "2026-11-28T10:00:00.123456789Z".parse().unwrap();
        let event = AuditEvent::new(
            EventKind::ScoreRefused,
            Actor::Partner {
                partner_id: "p1".into(),
            },
            at,
        )
        .correlation(CorrelationId::from_header(b"same-id"));
        let (a, ra) = event.clone().into_entry().unwrap();
        let (b, rb) = event.into_entry().unwrap();
        assert_ne!(a.event_id, b.event_id);
        assert_eq!(a.correlation_id.as_deref(), Some("same-id"));
        assert_eq!(ra.leaf_hash, ledger::Hash::leaf(&a.leaf).to_base64());
        assert_ne!(ra.event_id, rb.event_id);
        let decoded = ledger::entry::decode(&a.leaf).unwrap();
        assert_eq!(decoded.actor, "partner:p1");
        assert_eq!(decoded.time.timestamp_subsec_micros(), 123_456);
    }

    #[test]
    fn a_digest_keeps_no_text() {
        let v = digest_of("440823199001010071");
        assert!(!v.to_string().contains("440823199001010071"));
        assert_eq!(v["len"], 18);
    }
}
