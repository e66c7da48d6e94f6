//! Farmer households (keyed by the keyed hash of the head's resident id, never the id itself)
//! and their annual assessments, time-versioned like tax grades: a new assessment for the same
//! household and year supersedes the old one and both are kept.

use chrono::NaiveDate;
use serde::Serialize;

use super::feeds::{FeedRow, Val};
use super::{Db, StoreError, Tx};
use crate::{with_db, with_tx};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Household {
    /// HMAC-SHA256 of the head's resident id under the PII key.
    pub subject_key: String,
    pub id_last4: String,
    pub birth_year: i64,
    pub region_code: String,
    pub village_code: String,
    pub village_name: String,
    pub members: i64,
    pub labourers: i64,
    pub education: String,
    pub land_mu: f64,
    pub main_activity: String,
}

impl FeedRow for Household {
    const TABLE: &'static str = "households";
    const COLUMNS: &'static [&'static str] = &[
        "subject_key",
        "id_last4",
        "birth_year",
        "region_code",
        "village_code",
        "village_name",
        "members",
        "labourers",
        "education",
        "land_mu",
        "main_activity",
    ];
    const KEY: &'static [&'static str] = &["subject_key"];
    const REPLACES: bool = true;

    fn push_values(self, out: &mut Vec<Val>) {
        out.extend([
            Val::Text(self.subject_key),
            Val::Text(self.id_last4),
            Val::Int(self.birth_year),
            Val::Text(self.region_code),
            Val::Text(self.village_code),
            Val::Text(self.village_name),
            Val::Int(self.members),
            Val::Int(self.labourers),
            Val::Text(self.education),
            Val::Real(self.land_mu),
            Val::Text(self.main_activity),
        ]);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FarmerAssessment {
    #[sqlx(default)]
    pub id: i64,
    pub subject_key: String,
    pub year: i64,
    pub assessed_on: NaiveDate,
    pub score: f64,
    pub grade: String,
    /// Amounts in fen.
    pub annual_income: i64,
    pub assets: i64,
    pub liabilities: i64,
    #[sqlx(default)]
    pub batch_id: String,
    #[sqlx(default)]
    pub superseded_by: Option<i64>,
}

impl FeedRow for FarmerAssessment {
    const TABLE: &'static str = "farmer_assessments";
    const COLUMNS: &'static [&'static str] = &[
        "subject_key",
        "year",
        "assessed_on",
        "score",
        "grade",
        "annual_income",
        "assets",
        "liabilities",
    ];
    const KEY: &'static [&'static str] = &["subject_key", "year"];
    const REPLACES: bool = false;

    fn push_values(self, out: &mut Vec<Val>) {
        out.extend([
            Val::Text(self.subject_key),
            Val::Int(self.year),
            Val::Date(self.assessed_on),
            Val::Real(self.score),
            Val::Text(self.grade),
            Val::Int(self.annual_income),
            Val::Int(self.assets),
            Val::Int(self.liabilities),
        ]);
    }
}

const ASSESSMENT_COLUMNS: &str =
    "a.id, a.subject_key, a.year, a.assessed_on, a.score, a.grade, a.annual_income, \
    a.assets, a.liabilities, a.batch_id, a.superseded_by";

/// Marks earlier assessments for each (household, year) that `batch_id` re-assessed.
pub async fn supersede_assessments(tx: &mut Tx, batch_id: &str) -> Result<u64, StoreError> {
    // Driven by the batch's own pairs, as `tax::supersede_grades`.
    let sql = "UPDATE farmer_assessments SET superseded_by = (SELECT n.id FROM farmer_assessments n \
        WHERE n.batch_id = $1 AND n.subject_key = farmer_assessments.subject_key \
        AND n.year = farmer_assessments.year) \
        WHERE (subject_key, year) IN (SELECT subject_key, year FROM farmer_assessments WHERE batch_id = $1) \
        AND superseded_by IS NULL AND batch_id <> $1 \
        AND EXISTS (SELECT 1 FROM feed_batches o WHERE o.id = farmer_assessments.batch_id \
            AND o.visible_seq IS NOT NULL)";
    let done = with_tx!(tx, conn => sqlx::query(sql).bind(batch_id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

impl Db {
    pub async fn household(&self, subject_key: &str) -> Result<Option<Household>, StoreError> {
        let sql = "SELECT subject_key, id_last4, birth_year, region_code, village_code, village_name, members, \
                   labourers, education, land_mu, main_activity FROM visible_households WHERE subject_key = $1";
        Ok(
            with_db!(self, p => sqlx::query_as::<_, Household>(sql).bind(subject_key).fetch_optional(p).await)?,
        )
    }

    /// Every assessment row of a household, superseded ones included, oldest first.
    pub async fn assessment_history(
        &self,
        subject_key: &str,
    ) -> Result<Vec<FarmerAssessment>, StoreError> {
        let sql = format!(
            "SELECT {ASSESSMENT_COLUMNS} FROM visible_farmer_assessments a WHERE a.subject_key = $1 ORDER BY a.year, a.id"
        );
        Ok(
            with_db!(self, p => sqlx::query_as::<_, FarmerAssessment>(&sql).bind(subject_key).fetch_all(p).await)?,
        )
    }
}
