//! Where each feed kind's rows are kept: the table of every `FeedKind` (read off its storage row
//! type) with its key, and row counts for tests, the CLI summary and maintenance.

use super::enterprises::Enterprise;
use super::households::{FarmerAssessment, Household};
use super::loans::Loan;
use super::public_records::PublicRecord;
use super::staging::Shape;
use super::tax::{TaxGradeFact, TaxPayment};
use super::{Db, StoreError};
use crate::domain::FeedKind;
use crate::with_db;

/// The table holding `kind`'s rows.
pub fn table_of(kind: FeedKind) -> &'static str {
    shape_of(kind).table
}

/// The table holding `kind`'s rows, with their key and whether a later row replaces an earlier.
pub fn shape_of(kind: FeedKind) -> Shape {
    match kind {
        FeedKind::Enterprises => Shape::of::<Enterprise>(),
        FeedKind::TaxGrades => Shape::of::<TaxGradeFact>(),
        FeedKind::TaxPayments => Shape::of::<TaxPayment>(),
        FeedKind::Households => Shape::of::<Household>(),
        FeedKind::FarmerAssessments => Shape::of::<FarmerAssessment>(),
        FeedKind::PublicRecords => Shape::of::<PublicRecord>(),
        FeedKind::LoanOutcomes => Shape::of::<Loan>(),
    }
}

impl Db {
    /// How many rows of `kind` readers see (superseded grades and assessments included; rows
    /// of a batch still being staged, or versions replaced by a later batch, not).
    pub async fn count_rows(&self, kind: FeedKind) -> Result<i64, StoreError> {
        self.count(&format!("visible_{}", table_of(kind))).await
    }

    /// How many feed batches were accepted (a refused batch leaves none; one being staged is
    /// not accepted yet).
    pub async fn count_batches(&self) -> Result<i64, StoreError> {
        self.count("feed_batches WHERE visible_seq IS NOT NULL")
            .await
    }

    /// How many rows of `kind` are held whatever their batch (staged and replaced versions too).
    pub async fn count_stored_rows(&self, kind: FeedKind) -> Result<i64, StoreError> {
        self.count(table_of(kind)).await
    }

    async fn count(&self, table: &str) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let (n,): (i64,) = with_db!(self, p => sqlx::query_as(&sql).fetch_one(p).await)?;
        Ok(n)
    }
}
