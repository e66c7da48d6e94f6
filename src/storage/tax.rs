//! Tax bureau facts: annual taxpayer credit grades (time-versioned: a new row for the same
//! enterprise and year supersedes the old one, both are kept) and monthly tax payments (a
//! corrected row for the same enterprise, month and tax type replaces the earlier one).

use chrono::NaiveDate;
use serde::Serialize;

use super::feeds::{FeedRow, Val};
use super::{Db, Dialect, StoreError, Tx};
use crate::{with_db, with_tx};

/// A grade as fed; `id`/`superseded_by` are only meaningful when read back. Which grade is in
/// force at a date is decided by `features::sme::grade_at`, the rule serving and training use.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TaxGradeFact {
    #[sqlx(default)]
    pub id: i64,
    pub uscc: String,
    pub year: i64,
    pub grade: String,
    pub score: Option<f64>,
    pub direct_d: bool,
    pub effective_from: NaiveDate,
    #[sqlx(default)]
    pub batch_id: String,
    #[sqlx(default)]
    pub superseded_by: Option<i64>,
}

impl FeedRow for TaxGradeFact {
    const TABLE: &'static str = "tax_grades";
    const COLUMNS: &'static [&'static str] = &[
        "uscc",
        "year",
        "grade",
        "score",
        "direct_d",
        "effective_from",
    ];
    const KEY: &'static [&'static str] = &["uscc", "year"];
    const REPLACES: bool = false;

    fn push_values(self, out: &mut Vec<Val>) {
        out.extend([
            Val::Text(self.uscc),
            Val::Int(self.year),
            Val::Text(self.grade),
            Val::OptReal(self.score),
            Val::Bool(self.direct_d),
            Val::Date(self.effective_from),
        ]);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TaxPayment {
    pub uscc: String,
    /// `YYYY-MM`
    pub period: String,
    pub tax_type: String,
    /// Amounts in fen (1/100 yuan).
    pub revenue: i64,
    pub tax_due: i64,
    pub tax_paid: i64,
    pub filed_on: NaiveDate,
    pub paid_on: Option<NaiveDate>,
}

impl FeedRow for TaxPayment {
    const TABLE: &'static str = "tax_payments";
    const COLUMNS: &'static [&'static str] = &[
        "uscc", "period", "tax_type", "revenue", "tax_due", "tax_paid", "filed_on", "paid_on",
    ];
    const KEY: &'static [&'static str] = &["uscc", "period", "tax_type"];
    const REPLACES: bool = true;

    fn push_values(self, out: &mut Vec<Val>) {
        out.extend([
            Val::Text(self.uscc),
            Val::Text(self.period),
            Val::Text(self.tax_type),
            Val::Int(self.revenue),
            Val::Int(self.tax_due),
            Val::Int(self.tax_paid),
            Val::Date(self.filed_on),
            Val::OptDate(self.paid_on),
        ]);
    }
}

const GRADE_COLUMNS: &str = "g.id, g.uscc, g.year, g.grade, g.score, g.direct_d, g.effective_from, g.batch_id, g.superseded_by";

