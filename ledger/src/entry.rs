//! The leaf: one audit entry as the exact bytes that are hashed into the tree.
//!
//! The service writes these bytes once, when the entry is recorded, and stores them as they are;
//! the tree, the proofs and an offline verifier hash the stored bytes, never a re-encoding. The
//! encoding is still canonical (one entry, one byte string; [`decode`] refuses anything
//! [`encode`] would not produce) so two programs that build the same entry agree on its hash.
//!
//! Version 1, all integers big-endian:
//!
//! | field          | bytes                                                                 |
//! |----------------|-----------------------------------------------------------------------|
//! | version        | `0x01`                                                                |
//! | event id       | 16: the server-assigned ULID                                          |
//! | time           | 8: signed microseconds since 1970-01-01T00:00:00Z                     |
//! | kind           | u8 length, 1–64 bytes of `[a-z0-9._-]`                                |
//! | actor          | u16 length, 1–256 bytes of UTF-8 without control characters          |
//! | subject        | `0x00` none, or `0x01`, 32-byte keyed hash, u8 length, 0–4 ASCII letters/digits (last 4) |
//! | correlation id | `0x00` none; `0x01`, u8 length, 1–128 visible ASCII bytes; or `0x02`, 32-byte SHA-256, u32 length of a client value that was not kept |
//! | body           | u32 length, canonical JSON object, at most 64 KiB                     |
//!
//! Canonical JSON: no whitespace, object keys sorted by their UTF-8 bytes, strings escaped as
//! serde_json escapes them, numbers as serde_json writes them (integers in decimal, floats in the
//! shortest form that reads back to the same value).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use ulid::Ulid;

use crate::hash::Hash;

pub const ENTRY_VERSION: u8 = 1;
pub const MAX_KIND_BYTES: usize = 64;
pub const MAX_ACTOR_BYTES: usize = 256;
pub const MAX_CORRELATION_BYTES: usize = 128;
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Who or what an entry is about: never the identity number, only its keyed hash and last 4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub keyed_hash: [u8; 32],
    pub last4: String,
}

/// The client's request id: a correlation field, never unique and never trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorrelationId {
    /// Kept as sent: 1–128 visible ASCII characters.
    Text(String),
    /// Anything else (too long, non-ASCII, control characters) is kept as its digest and length.
    Digest { sha256: [u8; 32], len: u32 },
}

impl CorrelationId {
    /// From a header value as received. `None` for an empty header.
    pub fn from_header(raw: &[u8]) -> Option<CorrelationId> {
        if raw.is_empty() {
            return None;
        }
        if raw.len() <= MAX_CORRELATION_BYTES && raw.iter().all(|b| b.is_ascii_graphic()) {
            let text = std::str::from_utf8(raw).expect("ASCII is UTF-8");
            return Some(CorrelationId::Text(text.to_owned()));
        }
        Some(CorrelationId::Digest {
            sha256: Sha256::digest(raw).into(),
            len: u32::try_from(raw.len()).unwrap_or(u32::MAX),
        })
    }
}

/// One audit entry before encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub event_id: Ulid,
    /// Whole microseconds (what PostgreSQL keeps); finer times are refused, not rounded.
    pub time: DateTime<Utc>,
    /// `score.delivered`, `consent.revoked`, … (the service's list).
    pub kind: String,
    /// `partner:<id>/key:<id>`, `cli:<os user>`, `system`, … (the service's convention).
    pub actor: String,
    pub subject: Option<Subject>,
    pub correlation_id: Option<CorrelationId>,
    /// A JSON object; re-encoded canonically.
    pub body: Value,
}

