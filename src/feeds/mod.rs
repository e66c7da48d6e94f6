//! Feeds: the only way data enters creditbridge. One pipeline serves `POST /v1/feeds/{kind}` and
//! `creditbridge import KIND FILE`: detect the format and encoding, map English or Chinese
//! headers, validate every row, and stage the rows in short transactions while the batch is
//! invisible, then make the whole file visible at once — or nothing (`staging`).
//! Batches are idempotent per (source, key). docs/feeds.md is the contract.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::domain::FeedKind;
use crate::storage::StoreError;

mod cells;
mod columns;
mod csv_guard;
mod format;
mod kinds;
mod limits;
pub mod maintenance;
mod pipeline;
mod reader;
pub mod refusals;
pub mod spool;
pub mod staging;
mod values;
mod workbook;

pub use format::FileFacts;
pub use format::Format;
pub use limits::{LimitHit, Limits};
pub use pipeline::{
    import, import_inspected, import_with, inspect, FeedRequest, Hooks, Pause, Progress,
};

/// Errors and warnings listed per batch; the totals say how many there were in all.
pub const MAX_LISTED: usize = 100;

/// One problem with the input: where it is (1-based file line, the column as the file names it)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {}: {}", self.line, c, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// What an accepted batch answers, stored with the batch and returned again on replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub batch_id: String,
    pub kind: String,
    pub format: String,
    pub encoding: String,
    pub rows: u64,
    /// Versions of earlier grades/assessments that rows of this batch superseded.
    pub superseded: u64,
    pub warnings_total: u64,
    pub warnings: Vec<Issue>,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// An accepted batch, or the replay of one sent earlier under the same key.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub result: BatchResult,
    pub replayed: bool,
}

/// Rows of a bank's loan outcomes refused because it holds no consent for their subjects: how
/// many, and the SHA-256 of their subject keys in file order (never the keys or ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotEligible {
    pub rows: u64,
    pub subjects_sha256: String,
    /// The file's SHA-256, to match the record with the file the bank kept.
    pub content_sha256: String,
}

/// Why a batch was refused. Nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{errors_total} invalid row(s) or cell(s) in {rows_read} data row(s); nothing stored")]
    Invalid {
        errors_total: u64,
        errors: Vec<Issue>,
        rows_read: u64,
        /// Rows of a bank's loan outcomes refused as not its subjects (for the audit trail only:
        /// the caller sees them among `errors`, under one generic reason).
        not_eligible: Option<NotEligible>,
    },
    #[error("the file cannot be read as {what}: {reason}")]
    Unreadable { what: String, reason: String },
    #[error("{0}")]
    UnsupportedFormat(String),
    /// The file goes over one of the feed limits; reading stopped there.
    #[error("{0}; nothing stored")]
    OverLimit(#[from] LimitHit),
    #[error("idempotency key {key:?} was already used for a different {what}")]
    KeyReused { key: String, what: &'static str },
    /// The same key's batch is still being stored (or its importer died and its lease has not
    /// run out yet): nothing to replay yet.
    #[error("a batch under idempotency key {key:?} is still being stored; try again later")]
    InProgress { key: String },
    #[error("file i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A refusal's audit record could not be committed.
    #[error("audit trail: {0}")]
    Audit(String),
}

impl FeedError {
    /// The refusal's class, as `creditbridge_feed_rejections_total` labels it: for a file over a
    /// limit the limit's setting name; a bounded set either way.
    pub fn reason(&self) -> &'static str {
        match self {
            FeedError::Invalid { .. } => "invalid_rows",
            FeedError::Unreadable { .. } => "unreadable",
            FeedError::UnsupportedFormat(_) => "unsupported_format",
            FeedError::OverLimit(hit) => hit.limit,
            FeedError::KeyReused { .. } => "idempotency_key_reused",
            FeedError::InProgress { .. } => "idempotency_key_in_progress",
            FeedError::Io(_) | FeedError::Store(_) | FeedError::Audit(_) => "internal",
        }
    }
}
