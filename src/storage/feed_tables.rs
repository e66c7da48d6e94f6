//! Where each feed kind's rows are kept: the table of every `FeedKind` (read off its storage row
//! type), and row counts for tests, the CLI summary and maintenance.

use super::enterprises::Enterprise;
use super::feeds::FeedRow;
use super::households::{FarmerAssessment, Household};
use super::loans::Loan;
use super::public_records::PublicRecord;
use super::tax::{TaxGradeFact, TaxPayment};
use super::{Db, StoreError};
use crate::domain::FeedKind;
use crate::with_db;

/// The table holding `kind`'s rows.
pub fn table_of(kind: FeedKind) -> &'static str {
    match kind {
        FeedKind::Enterprises => Enterprise::TABLE,
        FeedKind::TaxGrades => TaxGradeFact::TABLE,
        FeedKind::TaxPayments => TaxPayment::TABLE,
        FeedKind::Households => Household::TABLE,
        FeedKind::FarmerAssessments => FarmerAssessment::TABLE,
        FeedKind::PublicRecords => PublicRecord::TABLE,
        FeedKind::LoanOutcomes => Loan::TABLE,
    }
}

impl Db {
    /// How many rows of `kind` are stored (superseded versions included).
    pub async fn count_rows(&self, kind: FeedKind) -> Result<i64, StoreError> {
        self.count(table_of(kind)).await
    }

    /// How many feed batches were accepted (a refused batch leaves none).
    pub async fn count_batches(&self) -> Result<i64, StoreError> {
        self.count("feed_batches").await
    }

    async fn count(&self, table: &'static str) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let (n,): (i64,) = with_db!(self, p => sqlx::query_as(&sql).fetch_one(p).await)?;
        Ok(n)
    }
}