/// Marks every earlier grade for an (uscc, year) that `batch_id` brought a new grade for as
/// superseded by it. Runs in the transaction that makes the batch visible.
pub async fn supersede_grades(tx: &mut Tx, batch_id: &str) -> Result<u64, StoreError> {
    // Driven by the batch's own (uscc, year) pairs through the indexes, not a scan of every
    // grade: it runs in the short transaction that makes the batch visible.
    let sql = "UPDATE tax_grades SET superseded_by = (SELECT n.id FROM tax_grades n \
        WHERE n.batch_id = $1 AND n.uscc = tax_grades.uscc AND n.year = tax_grades.year) \
        WHERE (uscc, year) IN (SELECT uscc, year FROM tax_grades WHERE batch_id = $1) \
        AND superseded_by IS NULL AND batch_id <> $1 \
        AND EXISTS (SELECT 1 FROM feed_batches o WHERE o.id = tax_grades.batch_id \
            AND o.visible_seq IS NOT NULL)";
    let done = with_tx!(tx, conn => sqlx::query(sql).bind(batch_id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

/// Deletes D grades whose event ended before `cutoff`, with the earlier versions they superseded
/// (returns how many rows went). A grade is annual: its event ends when a later grade of the
/// enterprise takes effect (next year's grade, or a correction), and at the latest one year after
/// it took effect, so a D grade with no successor (a closed enterprise) ends too. The versions a
/// purged D had superseded go with it: they were overridden by it, and left alone they would come
/// back as if they had been in force.
pub async fn delete_d_grades_ended_before(
    tx: &mut Tx,
    cutoff: NaiveDate,
) -> Result<u64, StoreError> {
    let year_before = cutoff
        .checked_sub_months(chrono::Months::new(12))
        .unwrap_or(NaiveDate::MIN);
    let sql = "WITH RECURSIVE gone (id) AS ( \
            SELECT g.id FROM visible_tax_grades g WHERE g.grade = 'D' AND (g.effective_from < $2 \
                OR EXISTS (SELECT 1 FROM tax_grades n WHERE n.uscc = g.uscc \
                    AND n.effective_from > g.effective_from AND n.effective_from < $1)) \
            UNION SELECT t.id FROM visible_tax_grades t JOIN gone ON t.superseded_by = gone.id) \
        DELETE FROM tax_grades WHERE id IN (SELECT id FROM gone)";
    let done = with_tx!(tx, conn => sqlx::query(sql).bind(cutoff).bind(year_before).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

/// Deletes the monthly tax-payment rows that are negative facts — filed or paid after the
/// period's deadline — whose event ended before `cutoff`: the tax is paid in full, and both the
/// filing and the payment were made before `cutoff`. Arrears still open have not ended and are
/// kept; months filed and paid on time are not negative and are kept.
pub async fn delete_late_months_ended_before(
    tx: &mut Tx,
    cutoff: NaiveDate,
) -> Result<u64, StoreError> {
    // The deadline is the 15th of the month after the period, as `features::deadline_of` has it.
    let deadline = match tx.dialect() {
        Dialect::Sqlite => "date(period || '-01', '+1 month', '+14 days')",
        Dialect::Postgres => "(to_date(period, 'YYYY-MM') + interval '1 month 14 days')::date",
    };
    let sql = format!(
        "DELETE FROM tax_payments WHERE tax_paid >= tax_due \
           AND filed_on < $1 AND (paid_on IS NULL OR paid_on < $1) \
           AND (filed_on > {deadline} OR paid_on > {deadline})"
    );
    let done = with_tx!(tx, conn => sqlx::query(&sql).bind(cutoff).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

impl Db {
    /// Every grade row ever fed for an enterprise, superseded ones included, oldest first.
    pub async fn grade_history(&self, uscc: &str) -> Result<Vec<TaxGradeFact>, StoreError> {
        let sql = format!(
            "SELECT {GRADE_COLUMNS} FROM visible_tax_grades g WHERE g.uscc = $1 ORDER BY g.year, g.id"
        );
        Ok(
            with_db!(self, p => sqlx::query_as::<_, TaxGradeFact>(&sql).bind(uscc).fetch_all(p).await)?,
        )
    }

    /// Payments of one enterprise for the periods `from..=to` (both `YYYY-MM`), oldest first.
    pub async fn tax_payments(
        &self,
        uscc: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<TaxPayment>, StoreError> {
        let sql = "SELECT uscc, period, tax_type, revenue, tax_due, tax_paid, filed_on, paid_on FROM visible_tax_payments \
                   WHERE uscc = $1 AND period >= $2 AND period <= $3 ORDER BY period, tax_type";
        Ok(
            with_db!(self, p => sqlx::query_as::<_, TaxPayment>(sql).bind(uscc).bind(from).bind(to).fetch_all(p).await)?,
        )
    }
}