/// Why an entry cannot be encoded or leaf bytes cannot be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EntryError {
    #[error("kind must be 1-{MAX_KIND_BYTES} bytes of a-z, 0-9, '.', '_', '-'")]
    Kind,
    #[error("actor must be 1-{MAX_ACTOR_BYTES} bytes without control characters")]
    Actor,
    #[error("subject last4 must be 0-4 ASCII letters or digits")]
    Last4,
    #[error("correlation id text must be 1-{MAX_CORRELATION_BYTES} visible ASCII characters")]
    Correlation,
    #[error("time has sub-microsecond digits or is out of range")]
    Time,
    #[error("body must be a JSON object")]
    BodyNotObject,
    #[error("body is {0} bytes once encoded, more than {MAX_BODY_BYTES}")]
    BodyTooLarge(usize),
    #[error("leaf version {0} is not known (this build reads version {ENTRY_VERSION})")]
    Version(u8),
    #[error("leaf bytes end early, in the {0} field")]
    Truncated(&'static str),
    #[error("leaf has {0} bytes after the body")]
    TrailingBytes(usize),
    #[error("leaf {0} field is not valid")]
    Invalid(&'static str),
    #[error("leaf body is not canonical JSON")]
    BodyNotCanonical,
}

fn valid_kind(kind: &str) -> bool {
    (1..=MAX_KIND_BYTES).contains(&kind.len())
        && kind
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
}

fn valid_actor(actor: &str) -> bool {
    (1..=MAX_ACTOR_BYTES).contains(&actor.len()) && !actor.chars().any(char::is_control)
}

fn valid_last4(last4: &str) -> bool {
    last4.len() <= 4 && last4.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn valid_correlation_text(text: &str) -> bool {
    (1..=MAX_CORRELATION_BYTES).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

/// Writes `value` as canonical JSON (see the module doc).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            // Sorted here, not by relying on serde_json's map type: a workspace feature
            // (`preserve_order`) would silently change that.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The leaf bytes of `entry` (version 1).
pub fn encode(entry: &AuditEntry) -> Result<Vec<u8>, EntryError> {
    if !valid_kind(&entry.kind) {
        return Err(EntryError::Kind);
    }
    if !valid_actor(&entry.actor) {
        return Err(EntryError::Actor);
    }
    if !entry.time.timestamp_subsec_nanos().is_multiple_of(1000) {
        return Err(EntryError::Time);
    }
    if !entry.body.is_object() {
        return Err(EntryError::BodyNotObject);
    }
    let body = canonical_json(&entry.body);
    if body.len() > MAX_BODY_BYTES {
        return Err(EntryError::BodyTooLarge(body.len()));
    }
    let mut out = Vec::with_capacity(64 + entry.actor.len() + body.len());
    out.push(ENTRY_VERSION);
    out.extend_from_slice(&entry.event_id.to_bytes());
    out.extend_from_slice(&entry.time.timestamp_micros().to_be_bytes());
    out.push(entry.kind.len() as u8);
    out.extend_from_slice(entry.kind.as_bytes());
    out.extend_from_slice(&(entry.actor.len() as u16).to_be_bytes());
    out.extend_from_slice(entry.actor.as_bytes());
    match &entry.subject {
        None => out.push(0),
        Some(subject) => {
            if !valid_last4(&subject.last4) {
                return Err(EntryError::Last4);
            }
            out.push(1);
            out.extend_from_slice(&subject.keyed_hash);
            out.push(subject.last4.len() as u8);
            out.extend_from_slice(subject.last4.as_bytes());
        }
    }
    match &entry.correlation_id {
        None => out.push(0),
        Some(CorrelationId::Text(text)) => {
            if !valid_correlation_text(text) {
                return Err(EntryError::Correlation);
            }
            out.push(1);
            out.push(text.len() as u8);
            out.extend_from_slice(text.as_bytes());
        }
        Some(CorrelationId::Digest { sha256, len }) => {
            out.push(2);
            out.extend_from_slice(sha256);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body.as_bytes());
    Ok(out)
}

/// The entry's leaf hash, `SHA-256(0x00 || encode(entry))`, with its bytes.
pub fn leaf(entry: &AuditEntry) -> Result<(Vec<u8>, Hash), EntryError> {
    let bytes = encode(entry)?;
    let hash = Hash::leaf(&bytes);
    Ok((bytes, hash))
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], EntryError> {
        if self.bytes.len() < n {
            return Err(EntryError::Truncated(field));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], EntryError> {
        Ok(self.take(N, field)?.try_into().expect("took N bytes"))
    }

    fn text(&mut self, n: usize, field: &'static str) -> Result<&'a str, EntryError> {
        std::str::from_utf8(self.take(n, field)?).map_err(|_| EntryError::Invalid(field))
    }
}

/// Reads leaf bytes back into the entry, refusing anything [`encode`] would not have written.
pub fn decode(bytes: &[u8]) -> Result<AuditEntry, EntryError> {
    let mut r = Reader { bytes };
    let [version] = r.array::<1>("version")?;
    if version != ENTRY_VERSION {
        return Err(EntryError::Version(version));
    }
    let event_id = Ulid::from_bytes(r.array::<16>("event id")?);
    let micros = i64::from_be_bytes(r.array::<8>("time")?);
    let time = DateTime::from_timestamp_micros(micros).ok_or(EntryError::Time)?;
    let [kind_len] = r.array::<1>("kind")?;
    let kind = r.text(kind_len.into(), "kind")?.to_owned();
    if !valid_kind(&kind) {
        return Err(EntryError::Kind);
    }
    let actor_len = u16::from_be_bytes(r.array::<2>("actor")?);
    let actor = r.text(actor_len.into(), "actor")?.to_owned();
    if !valid_actor(&actor) {
        return Err(EntryError::Actor);
    }
    let subject = match r.array::<1>("subject")? {
        [0] => None,
        [1] => {
            let keyed_hash = r.array::<32>("subject")?;
            let [len] = r.array::<1>("subject")?;
            let last4 = r.text(len.into(), "subject")?.to_owned();
            if !valid_last4(&last4) {
                return Err(EntryError::Last4);
            }
            Some(Subject { keyed_hash, last4 })
        }
        _ => return Err(EntryError::Invalid("subject")),
    };
    let correlation_id = match r.array::<1>("correlation id")? {
        [0] => None,
        [1] => {
            let [len] = r.array::<1>("correlation id")?;
            let text = r.text(len.into(), "correlation id")?.to_owned();
            if !valid_correlation_text(&text) {
                return Err(EntryError::Correlation);
            }
            Some(CorrelationId::Text(text))
        }
        [2] => Some(CorrelationId::Digest {
            sha256: r.array::<32>("correlation id")?,
            len: u32::from_be_bytes(r.array::<4>("correlation id")?),
        }),
        _ => return Err(EntryError::Invalid("correlation id")),
    };
    let body_len = u32::from_be_bytes(r.array::<4>("body")?) as usize;
    if body_len > MAX_BODY_BYTES {
        return Err(EntryError::BodyTooLarge(body_len));
    }
    let body_text = r.text(body_len, "body")?;
    if !r.bytes.is_empty() {
        return Err(EntryError::TrailingBytes(r.bytes.len()));
    }
    let body: Value = serde_json::from_str(body_text).map_err(|_| EntryError::BodyNotCanonical)?;
    if !body.is_object() {
        return Err(EntryError::BodyNotObject);
    }
    if canonical_json(&body) != body_text {
        return Err(EntryError::BodyNotCanonical);
    }
    Ok(AuditEntry {
        event_id,
        time,
        kind,
        actor,
        subject,
        correlation_id,
        body,
    })
}
