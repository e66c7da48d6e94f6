//! Loan outcomes reported by banks: the targets of model training. A later row for the same
//! (bank, loan) updates it, typically when its 12-month outcome becomes known.

use chrono::NaiveDate;
use serde::Serialize;

use super::feeds::{FeedRow, Val};
use super::{Db, StoreError, Tx};
use crate::{with_db, with_tx};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Loan {
    /// The bank's partner id (or `cli`); loan_id is unique per bank.
    pub reported_by: String,
    pub loan_id: String,
    pub product: String,
    /// The credit code (sme) or the keyed hash of the head's resident id (farmer).
    pub subject_key: String,
    pub disbursed_on: NaiveDate,
    /// Fen.
    pub amount: i64,
    pub term_months: i64,
    /// 90+ days past due within 12 months of disbursement; `None` while not yet known.
    pub defaulted: Option<bool>,
    pub defaulted_on: Option<NaiveDate>,
}

impl FeedRow for Loan {
    const TABLE: &'static str = "loans";
    const COLUMNS: &'static [&'static str] = &[
        "reported_by",
        "loan_id",
        "product",
        "subject_key",
        "disbursed_on",
        "amount",
        "term_months",
        "defaulted",
        "defaulted_on",
    ];
    const KEY: &'static [&'static str] = &["reported_by", "loan_id"];
    const REPLACES: bool = true;

    fn push_values(self, out: &mut Vec<Val>) {
        out.extend([
            Val::Text(self.reported_by),
            Val::Text(self.loan_id),
            Val::Text(self.product),
            Val::Text(self.subject_key),
            Val::Date(self.disbursed_on),
            Val::Int(self.amount),
            Val::Int(self.term_months),
            Val::OptBool(self.defaulted),
            Val::OptDate(self.defaulted_on),
        ]);
    }
}

const COLUMNS: &str =
    "reported_by, loan_id, product, subject_key, disbursed_on, amount, term_months, defaulted, defaulted_on";

impl Db {
    /// Every loan of one subject, oldest first.
    pub async fn loans_of(&self, subject_key: &str) -> Result<Vec<Loan>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM visible_loans WHERE subject_key = $1 ORDER BY disbursed_on, loan_id"
        );
        Ok(
            with_db!(self, p => sqlx::query_as::<_, Loan>(&sql).bind(subject_key).fetch_all(p).await)?,
        )
    }
}

/// Deletes loans whose default (negative information) happened before `cutoff`.
pub async fn delete_defaults_before(tx: &mut Tx, cutoff: NaiveDate) -> Result<u64, StoreError> {
    let sql = "DELETE FROM loans WHERE defaulted_on IS NOT NULL AND defaulted_on < $1";
    Ok(
        with_tx!(tx, conn => sqlx::query(sql).bind(cutoff).execute(conn).await.map(|r| r.rows_affected()))?,
    )
}

impl Db {
    /// Every known outcome of `product`'s loans as (disbursed on, defaulted), oldest first: what
    /// a retrain that lacks goods or bads reads to say which as-of dates would work.
    pub async fn loan_outcomes(&self, product: &str) -> Result<Vec<(NaiveDate, bool)>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT disbursed_on, defaulted FROM visible_loans WHERE product = $1 AND defaulted IS NOT NULL \
             ORDER BY disbursed_on")
            .bind(product).fetch_all(p).await)?)
    }
}

impl Db {
    /// `product`'s loans disbursed from `from` to `to` (both included) as (subject key, disbursed
    /// on, defaulted), oldest first: what the Monitoring page joins to the scores delivered
    /// before them. At most `limit` rows.
    pub async fn loans_disbursed(
        &self,
        product: &str,
        from: NaiveDate,
        to: NaiveDate,
        limit: i64,
    ) -> Result<Vec<(String, NaiveDate, Option<bool>)>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT subject_key, disbursed_on, defaulted FROM loans \
             WHERE product = $1 AND disbursed_on >= $2 AND disbursed_on <= $3 \
             ORDER BY disbursed_on, reported_by, loan_id LIMIT $4")
            .bind(product).bind(from).bind(to).bind(limit).fetch_all(p).await)?)
    }
}
