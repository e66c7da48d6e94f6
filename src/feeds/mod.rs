//! Feeds: the only way data enters creditbridge. One pipeline serves `POST /v1/feeds/{kind}` and
//! `creditbridge import KIND FILE`: detect the format and encoding, map English or Chinese
//! headers, validate every row, and store the whole file in one transaction — or nothing.
//! Batches are idempotent per (source, key). docs/feeds.md is the contract.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::Role;
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
pub mod spool;
mod values;
mod workbook;

pub use format::Format;
pub use limits::{LimitHit, Limits};
pub use pipeline::{import, FeedRequest, Progress};

/// Errors and warnings listed per batch; the totals say how many there were in all.
pub const MAX_LISTED: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    Enterprises,
    TaxGrades,
    TaxPayments,
    Households,
    FarmerAssessments,
    PublicRecords,
    LoanOutcomes,
}

impl FeedKind {
    pub const ALL: [FeedKind; 7] = [
        FeedKind::Enterprises,
        FeedKind::TaxGrades,
        FeedKind::TaxPayments,
        FeedKind::Households,
        FeedKind::FarmerAssessments,
        FeedKind::PublicRecords,
        FeedKind::LoanOutcomes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Enterprises => "enterprises",
            FeedKind::TaxGrades => "tax-grades",
            FeedKind::TaxPayments => "tax-payments",
            FeedKind::Households => "households",
            FeedKind::FarmerAssessments => "farmer-assessments",
            FeedKind::PublicRecords => "public-records",
            FeedKind::LoanOutcomes => "loan-outcomes",
        }
    }

    /// Who may send this kind (product.md): each data owner its own feeds, admin all of them.
    pub fn allowed_roles(self) -> &'static [Role] {
        match self {
            FeedKind::Enterprises | FeedKind::TaxGrades | FeedKind::TaxPayments => {
                &[Role::TaxBureau, Role::Admin]
            }
            FeedKind::Households | FeedKind::FarmerAssessments => &[Role::Assessor, Role::Admin],
            FeedKind::PublicRecords => &[Role::PublicRecords, Role::Admin],
            FeedKind::LoanOutcomes => &[Role::Bank, Role::Admin],
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeedKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = FeedKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown feed kind {:?}; expected one of: {}",
                    s.chars().take(40).collect::<String>(),
                    names.join(", ")
                )
            })
    }
}

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

/// Why a batch was refused. Nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{errors_total} invalid row(s) or cell(s) in {rows_read} data row(s); nothing stored")]
    Invalid {
        errors_total: u64,
        errors: Vec<Issue>,
        rows_read: u64,
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
    #[error("file i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}
